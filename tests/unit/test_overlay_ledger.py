"""Every telemetry message ends in exactly one ``telemetry`` outcome, timed to the first frame showing it."""
from __future__ import annotations

from mediagrid.kafka.consumer import KafkaItem
from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.overlay.ledger import STAGE, TelemetryLedger
from mediagrid.overlay.state import TelemetryVerdict

MS = 1_000_000


def item(offset: int, origin_ms: int) -> KafkaItem:
    return KafkaItem("sports.telemetry", "mg.sports.telemetry", 0, offset, origin_ms, b"m", {}, origin_ms * MS,
                     origin_ms * MS)


def test_each_message_ends_once_when_first_shown() -> None:
    recorder = OutcomeRecorder(20.0)
    ledger = TelemetryLedger(recorder, budget_ns=100 * MS)
    ledger.skipped(item(0, 0), TelemetryVerdict.LATE, 150 * MS)
    ledger.taken(1, [item(1, 10), item(2, 20)])
    ledger.taken(2, [item(3, 30)])
    ledger.taken(4, [item(4, 40)])
    assert ledger.shown(0, 50 * MS) == 0  # a frame with an older layer shows none of them
    assert ledger.shown(2, 60 * MS) == 3  # layer 2 includes what layer 1 had
    assert ledger.shown(2, 80 * MS) == 0  # ...and only the first frame counts
    assert ledger.waiting() == 1
    assert ledger.shown(5, 200 * MS) == 1  # shown after its deadline: missed
    ledger.taken(6, [item(5, 210)])
    ledger.close(300 * MS)
    ledger.taken(7, [item(6, 290)])  # after the end: still exactly one outcome
    series = recorder.series()[STAGE]
    assert series.tally == {"met": 3, "degraded": 0, "dropped": 3, "missed": 1}
    assert sorted(series.latency_ms)[:3] == [30.0, 40.0, 50.0]  # Kafka timestamp -> frame done
    assert dict(ledger.counts) == {"late": 1, "shown_met": 3, "shown_missed": 1, "unshown": 2}
    assert "end_to_end" not in recorder.series()  # frames own the end-to-end series
