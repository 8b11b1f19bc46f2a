"""A live football match as a broadcaster's tracking and data feed publishes it on mg.sports.telemetry.

Positions come at 25 Hz and move at real speed (:mod:`mediagrid.scenarios.pitch`); the match clock, and
with it goals, cards and substitutions, runs ``speed`` times faster, so that a short run sees a few events.
Events are planned for the whole match up front, at average top-flight rates, which keeps a run's first
seconds identical whatever its duration and lets the commerce generator burst right after each goal.
There is no half-time break; at 90:00 the clock stops and play with it.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mediagrid.scenarios.message import Message, envelope, seeded, ticks
from mediagrid.scenarios.pitch import TEAMS, Pitch

ROLE = "sports.telemetry"
FRAME_HZ = 25
HALF_S, FULL_TIME_S = 45 * 60, 90 * 60
#: per team and 90 minutes: goals, yellow cards, red cards (top-flight averages)
RATES_PER_90 = (("goal", None, 1.35), ("card", "yellow", 1.9), ("card", "red", 0.06))
SUBSTITUTIONS = 5
SUBSTITUTION_MINUTES = (55.0, 88.0)
MIN_PLAYERS = 7  # below this a match is abandoned, so no more red cards


@dataclass(frozen=True)
class Planned:
    """A match event due ``at_s`` seconds into the run; which player it concerns is decided when it happens."""

    at_s: float
    event: str
    team: str
    card: str | None = None


def plan_match(seed: int, start_minute: float, speed: float) -> list[Planned]:
    """Goals, cards and substitutions from ``start_minute`` to full time, in run time."""
    rng = seeded(seed, "match/plan")
    start = start_minute * 60

    def run_time(clock_s: float) -> float:
        return (clock_s - start) / speed

    plan = []
    for team in TEAMS:
        for event, card, per_90 in RATES_PER_90:
            clock = 0.0
            while (clock := clock + rng.expovariate(per_90 / FULL_TIME_S)) < FULL_TIME_S:
                if clock >= start:
                    plan.append(Planned(run_time(clock), event, team, card))
        minutes = (rng.uniform(*SUBSTITUTION_MINUTES) for _ in range(SUBSTITUTIONS))
        plan += [Planned(run_time(m * 60), "substitution", team) for m in minutes if m * 60 >= start]
    return sorted(plan, key=lambda p: p.at_s)


def goal_times(plan: list[Planned]) -> list[tuple[float, str]]:
    """(run time, scoring team) of each planned goal, for bursts of commerce requests."""
    return [(p.at_s, p.team) for p in plan if p.event == "goal"]


def match_messages(seed: int, epoch_ms: int, until_s: float, *, id: str, home: str, away: str,  # noqa: A002
                   start_minute: float, speed: float) -> Iterator[Message]:
    """Frames at 25 Hz, the clock every second, the score at the start and after each goal, and an event
    message per goal, card, substitution and possession change; all keyed by the match id."""
    match = _Match(seeded(seed, "match/play"), id, home, away, epoch_ms)
    pending = [p for p in plan_match(seed, start_minute, speed) if p.at_s < until_s]
    yield match.message(0.0, start_minute * 60, "score", match.score())
    for frame, at in ticks(FRAME_HZ, until_s):
        while pending and pending[0].at_s <= at:
            due = pending.pop(0)
            yield from match.apply(due, start_minute * 60 + due.at_s * speed)
        clock_s = min(start_minute * 60 + at * speed, FULL_TIME_S)
        playing = clock_s < FULL_TIME_S
        if frame % FRAME_HZ == 0:
            period = 1 if clock_s < HALF_S else 2
            yield match.message(at, clock_s, "clock", {"period": period, "running": playing})
        holder = match.pitch.possession
        match.pitch.step(at, 1 / FRAME_HZ, playing)
        yield from match.possession_change(at, clock_s, holder)
        yield match.message(at, clock_s, "frame", {"frame": frame, **match.pitch.snapshot()})


class _Match:
    """Score and pitch of one match, and the messages that describe them."""

    def __init__(self, rng: Any, match_id: str, home: str, away: str, epoch_ms: int) -> None:
        self.pitch = Pitch(rng)
        self.id, self.key, self.epoch_ms = match_id, match_id.encode(), epoch_ms
        self.names = {"home": home, "away": away}
        self.goals = {"home": 0, "away": 0}

    def message(self, at: float, clock_s: float, kind: str, fields: dict[str, Any]) -> Message:
        value = {**envelope(self.epoch_ms, at), "match_id": self.id, "kind": kind, "clock_s": round(clock_s, 2),
                 **fields}
        return Message(ROLE, self.key, value, at)

    def score(self) -> dict[str, Any]:
        return {**self.goals, "home_team": self.names["home"], "away_team": self.names["away"]}

    def apply(self, due: Planned, clock_s: float) -> Iterator[Message]:
        """Carry out a planned event on the pitch and describe it; an event that cannot happen any more
        (no substitute left, too few players for a red card) is skipped."""
        holder = self.pitch.possession
        player = self.pitch.pick(due.team, attacking_bias=due.event == "goal")
        if player is None:
            return
        event: dict[str, Any] = {"event": due.event, "team": due.team, "player_id": player.id}
        if due.event == "substitution":
            incoming = self.pitch.substitute(player)
            if incoming is None:
                return
            event["player_in_id"] = incoming.id
        elif due.event == "card":
            card = due.card if len(self.pitch.on_pitch(due.team)) > MIN_PLAYERS else "yellow"
            event["card"] = card
            if card == "red":
                self.pitch.send_off(player)
        yield self.message(due.at_s, clock_s, "event", event)
        if due.event == "goal":
            self.goals[due.team] += 1
            yield self.message(due.at_s, clock_s, "score", self.score())
            self.pitch.kick_off("away" if due.team == "home" else "home", due.at_s)
        yield from self.possession_change(due.at_s, clock_s, holder)

    def possession_change(self, at: float, clock_s: float, holder: str) -> Iterator[Message]:
        if self.pitch.possession != holder:
            yield self.message(at, clock_s, "event", {"event": "possession", "team": self.pitch.possession})
