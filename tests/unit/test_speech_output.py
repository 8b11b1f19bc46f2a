"""What the program output writes besides the MP4: WebVTT cues and caption messages for Kafka."""
from __future__ import annotations

from mediagrid.kafka.topics import decode
from mediagrid.speech.program_files import CaptionPublisher, WebVttWriter
from mediagrid.speech.timeline import Cue
from mediagrid.speech.sync_check import read_vtt


class _Producer:
    def __init__(self) -> None:
        self.sent = []

    def send(self, records, on_done=None) -> None:
        self.sent += records


def test_caption_messages_follow_the_captions_topic_schema():
    producer = _Producer()
    CaptionPublisher(producer, "mg.captions", "edge-1", "es").publish(Cue(3, 12.4, 15.1, "Y ése es el gol <b>"))
    [record] = producer.sent
    message = decode("captions", record.value)  # raises if the message breaks the schema
    assert (record.topic, record.key) == ("mg.captions", b"edge-1")
    assert (message["cue_id"], message["start_pts_s"], message["end_pts_s"]) == ("edge-1:cue3", 12.4, 15.1)
    assert (message["text"], message["language"], message["source_offset"]) == ("Y ése es el gol <b>", "es", 3)


def test_webvtt_cues_have_millisecond_times_and_escaped_text(tmp_path):
    path = tmp_path / "captions.vtt"
    vtt = WebVttWriter(path)
    vtt.write_cue(Cue(0, 0.6, 3.3125, "Hola & <adiós>"))
    vtt.write_cue(Cue(1, 3661.0, 3662.5, "Más"))
    vtt.close()
    text = path.read_text()
    assert text.startswith("WEBVTT\n\n1\n00:00:00.600 --> 00:00:03.312\nHola &amp; &lt;adiós&gt;\n")
    assert "01:01:01.000 --> 01:01:02.500" in text
    assert [(c.start_s, c.end_s) for c in read_vtt(path)] == [(0.6, 3.312), (3661.0, 3662.5)]
