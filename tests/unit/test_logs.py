import logging

from mediagrid.logs import RepeatFilter


def test_repeats_are_folded_then_counted(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("mediagrid.logs.time.monotonic", lambda: clock[0])
    f = RepeatFilter(interval_s=10)

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, msg, (), None)

    assert f.filter(record("Unable connect to node %s"))
    for _ in range(50):
        clock[0] += 0.1
        assert not f.filter(record("Unable connect to node %s"))
    assert f.filter(record("another message"))  # a different line is not held back
    clock[0] += 10
    shown = record("Unable connect to node %s")
    assert f.filter(shown) and "and 50 more like it" in shown.msg
