"""The sports overlay with a real broker and real `mediagrid produce` / `mediagrid run` processes.

Each test owns its topics and consumer group. Assertions are about counts and files, never about speed:
every telemetry message the app takes ends in exactly one ``telemetry`` outcome, bad ones are dead-lettered
or skipped and counted, and the run always ends cleanly with a snapshot of the graphics.
"""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from PIL import Image
from ruamel.yaml import YAML

from mediagrid.broadcast.test_feed import make_feed
from mediagrid.kafka.topics import encode
from tests.conftest import REPO
from tests.e2e.live_harness import Run, broadcast, free_udp_port, read_segments
from tests.integration.conftest import unique_topic
from tests.integration.kafka_helpers import read_topic, start_ingest, stop_ingest

pytestmark = pytest.mark.integration
CONFIG = REPO / "configs" / "sports_overlay.yaml"
SMALL = ("source.width=640", "source.height=360", "source.fps=25")


def overrides(bootstrap: str, topic: str, group: str, *more: str) -> list[str]:
    return [f"kafka.bootstrap={bootstrap}", f"kafka.group={group}", f"kafka.topics={{sports.telemetry: {topic}}}",
            f"kafka.dead_letter_topic={unique_topic('dlq')}", *SMALL, *more]


async def _committed(bootstrap: str, group: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()  # no subscription: it looks at the group's offsets without joining it
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        return sum([await consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions])
    finally:
        await consumer.stop()


def wait_until_committed(bootstrap: str, group: str, topic: str, total: int, proc: Any, timeout_s: float = 90) -> None:
    """Until the app has handled (and acknowledged) every record on the topic: no guessing at timing."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if asyncio.run(_committed(bootstrap, group, topic)) >= total:
            return
        time.sleep(0.3)


def results(run: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads((run / "summary.json").read_text()), json.loads((run / "overlay.json").read_text())


def match_only_scenario(tmp_path: Path, topic: str) -> Path:
    """The football scenario without ads and commerce, on this test's topic."""
    yaml = YAML()
    data = yaml.load((REPO / "configs" / "scenarios" / "football-match.yaml").read_text())
    for section in ("ads", "commerce"):
        del data[section]
    data["topics"] = {"sports.telemetry": topic}
    data["partitions"] = 1
    path = tmp_path / "match.yaml"
    with path.open("w") as out:
        yaml.dump(data, out)
    return path


def test_match_scenario_is_drawn(tansu_broker, cli, tmp_path):
    """Four seconds of the match, published first (so the count is exact whatever the machine's speed) and
    then drawn; the telemetry deadline is long for the same reason."""
    bootstrap, run = tansu_broker.bootstrap, tmp_path / "run"
    topic, group = unique_topic("telemetry"), unique_topic("g")
    produced = cli("produce", str(match_only_scenario(tmp_path, topic)), "--bootstrap", bootstrap, "--duration", "4")
    assert produced.returncode == 0, produced.stderr
    total = next(int(line.split()[-1]) for line in produced.stdout.splitlines() if line.startswith(topic))
    proc = start_ingest(CONFIG, run, *overrides(bootstrap, topic, group, "deadlines.telemetry_ms=60000"))
    try:
        wait_until_committed(bootstrap, group, topic, total, proc)
        time.sleep(0.5)
    finally:
        code, stderr = stop_ingest(proc)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    summary, overlay = results(run)
    assert total > 100 and summary["kafka"]["consumed"] == total and summary["kafka"]["dead_lettered"] == 0
    telemetry = summary["stages"]["telemetry"]
    assert telemetry["count"] == total  # every message: exactly one outcome
    shown = telemetry["met"] + telemetry["missed"]
    assert shown > 0 and shown == overlay["telemetry"]["shown_met"] + overlay["telemetry"]["shown_missed"]
    frames = summary["end_to_end"]
    assert frames["count"] > 0 and summary["stages"]["composite"]["count"] == frames["count"] - frames["dropped"]
    assert overlay["frames"]["full"] + overlay["frames"].get("degraded", 0) == summary["stages"]["composite"]["count"]
    assert overlay["painted"]["marker"] >= 22 and overlay["layers"] > 0
    snapshot = np.asarray(Image.open(run / "overlay.png").convert("RGB"))
    assert snapshot.shape == (360, 640, 3)
    top_left = snapshot[:60, :200].astype(int)
    gold = (top_left[..., 0] > 220) & (top_left[..., 1] > 170) & (top_left[..., 2] < 80)
    assert gold.sum() > 10, "the scorebug's score is not in the snapshot"
    assert "overlay.png" in overlay["snapshots"]


async def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, int]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value, timestamp_ms in records:
            await producer.send(topic, value, key=b"m1", timestamp_ms=timestamp_ms)
        await producer.flush()
    finally:
        await producer.stop()


def _frame(n: int, now_ms: int, match: str = "m1") -> dict[str, Any]:
    return {"v": 1, "ts_ms": now_ms + 40 * n, "match_id": match, "kind": "frame", "clock_s": 3000 + n / 25,
            "frame": n, "ball": {"x": 50.0 + n, "y": 30.0, "z": 0.0},
            "players": [{"id": 7, "team": "home", "shirt": 7, "name": "Kenji Mensah", "x": 40.0 + n, "y": 20.0}]}


def test_bad_telemetry_is_counted_never_fatal(tansu_broker, create_topic, tmp_path):
    """Malformed -> dead letters; duplicates, out-of-order, late and foreign -> skipped and counted."""
    bootstrap, run = tansu_broker.bootstrap, tmp_path / "run"
    topic = create_topic(bootstrap, partitions=1)  # one partition: the order below is the order consumed
    now = int(time.time() * 1000)
    old = now - 120_000
    goal = {"v": 1, "ts_ms": now + 500, "match_id": "m1", "kind": "event", "clock_s": 3010.0, "event": "goal",
            "team": "home", "player_id": 7}
    good = [(encode(_frame(n, now)), now) for n in range(1, 21)]
    records = [*good,
               good[4],  # a re-delivery
               (encode(_frame(0, now)), now),  # out of order: older than every frame taken
               (encode(_frame(21, now)), old),  # two minutes late: skipped
               (encode(goal), old),  # a late goal still counts, without a banner
               (encode(goal), now),  # the same goal again
               (encode(_frame(22, now, match="other")), now),
               (b"{not json", now), (encode({**_frame(23, now), "v": 2}), now),
               (encode({**_frame(24, now), "players": [{"id": "seven"}]}), now)]
    asyncio.run(_produce(bootstrap, topic, records))
    dlq, group = unique_topic("dlq"), unique_topic("g")
    proc = start_ingest(CONFIG, run, *overrides(bootstrap, topic, group, "deadlines.telemetry_ms=60000"),
                        f"kafka.dead_letter_topic={dlq}")
    try:
        wait_until_committed(bootstrap, group, topic, len(records), proc)  # dead letters included
        time.sleep(0.5)
    finally:
        code, stderr = stop_ingest(proc)
    assert code == 0, stderr
    dead = read_topic(bootstrap, dlq, lambda got: len(got) >= 3, 30)
    summary, overlay = results(run)
    assert summary["kafka"]["consumed"] == len(records) and summary["kafka"]["dead_lettered"] == 3
    assert sorted(d["reason"] for d in dead) == ["not_json", "schema", "schema"]
    counts = overlay["telemetry"]
    assert {k: counts[k] for k in ("applied", "applied_late", "duplicate", "stale", "late", "other_match")} == {
        "applied": 20, "applied_late": 1, "duplicate": 2, "stale": 1, "late": 1, "other_match": 1}
    telemetry = summary["stages"]["telemetry"]
    assert telemetry["count"] == len(records) - 3  # each valid message ended exactly once
    assert telemetry["dropped"] == 5 + counts.get("unshown", 0)
    assert summary["kafka"]["committed"] == len(records)  # all handled, all acknowledged


def test_unusable_font_is_a_clean_error(tansu_broker, tmp_path):
    run = tmp_path / "run"
    proc = start_ingest(CONFIG, run, *overrides(tansu_broker.bootstrap, unique_topic("telemetry"), unique_topic("g"),
                                                f"sports_overlay.graphics.font={tmp_path / 'missing.ttf'}"))
    proc.wait(60)
    code, stderr = stop_ingest(proc)
    assert code == 2, stderr
    assert "missing.ttf" in stderr and "fonts-dejavu-core" in stderr and "Traceback" not in stderr


def test_file_source_and_file_sink(tansu_broker, clip, tmp_path):
    """Graphics laid out for the file's own size and rate; every frame composited and encoded."""
    run, video = tmp_path / "run", tmp_path / "out.mp4"
    proc = start_ingest(CONFIG, run, *overrides(tansu_broker.bootstrap, unique_topic("telemetry"), unique_topic("g")),
                        "source.kind=file", f"source.path={clip}", "source.width=1920", "source.height=1080",
                        "sink.kind=file", f"sink.path={video}", "sports_overlay.snapshot_after_s=0")
    proc.wait(90)
    code, stderr = stop_ingest(proc)
    assert code == 0, stderr
    summary, overlay = results(run)
    assert summary["stopped_by"] == "end_of_stream" and summary["end_to_end"]["count"] == 20
    assert overlay["frame_size"] == [320, 240]  # the file's, not the config's 1920x1080
    assert Image.open(run / "overlay.png").size == (320, 240)
    assert video.stat().st_size > 0


def test_a_live_feed_gets_the_graphics_and_keeps_its_audio(tansu_broker, cli, tmp_path):
    """The overlay on a broadcaster's UDP feed, published as HLS: telemetry published first, then the feed pushed
    by ffmpeg; the segments carry the scorebug over the feed's pictures and the feed's audio."""
    bootstrap = tansu_broker.bootstrap
    topic, group = unique_topic("telemetry"), unique_topic("g")
    produced = cli("produce", str(match_only_scenario(tmp_path, topic)), "--bootstrap", bootstrap, "--duration", "4")
    assert produced.returncode == 0, produced.stderr
    feed = make_feed(tmp_path / "feed.ts", seconds=7, width=640, height=360, fps=25)
    port = free_udp_port()
    run = Run(tmp_path, CONFIG, 5.0, *(f"--set={o}" for o in overrides(bootstrap, topic, group,
              "deadlines.telemetry_ms=60000", "deadlines.frame_ms=200", "device=cpu",
              f'source={{kind: live, url: "udp://127.0.0.1:{port}", jitter_ms: 150, connect_timeout_s: 20}}',
              f"sink={{kind: hls, dir: {tmp_path / 'hls'}, segment_s: 1, window: 30}}")))
    run.wait_listening(port)
    broadcaster = broadcast(feed.path, f"udp://127.0.0.1:{port}?pkt_size=1316")
    code = run.finish()
    broadcaster.kill()
    broadcaster.wait()
    assert code == 0, run.output
    summary = run.summary
    assert summary["live"]["format"] == {"width": 640, "height": 360, "fps": 25.0, "audio": True}
    assert summary["stages"]["telemetry"]["count"] > 0
    segments = read_segments(run)
    assert len(segments) >= 4 and all(audio for *_, audio in segments)
    last = segments[-2][1][-1]  # a whole segment's last picture, seconds after the telemetry was applied
    rgb = av.VideoFrame.from_ndarray(last, format="yuv420p").to_ndarray(format="rgb24")
    # the scorebug's dark panel over testsrc2's bright green bar, where the feed itself has no dark pixel
    panel = rgb[12:26, 112:175].max(axis=2) < 100
    assert panel.mean() > 0.3, "the scorebug is not in the HLS output"
