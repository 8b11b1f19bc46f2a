"""Traffic generators: pure in their seed, in time order, at the rates asked for, valid unless broken on purpose."""
from __future__ import annotations

import statistics
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from mediagrid.config import ConfigError
from mediagrid.errors import BrokerError, UsageError
from mediagrid.kafka import free_port
from mediagrid.kafka.topics import InvalidMessage, decode, encode
from mediagrid.scenarios import commerce_requests, encode_all, load_scenario, match_messages, produce
from mediagrid.scenarios.malformed import KINDS

REPO = Path(__file__).resolve().parents[2]
FOOTBALL = REPO / "configs" / "scenarios" / "football-match.yaml"
BURST = REPO / "configs" / "scenarios" / "commerce-burst.yaml"
EPOCH_MS = 1_767_225_600_000
COMMERCE: dict[str, Any] = dict(stream_id="main", category="football", deadline_ms=150, k=10, sessions=500, users=400,
                                regions=["eu-west", "us-east"])
MATCH: dict[str, Any] = dict(id="m-1", home="Home", away="Away", start_minute=50, speed=120)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_same_seed_same_messages_other_seed_other_messages() -> None:
    scenario = load_scenario(FOOTBALL).with_overrides(duration_s=4)
    first = list(scenario.messages(EPOCH_MS))
    assert first == list(scenario.messages(EPOCH_MS))
    assert first != list(scenario.with_overrides(seed=scenario.seed + 1).messages(EPOCH_MS))


def test_a_longer_run_starts_like_a_shorter_one() -> None:
    scenario = load_scenario(FOOTBALL)
    short = list(scenario.with_overrides(duration_s=3).messages(EPOCH_MS))
    long = list(scenario.with_overrides(duration_s=6).messages(EPOCH_MS))
    assert short == [m for m in long if m.send_at_s < 3]


def test_shipped_scenarios_are_in_time_order_and_valid() -> None:
    for path in (FOOTBALL, BURST):
        messages = list(load_scenario(path).messages(EPOCH_MS))
        times = [m.send_at_s for m in messages]
        assert times == sorted(times)
        assert times[0] >= 0 and times[-1] < load_scenario(path).duration_s
        for m in messages:
            assert decode(m.role, encode(m.value)) == m.value
            assert m.value["ts_ms"] == EPOCH_MS + round(m.send_at_s * 1000)


def test_telemetry_runs_at_25_hz_with_a_clock_every_second() -> None:
    messages = list(match_messages(3, EPOCH_MS, 8.0, **MATCH))
    frames = [m for m in messages if m.value["kind"] == "frame"]
    assert len(frames) == 8 * 25
    assert [f.value["frame"] for f in frames] == list(range(200))
    assert {round(b.send_at_s - a.send_at_s, 9) for a, b in pairwise(frames)} == {0.04}
    clocks = [m for m in messages if m.value["kind"] == "clock"]
    assert [c.send_at_s for c in clocks] == [float(s) for s in range(8)]
    assert [c.value["clock_s"] for c in clocks[:2]] == [3000, 3120]  # minute 50, then 120x real time
    assert len(frames[0].value["players"]) == 22
    assert all(m.key == b"m-1" for m in messages)


def test_the_ball_moves_between_players_and_possession_changes() -> None:
    messages = list(match_messages(5, EPOCH_MS, 60.0, **{**MATCH, "start_minute": 0, "speed": 1}))
    balls = [(m.value["ball"]["x"], m.value["ball"]["y"]) for m in messages if m.value["kind"] == "frame"]
    assert len(set(balls)) > len(balls) / 2
    changes = [m for m in messages if m.value.get("event") == "possession"]
    assert 1 <= len(changes) <= 20  # about one every 15 s in real football
    assert all(a.value["team"] != b.value["team"] for a, b in pairwise(changes))


def test_match_events_at_compressed_time_and_full_time_stops_the_clock() -> None:
    messages = list(match_messages(7, EPOCH_MS, 25.0, **MATCH))  # minute 50 to 90 takes 20 s at 120x
    events = Counter(m.value["event"] for m in messages if m.value["kind"] == "event")
    assert events["substitution"] >= 4 and events["goal"] + events["card"] >= 1
    scores = [m.value for m in messages if m.value["kind"] == "score"]
    assert len(scores) == 1 + events["goal"] and scores[-1]["home"] + scores[-1]["away"] == events["goal"]
    last_clock = [m.value for m in messages if m.value["kind"] == "clock"][-1]
    assert (last_clock["clock_s"], last_clock["running"], last_clock["period"]) == (5400, False, 2)


def test_requests_arrive_as_a_poisson_process() -> None:
    rate, seconds = 200.0, 50.0
    times = [m.send_at_s for m in commerce_requests(1, EPOCH_MS, seconds, rate_per_s=rate, **COMMERCE)]
    expected = rate * seconds
    assert abs(len(times) - expected) < 4 * expected ** 0.5
    gaps = [b - a for a, b in pairwise(times)]
    assert statistics.mean(gaps) == pytest.approx(1 / rate, rel=0.05)
    assert statistics.stdev(gaps) / statistics.mean(gaps) == pytest.approx(1.0, abs=0.05)  # exponential gaps


def test_a_burst_multiplies_the_rate_for_its_duration() -> None:
    bursts = [{"at_s": 10.0, "multiplier": 10.0, "duration_s": 5.0}]
    times = [m.send_at_s for m in commerce_requests(2, EPOCH_MS, 30.0, rate_per_s=100.0, bursts=bursts, **COMMERCE)]
    inside = sum(10 <= t < 15 for t in times) / 5
    outside = sum(not 10 <= t < 15 for t in times) / 25
    assert inside / outside == pytest.approx(10, rel=0.15)


def test_goal_bursts_follow_goals_and_tag_the_scene() -> None:
    goals = [(5.0, "home")]
    requests = list(commerce_requests(3, EPOCH_MS, 20.0, rate_per_s=50.0, goals=goals,
                                      goal_bursts={"multiplier": 8.0, "duration_s": 2.0}, **COMMERCE))
    after = [r for r in requests if 5 <= r.send_at_s < 7]
    assert len(after) / 2 > 4 * 50
    assert all(r.value["context"]["scene_tags"] == ["goal", "replay", "team-home"] for r in after)
    assert all(r.value["context"]["scene_tags"] == ["live"] for r in requests if not 5 <= r.send_at_s < 7)


def test_random_bursts_are_seeded() -> None:
    def run(seed: int) -> list[float]:
        return [m.send_at_s for m in commerce_requests(
            seed, EPOCH_MS, 60.0, rate_per_s=20.0, random_bursts={"every_s": 10, "multiplier": 6, "duration_s": 2},
            **COMMERCE)]

    assert run(4) == run(4) != run(5)
    assert len(run(4)) > 1.3 * 20 * 60  # about six 2 s bursts at 6x add 50 % to the base load


def test_a_session_keeps_its_user_region_and_partition_key() -> None:
    seen: dict[str, tuple[str, str]] = {}
    for m in commerce_requests(6, EPOCH_MS, 20.0, rate_per_s=100.0, **COMMERCE):
        assert m.key == m.value["session_id"].encode()
        viewer = (m.value["user_id"], m.value["region"])
        assert seen.setdefault(m.value["session_id"], viewer) == viewer
    assert len(seen) > 300


def test_every_kth_message_is_broken_in_turn_and_refused() -> None:
    messages = load_scenario(FOOTBALL).with_overrides(duration_s=5).messages(EPOCH_MS)
    outgoing = list(encode_all(messages, malformed_every=3))
    broken = [o for o in outgoing if o.malformed]
    assert [i for i, o in enumerate(outgoing, start=1) if o.malformed] == list(range(3, len(outgoing) + 1, 3))
    assert [o.malformed for o in broken[:14]] == list(KINDS) * 2
    assert {o.role for o in broken} == {"sports.telemetry", "commerce.requests"}
    for o in outgoing:
        if o.malformed:
            with pytest.raises(InvalidMessage):
                decode(o.role, o.payload)
        else:
            decode(o.role, o.payload)


def test_scenario_problems_are_located(tmp_path: Path) -> None:
    path = _write(tmp_path, "scenario: s\ncomerce:\n  rate_per_s: 5\n")
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert str(caught.value.issues[0]).startswith(
        f"{path}:2:1: comerce: unknown key 'comerce'; did you mean 'commerce'?")
    path = _write(tmp_path, "scenario: s\nads:\n  creatives: [{id: c, uri: c.png}]\n  slots:\n"
                            "    - {x: 0.5, y: 0.1, w: 0.6, h: 0.1}\n"
                            "commerce: {rate_per_s: 5, sessions: 10, users: 20}\n")
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert [str(i) for i in caught.value.issues] == [
        f"{path}:5:27: ads.slots[0].w: x + w is 1.1; the slot must end inside the frame (at most 1)",
        f"{path}:6:48: commerce.users: 20 users are more than the 10 sessions they use; use at most as many "
        "users as sessions",
    ]
    with pytest.raises(ConfigError, match="nothing to publish"):
        load_scenario(_write(tmp_path, "scenario: s\n"))


def test_overrides_from_the_command_line() -> None:
    scenario = load_scenario(BURST).with_overrides(duration_s=2, rate=7, seed=9)
    assert (scenario.duration_s, scenario.seed, scenario.data["commerce"]["rate_per_s"]) == (2, 9, 7)
    assert scenario.topics == {"commerce.requests": "mg.commerce.requests"}
    with pytest.raises(UsageError, match="--duration must be a positive"):
        scenario.with_overrides(duration_s=0)


def test_rate_needs_commerce(tmp_path: Path) -> None:
    path = _write(tmp_path, "scenario: s\nmatch: {id: m, home: A, away: B}\ntopics: {sports.telemetry: t.x}\n")
    scenario = load_scenario(path)
    assert scenario.topics == {"sports.telemetry": "t.x"}
    with pytest.raises(UsageError, match="no commerce section"):
        scenario.with_overrides(rate=5)


def test_produce_refuses_bad_arguments_and_names_an_unreachable_broker() -> None:
    with pytest.raises(UsageError, match="--malformed-every"):
        produce(BURST, "127.0.0.1:9", malformed_every=0)
    bootstrap = f"127.0.0.1:{free_port()}"
    with pytest.raises(BrokerError, match=f"cannot reach the Kafka broker at {bootstrap}"):
        produce(BURST, bootstrap, duration_s=1, progress=False)
