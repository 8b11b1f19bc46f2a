"""Scenario files: load and check one, apply the command line's overrides, and turn it into messages."""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mediagrid.config import ConfigIssue, load_validated
from mediagrid.config.document import Document
from mediagrid.errors import UsageError
from mediagrid.kafka.topics import topic_name
from mediagrid.scenarios import ads, commerce, football
from mediagrid.scenarios.message import Message, merge

SCHEMA = "scenario.schema.json"
#: scenario section -> the topic role its generator publishes to
ROLES = {"match": football.ROLE, "ads": ads.ROLE, "commerce": commerce.ROLE}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file (schema defaults filled in), with any overrides applied."""

    path: str
    data: Mapping[str, Any]
    seed: int
    duration_s: float

    @property
    def topics(self) -> dict[str, str]:
        """role -> topic name, for the roles this scenario publishes."""
        return {role: topic_name(role, self.data["topics"]) for s, role in ROLES.items() if s in self.data}

    def with_overrides(self, duration_s: float | None = None, rate: float | None = None,
                       seed: int | None = None) -> Scenario:
        """The command line's ``--duration``, ``--rate`` (commerce requests per second) and ``--seed``."""
        data = dict(self.data)
        if rate is not None:
            if "commerce" not in data:
                raise UsageError(f"{self.path}: --rate sets commerce requests per second, but the scenario has "
                                 "no commerce section")
            if rate <= 0:
                raise UsageError(f"--rate must be a positive number of requests per second, not {rate}")
            data["commerce"] = {**data["commerce"], "rate_per_s": rate}
        if duration_s is not None and duration_s <= 0:
            raise UsageError(f"--duration must be a positive number of seconds, not {duration_s}")
        return replace(self, data=data, seed=self.seed if seed is None else seed,
                       duration_s=self.duration_s if duration_s is None else duration_s)

    def messages(self, epoch_ms: int) -> Iterator[Message]:
        """Every message of the run in send order; ``epoch_ms`` is the wall-clock time of the start."""
        data, seed, until = self.data, self.seed, self.duration_s
        streams = []
        goals: list[tuple[float, str]] = []
        if "match" in data:
            match = data["match"]
            streams.append(football.match_messages(seed, epoch_ms, until, **match))
            goals = football.goal_times(football.plan_match(seed, match["start_minute"], match["speed"]))
        if "ads" in data:
            streams.append(ads.ad_breaks(seed, epoch_ms, until, stream_id=data["stream_id"], **data["ads"]))
        if "commerce" in data:
            streams.append(commerce.commerce_requests(seed, epoch_ms, until, stream_id=data["stream_id"], goals=goals,
                                                      **data["commerce"]))
        return merge(*streams)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """The scenario at ``path``; :class:`~mediagrid.config.ConfigError` lists every problem, located."""
    data = load_validated(path, SCHEMA, _issues)
    return Scenario(os.fspath(path), data, data["seed"], data["duration_s"])


def _issues(doc: Document) -> list[ConfigIssue]:
    """What the schema cannot say: something to publish, geometry inside the frame, a possible user pool."""
    data = doc.data
    issues = []
    if not any(s in data for s in ROLES):
        issues.append(doc.issue((), "nothing to publish: add a match, ads or commerce section"))
    for i, slot in enumerate(data.get("ads", {}).get("slots", [])):
        for start, size in (("x", "w"), ("y", "h")):
            if slot[start] + slot[size] > 1:
                issues.append(doc.issue(("ads", "slots", i, size), f"{start} + {size} is {slot[start] + slot[size]:g}; "
                                        "the slot must end inside the frame (at most 1)"))
    requests = data.get("commerce", {})
    if requests and requests["users"] > requests["sessions"]:
        issues.append(doc.issue(("commerce", "users"), f"{requests['users']} users are more than the "
                                f"{requests['sessions']} sessions they use; use at most as many users as sessions"))
    if "goal_bursts" in requests and "match" not in data:
        issues.append(doc.issue(("commerce", "goal_bursts"), "goal bursts follow the goals of a match: add a "
                                "match section or remove goal_bursts"))
    return issues
