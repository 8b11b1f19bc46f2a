"""Viewers' recommendation requests: Poisson arrivals whose rate jumps during bursts.

A burst multiplies the base rate for a while: at a configured time, at random times, or right after each
goal of the match (when viewers reach for the scorer's shirt). The rate is constant between burst edges, so
arrivals are drawn segment by segment with exponential gaps; the exponential's lack of memory makes that
exactly a Poisson process with the piecewise rate.
"""
from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from mediagrid.scenarios.message import Message, envelope, seeded

ROLE = "commerce.requests"
_LIVE_TAGS = ("live",)


@dataclass(frozen=True)
class Burst:
    """The rate is ``multiplier`` times the base from ``start_s`` to ``end_s``; requests in it carry ``tags``."""

    start_s: float
    end_s: float
    multiplier: float
    tags: tuple[str, ...] = ()


def burst_windows(seed: int, until_s: float, bursts: Sequence[Mapping[str, float]],
                  random_bursts: Mapping[str, float] | None, goal_bursts: Mapping[str, float] | None,
                  goals: Sequence[tuple[float, str]]) -> list[Burst]:
    """Every burst of a run, from the scenario's three kinds; ``goals`` are (time, scoring team)."""
    windows = [Burst(b["at_s"], b["at_s"] + b["duration_s"], b["multiplier"]) for b in bursts]
    if random_bursts is not None:
        rng = seeded(seed, "commerce/bursts")
        at = rng.expovariate(1 / random_bursts["every_s"])
        while at < until_s:
            windows.append(Burst(at, at + random_bursts["duration_s"], random_bursts["multiplier"]))
            at += rng.expovariate(1 / random_bursts["every_s"])
    if goal_bursts is not None:
        tags = {team: ("goal", "replay", f"team-{team}") for team in ("home", "away")}
        windows += [Burst(at, at + goal_bursts["duration_s"], goal_bursts["multiplier"], tags[team])
                    for at, team in goals]
    return windows


def arrival_times(rng: random.Random, rate_per_s: float, windows: Sequence[Burst], until_s: float) -> Iterator[float]:
    """Poisson arrival times before ``until_s``; where bursts overlap, the largest multiplier applies."""
    edges = sorted({0.0, until_s, *(t for w in windows for t in (w.start_s, w.end_s) if t < until_s)})
    for low, high in pairwise(edges):
        rate = rate_per_s * max((w.multiplier for w in _covering(windows, low)), default=1.0)
        at = low
        while (at := at + rng.expovariate(rate)) < high:
            yield at


def commerce_requests(seed: int, epoch_ms: int, until_s: float, *, stream_id: str, rate_per_s: float, category: str,
                      deadline_ms: float, k: int, sessions: int, users: int, regions: Sequence[str],
                      bursts: Sequence[Mapping[str, float]] = (), random_bursts: Mapping[str, float] | None = None,
                      goal_bursts: Mapping[str, float] | None = None,
                      goals: Sequence[tuple[float, str]] = ()) -> Iterator[Message]:
    """Requests from a pool of ``sessions`` (each with a fixed user and region), keyed by session id so that
    one session's requests stay ordered in one partition."""
    rng = seeded(seed, "commerce")
    windows = burst_windows(seed, until_s, bursts, random_bursts, goal_bursts, goals)

    @lru_cache(maxsize=65_536)
    def viewer(session: int) -> tuple[str, str]:
        pick = seeded(seed, f"commerce/session/{session}")
        return f"u-{pick.randrange(users):07d}", pick.choice(regions)

    for n, at in enumerate(arrival_times(rng, rate_per_s, windows, until_s), start=1):
        session = rng.randrange(sessions)
        user, region = viewer(session)
        session_id = f"s-{session:07d}"
        stamp = envelope(epoch_ms, at)
        tags = [tag for w in _covering(windows, at) for tag in w.tags] or list(_LIVE_TAGS)
        value = {
            **stamp,
            "request_id": f"req-{seed}-{n:08d}",
            "session_id": session_id,
            "user_id": user,
            "context": {"stream_id": stream_id, "category": category, "scene_tags": list(dict.fromkeys(tags))[:16]},
            "requested_at_ms": stamp["ts_ms"],
            "deadline_ms": deadline_ms,
            "k": k,
            "region": region,
        }
        yield Message(ROLE, session_id.encode(), value, at)


def _covering(windows: Sequence[Burst], at: float) -> Iterator[Burst]:
    return (w for w in windows if w.start_s <= at < w.end_s)
