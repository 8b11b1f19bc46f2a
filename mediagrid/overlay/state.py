"""What the match graphics show, kept from ``mg.sports.telemetry`` messages (pure Python, no Holoscan).

Ordering is by event time, never by arrival: every message carries ``ts_ms`` (when the broadcaster made
it), and the state keeps, per kind, the newest one it has taken. Frames, clock readings and scores are
*readings*: a newer one replaces an older one, so an older arrival (out of order) is ``stale`` and one
taken before (a re-delivery) a ``duplicate``. A frame or clock reading already past its deadline is
``late`` and skipped, because the next one (40 ms or 1 s later) says more; a late score is still taken
(the next one may be a half away). Events (goal, card, substitution, possession) are *facts*: each counts
once (a re-delivery is a ``duplicate``), in any arrival order, and a late fact is still taken, so that the
score, cards and possession never drift from the feed; it only loses its banner, which would announce
old news. :meth:`MatchState.apply` returns a :class:`TelemetryVerdict` for every message and never raises on a
schema-valid one.
"""
from __future__ import annotations

import bisect
import enum
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

TEAMS = ("home", "away")
READINGS = ("frame", "clock", "score")
FREQUENT = ("frame", "clock")  # readings whose successor is due soon: skipped when late


class TelemetryVerdict(str, enum.Enum):
    """What became of one telemetry message."""

    APPLIED = "applied"
    APPLIED_LATE = "applied_late"  # a score or fact taken after its deadline (without a banner)
    LATE = "late"  # a frame or clock reading past its deadline: skipped
    STALE = "stale"  # a reading older (by event time) than one already taken: skipped
    DUPLICATE = "duplicate"  # seen before (a re-delivery): skipped
    OTHER_MATCH = "other_match"  # about a match that this overlay does not show: skipped

    @property
    def taken(self) -> bool:
        return self in (TelemetryVerdict.APPLIED, TelemetryVerdict.APPLIED_LATE)


@dataclass(frozen=True, slots=True)
class PlayerView:
    id: int
    team: str
    shirt: int
    name: str
    x: float
    y: float
    yellow: int = 0


@dataclass(frozen=True, slots=True)
class Banner:
    """An event to announce: ``title`` over ``detail``; ``since_ns`` is when the state took it. The text is
    written when a snapshot is taken, so names learnt after the event (a substitute's first frame) show."""

    kind: str
    team: str
    title: str
    detail: str
    since_ns: int
    card: str | None = None


@dataclass(frozen=True, slots=True)
class MatchView:
    """An immutable snapshot of everything the graphics draw (what the renderer receives)."""

    home_team: str
    away_team: str
    home: int
    away: int
    clock_s: float | None
    period: int
    running: bool
    players: tuple[PlayerView, ...]
    ball: tuple[float, float] | None
    trail: tuple[tuple[float, float], ...]
    possession: str | None
    home_share: float | None  # share of possession time, 0..1, since the first possession event
    red_cards: tuple[int, int]  # home, away
    banner: Banner | None


class _Recent:
    """The last ``size`` keys taken, so that a re-delivered older reading is told apart from an out-of-order
    one (both are skipped; the counts say which); 512 frames are 20 s of tracking."""

    def __init__(self, size: int = 512) -> None:
        self._order: deque[tuple[Any, ...]] = deque()
        self._keys: set[tuple[Any, ...]] = set()
        self._size = size

    def __contains__(self, key: tuple[Any, ...]) -> bool:
        return key in self._keys

    def add(self, key: tuple[Any, ...]) -> None:
        self._order.append(key)
        self._keys.add(key)
        if len(self._order) > self._size:
            self._keys.discard(self._order.popleft())


@dataclass
class _Possession:
    """Possession changes in event-time order and the time each team held the ball between them.

    Before the first change it hears about, the state cannot know who had the ball; it credits the time
    from the first frame it saw to the team that lost the ball then, instead of leaving a bar that starts
    at 0 % / 100 %.
    """

    changes: list[tuple[int, str]] = field(default_factory=list)  # (ts_ms, team), sorted
    watched_from_ms: int | None = None  # event time of the first frame seen

    def add(self, ts_ms: int, team: str) -> None:
        bisect.insort(self.changes, (ts_ms, team))

    def watch(self, ts_ms: int) -> None:
        if self.watched_from_ms is None or ts_ms < self.watched_from_ms:
            self.watched_from_ms = ts_ms

    @property
    def current(self) -> str | None:
        return self.changes[-1][1] if self.changes else None

    def home_share(self, now_ms: int) -> float | None:
        """O(changes): a match has a few hundred, and out-of-order arrivals need the full walk anyway."""
        if not self.changes:
            return None
        held = {team: 0 for team in TEAMS}
        first_ts, first_team = self.changes[0]
        if self.watched_from_ms is not None:
            held[_other(first_team)] += max(first_ts - self.watched_from_ms, 0)
        for (start, team), (end, _) in zip(self.changes, self.changes[1:]):
            held[team] += end - start
        last_ts, last_team = self.changes[-1]
        held[last_team] += max(now_ms - last_ts, 0)
        total = held["home"] + held["away"]
        return held["home"] / total if total else (1.0 if last_team == "home" else 0.0)


class MatchState:
    """One match's state for the overlay. ``match_id=None`` follows the first match it hears about."""

    def __init__(self, match_id: str | None = None, trail_len: int = 25) -> None:
        self.match_id = match_id
        self.counts: dict[TelemetryVerdict, int] = {v: 0 for v in TelemetryVerdict}
        self._newest: dict[str, tuple[Any, ...]] = {}  # kind -> event-time key of the newest reading taken
        self._recent: dict[str, _Recent] = {}  # kind -> keys of the readings taken lately
        self._facts: set[tuple[Any, ...]] = set()
        self._players: dict[int, PlayerView] = {}
        self._roster: dict[int, tuple[str, int, str]] = {}  # every player ever seen: team, shirt, name
        self._ball: tuple[float, float] | None = None
        self._trail: deque[tuple[float, float]] = deque(maxlen=trail_len)
        self._frame_ts_ms = 0
        self._clock_s: float | None = None
        self._clock_ts_ms = -1
        self._period, self._running = 1, False
        self._score = {"home": 0, "away": 0}
        self._names = {"home": "Home", "away": "Away"}
        self._yellow: dict[int, int] = {}
        self._red = {team: 0 for team in TEAMS}
        self._possession = _Possession()
        self._announce: tuple[dict[str, Any], int] | None = None  # the event to announce, since when
        self.goals: list[tuple[float, str, int]] = []  # (clock_s, team, player id), in match-clock order
        self.substitutions: list[tuple[float, str, int, int]] = []

    def apply(self, value: dict[str, Any], *, late: bool, at_ns: int) -> TelemetryVerdict:
        """Take one schema-valid message; ``late`` says it is past its deadline, ``at_ns`` is now."""
        verdict = self._judge(value, late)
        if verdict.taken:
            kind = value["kind"]
            if kind == "event":
                self._event(value, at_ns, announce=verdict is TelemetryVerdict.APPLIED)
            else:
                getattr(self, f"_take_{kind}")(value)
        self.counts[verdict] += 1
        return verdict

    def _judge(self, value: dict[str, Any], late: bool) -> TelemetryVerdict:
        match_id = value["match_id"]
        if self.match_id is None:
            self.match_id = match_id
        elif match_id != self.match_id:
            return TelemetryVerdict.OTHER_MATCH
        kind = value["kind"]
        if kind in READINGS:
            key = _reading_key(value)
            recent = self._recent.setdefault(kind, _Recent())
            if key in recent:
                return TelemetryVerdict.DUPLICATE
            newest = self._newest.get(kind)
            if newest is not None and key < newest:
                return TelemetryVerdict.STALE
            if late and kind in FREQUENT:
                return TelemetryVerdict.LATE
            self._newest[kind] = key
            recent.add(key)
            return TelemetryVerdict.APPLIED_LATE if late else TelemetryVerdict.APPLIED
        fact = tuple(sorted(value.items()))  # events are flat: every value is a scalar
        if fact in self._facts:
            return TelemetryVerdict.DUPLICATE
        self._facts.add(fact)
        return TelemetryVerdict.APPLIED_LATE if late else TelemetryVerdict.APPLIED

    # -- readings ------------------------------------------------------------------------------------
    def _take_frame(self, value: dict[str, Any]) -> None:
        players = {}
        for p in value["players"]:
            players[p["id"]] = PlayerView(p["id"], p["team"], p["shirt"], p["name"], p["x"], p["y"])
            self._roster[p["id"]] = (p["team"], p["shirt"], p["name"])
        self._players = players
        ball = value["ball"]
        self._ball = (ball["x"], ball["y"])
        self._trail.append(self._ball)
        self._frame_ts_ms = value["ts_ms"]
        self._possession.watch(value["ts_ms"])
        self._set_clock(value)

    def _take_clock(self, value: dict[str, Any]) -> None:
        self._period, self._running = value["period"], value["running"]
        self._set_clock(value)

    def _set_clock(self, value: dict[str, Any]) -> None:
        """Frames carry the match clock too (25 times a second); the newest reading of either kind wins."""
        if value["ts_ms"] >= self._clock_ts_ms:
            self._clock_s, self._clock_ts_ms = value["clock_s"], value["ts_ms"]

    def _take_score(self, value: dict[str, Any]) -> None:
        self._score = {"home": value["home"], "away": value["away"]}
        self._names = {"home": value["home_team"], "away": value["away_team"]}

    # -- facts ---------------------------------------------------------------------------------------
    def _event(self, value: dict[str, Any], at_ns: int, announce: bool) -> None:
        event, team, ts_ms, clock_s = value["event"], value["team"], value["ts_ms"], value["clock_s"]
        if event == "possession":
            self._possession.add(ts_ms, team)
            return
        player = value["player_id"]
        if event == "goal":
            bisect.insort(self.goals, (clock_s, team, player))
        elif event == "card" and value["card"] == "red":
            self._red[team] += 1
            self._players.pop(player, None)
        elif event == "card":
            self._yellow[player] = self._yellow.get(player, 0) + 1
        else:
            bisect.insort(self.substitutions, (clock_s, team, player, value["player_in_id"]))
        if announce and (self._announce is None or ts_ms >= self._announce[0]["ts_ms"]):
            self._announce = (value, at_ns)  # an older event arriving late never covers a newer one

    def _banner(self) -> Banner | None:
        if self._announce is None:
            return None
        value, since_ns = self._announce
        event, team, who = value["event"], value["team"], self._who(value["player_id"])
        minute, name = _minute(value["clock_s"]), self._names[team]
        if event == "goal":
            title, detail = f"GOAL  {name}", f"{minute}  {who}"
        elif event == "card":
            title, detail = f"{value['card'].upper()} CARD", f"{minute}  {who}  ({name})"
        else:
            title, detail = f"SUBSTITUTION  {name}", f"ON {self._who(value['player_in_id'])}   OFF {who}"
        return Banner(event, team, title, detail, since_ns, value.get("card"))

    def _who(self, player_id: int) -> str:
        known = self._roster.get(player_id)
        return f"{known[1]}  {known[2]}" if known else f"player {player_id}"

    # -- the snapshot --------------------------------------------------------------------------------
    def view(self) -> MatchView:
        players = tuple(replace(p, yellow=self._yellow[p.id]) if p.id in self._yellow else p
                        for p in self._players.values())
        return MatchView(
            home_team=self._names["home"], away_team=self._names["away"],
            home=self._score["home"], away=self._score["away"],
            clock_s=self._clock_s, period=self._period, running=self._running,
            players=players, ball=self._ball, trail=tuple(self._trail),
            possession=self._possession.current, home_share=self._possession.home_share(self._frame_ts_ms),
            red_cards=(self._red["home"], self._red["away"]), banner=self._banner(),
        )


def _reading_key(value: dict[str, Any]) -> tuple[Any, ...]:
    """Event-time order of a reading: the broadcaster's ``ts_ms``, then what the kind counts by."""
    kind = value["kind"]
    if kind == "frame":
        return value["ts_ms"], value["frame"]
    if kind == "clock":
        return value["ts_ms"], value["clock_s"], value["period"], value["running"]
    return value["ts_ms"], value["clock_s"], value["home"], value["away"]


def _other(team: str) -> str:
    return "away" if team == "home" else "home"


def _minute(clock_s: float) -> str:
    """The minute as commentators say it: the 1st minute is 0:00 to 0:59."""
    return f"{int(clock_s // 60) + 1}'"
