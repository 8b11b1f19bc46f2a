"""The test broadcaster's clip: its cues survive the remux the broadcaster does (ffmpeg -c copy to MPEG-TS, where
they become a private data stream) and come back through PyAV at the splice times asked for."""
from __future__ import annotations

import subprocess

import av
import pytest

from mediagrid.broadcast.scte35 import Cue, InvalidCue, parse_section
from mediagrid.broadcast.test_feed import (
    break_at,
    corrupt_at,
    main,
    make_feed,
    return_at,
)
from mediagrid.errors import UsageError

pytestmark = pytest.mark.integration


def _demux(path) -> tuple[list, list[bytes]]:
    """(video packets with a PTS, data stream payloads) of a transport stream."""
    with av.open(str(path)) as container:
        video, data = container.streams.video[0], container.streams.data[0]
        packets = [(p.stream.type, p.pts, p.is_keyframe, bytes(p)) for p in container.demux(video, data) if p.size]
    return [p for p in packets if p[0] == "video"], [p[3] for p in packets if p[0] == "data"]


def test_cues_survive_the_broadcasters_remux(tmp_path):
    feed = make_feed(tmp_path / "feed.ts", seconds=4, width=320, height=180, fps=30,
                     cues=[break_at(1, 2.0, 1.5), corrupt_at(1.0), break_at(2, 3.5), return_at(2, 3.9, lead_s=1.0)])
    assert [cue.insert_pts for cue in feed.cues] == [feed.pts_at(s) for s in (0, 1, 2, 3)]
    remuxed = tmp_path / "remuxed.ts"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(feed.path), "-map", "0", "-c", "copy",
                    "-f", "mpegts", str(remuxed)], check=True, timeout=60)

    video, sections = _demux(remuxed)
    assert len(video) == 120 and min(p[1] for p in video) == feed.first_pts
    assert sorted(p[1] for p in video if p[2]) == [feed.pts_at(s) for s in (0, 1, 2, 3)]  # an IDR a second
    assert sections == [cue.section for cue in feed.cues]
    first, corrupt, second, second_back = sections
    assert parse_section(first) == Cue("out", 1, feed.pts_at(2.0), 1.5, True, "splice_insert", first)
    with pytest.raises(InvalidCue, match="splice_command_length"):
        parse_section(corrupt)
    assert parse_section(second) == Cue("out", 2, feed.pts_at(3.5), None, False, "splice_insert", second)
    assert parse_section(second_back) == Cue("in", 2, feed.pts_at(3.9), None, False, "splice_insert", second_back)


def test_cues_on_one_keyframe_or_past_the_last_are_refused_before_encoding(tmp_path):
    with pytest.raises(UsageError, match="lands on the keyframe at 1 s like cue 0"):
        make_feed(tmp_path / "a.ts", seconds=4, width=320, height=180, fps=30,
                  cues=[break_at(1, 3.0), break_at(2, 2.5)])
    with pytest.raises(UsageError, match="the clip has keyframes at 0..1 s"):
        make_feed(tmp_path / "b.ts", seconds=2, width=320, height=180, fps=30, cues=[break_at(1, 4.0)])
    assert not list(tmp_path.iterdir())


def test_the_command_line_writes_a_feed_with_its_breaks(tmp_path, capsys):
    out = tmp_path / "cli.ts"
    main([str(out), "--seconds", "2", "--size", "160x90", "--fps", "10", "--break", "1.5:0.5", "--no-audio"])
    printed = capsys.readouterr().out
    _, sections = _demux(out)
    cue = parse_section(sections[0])
    assert (cue.kind, cue.event_id, cue.duration_s, cue.auto_return) == ("out", 1, 0.5, True)
    assert f"break scte35-1: PTS {cue.splice_pts} for 0.5 s" in printed
    with av.open(str(out)) as container:
        assert not container.streams.audio and container.streams.video[0].codec_context.width == 160
