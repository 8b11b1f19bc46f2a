"""Match state for the overlay: event-time order, duplicates, late and foreign telemetry, never a crash."""
from __future__ import annotations

import random
from typing import Any

from mediagrid.kafka.topics import schema
from mediagrid.overlay.state import MatchState, TelemetryVerdict
from mediagrid.scenarios.football import match_messages

TS = 1_767_225_600_000
HOME, AWAY = 101, 202


def frame(n: int, *, x: float = 10.0, ts: int | None = None, match: str = "m1") -> dict[str, Any]:
    return {"v": 1, "ts_ms": TS + 40 * n if ts is None else ts, "match_id": match, "kind": "frame",
            "clock_s": 3000 + n, "frame": n, "ball": {"x": x, "y": 30.0, "z": 0.0},
            "players": [{"id": HOME, "team": "home", "shirt": 9, "name": "Kenji Mensah", "x": x, "y": 20.0},
                        {"id": AWAY, "team": "away", "shirt": 4, "name": "Felix Santos", "x": 90.0, "y": 40.0}]}


def event(kind: str, team: str, ts: int, **fields: Any) -> dict[str, Any]:
    return {"v": 1, "ts_ms": ts, "match_id": "m1", "kind": "event", "clock_s": (ts - TS) / 10, "event": kind,
            "team": team, **fields}


def score(home: int, away: int, ts: int) -> dict[str, Any]:
    return {"v": 1, "ts_ms": ts, "match_id": "m1", "kind": "score", "clock_s": 3000, "home": home, "away": away,
            "home_team": "Northbridge FC", "away_team": "Rivermouth United"}


def apply(state: MatchState, value: dict[str, Any], late: bool = False, at_ns: int = 1) -> TelemetryVerdict:
    return state.apply(value, late=late, at_ns=at_ns)


def test_an_older_frame_never_overwrites_a_newer_one() -> None:
    state = MatchState()
    assert apply(state, frame(2, x=50.0)) is TelemetryVerdict.APPLIED
    assert apply(state, frame(1, x=10.0)) is TelemetryVerdict.STALE
    view = state.view()
    assert view.ball == (50.0, 30.0) and view.players[0].x == 50.0
    assert view.trail == ((50.0, 30.0),)
    assert state.counts[TelemetryVerdict.STALE] == 1


def test_duplicates_are_counted_and_ignored() -> None:
    state = MatchState()
    goal = event("goal", "home", TS + 500, player_id=HOME)
    verdicts = [apply(state, v) for v in (frame(1), frame(1), score(1, 0, TS + 600), score(1, 0, TS + 600), goal,
                                          dict(goal))]
    assert verdicts == [TelemetryVerdict.APPLIED, TelemetryVerdict.DUPLICATE, TelemetryVerdict.APPLIED, TelemetryVerdict.DUPLICATE, TelemetryVerdict.APPLIED,
                        TelemetryVerdict.DUPLICATE]
    assert state.goals == [(50.0, "home", HOME)]
    assert state.view().home == 1 and state.counts[TelemetryVerdict.DUPLICATE] == 3


def test_a_redelivered_older_frame_is_a_duplicate_not_an_out_of_order_one() -> None:
    state = MatchState()
    for n in range(1, 6):
        apply(state, frame(n))
    assert apply(state, frame(2)) is TelemetryVerdict.DUPLICATE  # taken before: a re-delivery
    assert apply(state, frame(0)) is TelemetryVerdict.STALE  # never seen, older: out of order
    assert state.view().players[0].x == 10.0 and len(state.view().trail) == 5


def test_late_frames_are_skipped_but_late_scores_and_facts_are_kept_without_a_banner() -> None:
    state = MatchState()
    apply(state, frame(1, x=5.0))
    assert apply(state, frame(2, x=60.0), late=True) is TelemetryVerdict.LATE  # the next frame is 40 ms away
    assert state.view().ball == (5.0, 30.0)
    assert apply(state, score(2, 0, TS + 900), late=True) is TelemetryVerdict.APPLIED_LATE  # the next may be a half away
    card = event("card", "away", TS + 700, player_id=AWAY, card="yellow")
    assert apply(state, card, late=True) is TelemetryVerdict.APPLIED_LATE
    view = state.view()
    assert (view.home, view.away_team) == (2, "Rivermouth United")
    assert view.banner is None  # old news gets no banner
    assert [p.yellow for p in view.players if p.id == AWAY] == [1]  # but the card is on the marker
    # the skipped frame was never taken, so a re-delivery of it in time is not a duplicate
    assert apply(state, frame(2, x=60.0)) is TelemetryVerdict.APPLIED


def test_events_out_of_order_all_count_and_the_newest_keeps_the_banner() -> None:
    state = MatchState()
    apply(state, frame(1))
    apply(state, event("goal", "away", TS + 2000, player_id=AWAY), at_ns=20)
    apply(state, event("goal", "home", TS + 1000, player_id=HOME), at_ns=30)  # older, arrives later
    assert [g[1] for g in state.goals] == ["home", "away"]  # in match-clock order
    banner = state.view().banner
    assert banner is not None and banner.team == "away" and banner.since_ns == 20
    assert "4  Felix Santos" in banner.detail


def test_possession_share_does_not_depend_on_arrival_order() -> None:
    changes = [event("possession", team, TS + ms) for ms, team in ((0, "home"), (3000, "away"), (4000, "home"))]
    shares = []
    for order in (changes, changes[::-1], [changes[1], changes[0], changes[2]]):
        state = MatchState()
        for change in order:
            apply(state, change)
        apply(state, frame(0, ts=TS + 5000))  # "now" is the newest frame's time
        view = state.view()
        assert view.possession == "home"
        shares.append(view.home_share)
    assert shares == [0.8, 0.8, 0.8]


def test_possession_before_the_first_change_goes_to_the_team_that_lost_the_ball() -> None:
    state = MatchState()
    apply(state, frame(0, ts=TS))
    apply(state, event("possession", "away", TS + 3000))
    apply(state, frame(1, ts=TS + 4000))
    assert state.view().home_share == 0.75


def test_banner_names_follow_what_the_state_learns_later() -> None:
    state = MatchState()
    apply(state, event("goal", "home", TS + 10, player_id=HOME), at_ns=9)
    assert state.view().banner.title == "GOAL  Home" and state.view().banner.detail.endswith(f"player {HOME}")
    apply(state, score(1, 0, TS + 20))
    apply(state, frame(1))
    banner = state.view().banner
    assert (banner.title, banner.detail, banner.since_ns) == ("GOAL  Northbridge FC", "1'  9  Kenji Mensah", 9)


def test_clock_follows_the_newest_reading_of_frames_and_clock_messages() -> None:
    state = MatchState()
    apply(state, frame(10))  # clock_s 3010 at TS + 400
    clock = {"v": 1, "ts_ms": TS + 100, "match_id": "m1", "kind": "clock", "clock_s": 2990.0, "period": 2,
             "running": True}
    assert apply(state, clock) is TelemetryVerdict.APPLIED  # the first clock message: period and running are taken
    view = state.view()
    assert view.clock_s == 3010 and view.period == 2  # but the older clock reading does not rewind the clock
    assert apply(state, dict(clock, ts_ms=TS + 50)) is TelemetryVerdict.STALE


def test_red_card_and_substitution() -> None:
    state = MatchState()
    apply(state, frame(1))
    apply(state, event("card", "away", TS + 100, player_id=AWAY, card="red"), at_ns=5)
    apply(state, event("substitution", "home", TS + 200, player_id=HOME, player_in_id=999), at_ns=6)
    view = state.view()
    assert view.red_cards == (0, 1) and [p.id for p in view.players] == [HOME]
    assert view.banner is not None and view.banner.kind == "substitution"
    assert view.banner.detail == "ON player 999   OFF 9  Kenji Mensah"  # the newcomer is not in a frame yet
    assert state.substitutions == [(20.0, "home", HOME, 999)]


def test_other_matches_are_skipped() -> None:
    followed = MatchState()
    assert apply(followed, frame(1, match="a")) is TelemetryVerdict.APPLIED
    assert apply(followed, frame(2, match="b")) is TelemetryVerdict.OTHER_MATCH
    pinned = MatchState("b")
    assert apply(pinned, frame(1, match="a")) is TelemetryVerdict.OTHER_MATCH
    assert apply(pinned, frame(1, match="b")) is TelemetryVerdict.APPLIED


def test_shuffled_duplicated_scenario_never_raises_and_every_message_gets_a_verdict() -> None:
    """A minute of the football scenario plus the schema's examples, shuffled locally and re-delivered."""
    values = [m.value for m in match_messages(3, TS, 60, id="final-2026", home="A", away="B", start_minute=80,
                                              speed=120)]
    values += [dict(e) for e in schema("sports.telemetry")["examples"]]
    rng = random.Random(1)
    stream = values + rng.sample(values, 200)  # re-deliveries
    for i in range(0, len(stream) - 8, 8):  # out of order within windows of 8
        window = stream[i:i + 8]
        rng.shuffle(window)
        stream[i:i + 8] = window
    state = MatchState("final-2026")
    for n, value in enumerate(stream):
        state.apply(value, late=n % 97 == 0, at_ns=n)
    assert sum(state.counts.values()) == len(stream)
    assert all(state.counts[v] > 0 for v in (TelemetryVerdict.APPLIED, TelemetryVerdict.DUPLICATE, TelemetryVerdict.STALE, TelemetryVerdict.LATE))
    view = state.view()
    assert view.players and view.clock_s == 5400 and view.away == 1 and len(state.goals) == 2  # scenario + example
