"""Ad decisions from Kafka into a running ad insertion app: planned, composited, or dead-lettered."""
from __future__ import annotations

import json
import time

import pytest

from mediagrid.kafka.topics import decode, encode
from tests.integration.conftest import unique_topic
from tests.integration.kafka_helpers import produce, read_topic

pytestmark = pytest.mark.integration


def _decision(creative: str, break_id: str) -> dict:
    return {"v": 1, "ts_ms": time.time_ns() // 1_000_000, "stream_id": "main", "break_id": break_id,
            "creative_id": creative, "creative_uri": f"creatives/{creative}.png",
            "slot": {"x": 0.1, "y": 0.7, "w": 0.8, "h": 0.2}, "start_pts_s": 0, "duration_s": 600}


def test_decisions_composited_and_unknown_creative_dead_lettered(tansu_broker, create_topic, cli, tmp_path):
    bootstrap = tansu_broker.bootstrap
    decisions, dlq = create_topic(bootstrap, partitions=1), unique_topic("dlq")
    produce(bootstrap, decisions, [(b"main", encode(_decision("boots", "k1"))),
                                   (b"main", encode(_decision("ghost-creative", "k2"))),
                                   (b"main", b'{"v": 1, "ts_ms": "soon"}')])
    config = tmp_path / "ads.yaml"
    config.write_text(f"""
app: ad_insertion
node: {{id: edge-test-1, site: test, jurisdiction: EU}}
device: cpu
kafka:
  bootstrap: "{bootstrap}"
  group: {unique_topic("group")}
  topics: {{ads.decisions: {decisions}}}
  dead_letter_topic: {dlq}
  commit_interval_ms: 100
  session_timeout_ms: 3000
deadlines: {{frame_ms: 1000, policy: degrade}}
source: {{kind: synthetic, width: 320, height: 180, fps: 30}}
sink: {{kind: "null"}}
ad_insertion:
  stream_id: main
  creatives: [{{id: boots, path: assets/creatives/sportswear-boots.png}}]
  context: {{every_s: 0}}
""")
    done = cli("run", str(config), "--duration", "6", "--out", str(tmp_path / "run"), "--no-progress")
    assert done.returncode == 0, done.stderr
    stats = json.loads((tmp_path / "run" / "ad_insertion.json").read_text())
    assert stats["decisions"]["accepted"] == 1 and stats["decisions"]["unknown_creative_ids"] == ["ghost-creative"]
    assert stats["dead_letters"] == 1 and stats["frames"]["by_creative"]["boots"] > 0
    kafka = json.loads((tmp_path / "run" / "summary.json").read_text())["kafka"]
    # both dead letters count: the schema failure (found by the consumer) and the rejected decision (found by
    # the app) go through the same checkpoint
    assert kafka["consumed"] == 3 and kafka["dead_lettered"] == 2 and kafka["committed"] == 3
    letters = read_topic(bootstrap, dlq, lambda got: len(got) >= 2, 20)
    by_reason = {letter["reason"]: letter for letter in letters}
    assert set(by_reason) == {"rejected", "schema"}
    for letter in letters:
        decode("dlq", encode(letter))
    assert "ghost-creative" in by_reason["rejected"]["detail"] and by_reason["rejected"]["offset"] == 1
