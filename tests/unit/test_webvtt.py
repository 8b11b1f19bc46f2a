"""WebVTT segments of a live subtitle rendition: the MPEG-TS timestamp map, cue times and escaped text."""
from __future__ import annotations

import pytest

from mediagrid.broadcast.webvtt import write_vtt_segment


def test_header_maps_local_zero_to_the_ts_offset_in_90_khz_ticks(tmp_path):
    path = tmp_path / "sub0.vtt"
    write_vtt_segment(path, [], mpegts_offset_s=10)
    assert path.read_text() == "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000\n"  # valid with no cue
    write_vtt_segment(path, [], mpegts_offset_s=2**33 / 90_000 + 1.4)  # the 33-bit PTS has wrapped
    assert path.read_text().splitlines()[1] == "X-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000"
    assert [p.name for p in tmp_path.iterdir()] == ["sub0.vtt"]  # no temporary file left behind


def test_cues_are_timed_to_the_millisecond_in_start_order_with_escaped_text(tmp_path):
    path = tmp_path / "sub7.vtt"
    write_vtt_segment(path, [(3661.0, 3662.5, "Más"), (0.6, 3.3125, "Hola & <adiós> -->\n\nsegunda línea")])
    assert path.read_text() == (
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n"
        "00:00:00.600 --> 00:00:03.312\nHola &amp; &lt;adiós&gt; --&gt;\nsegunda línea\n\n"
        "01:01:01.000 --> 01:01:02.500\nMás\n")


@pytest.mark.parametrize("start_s, end_s", [(2.0, 2.0), (2.0, 2.0004), (-0.5, 1.0)])
def test_a_cue_that_does_not_run_forward_from_zero_is_refused(tmp_path, start_s, end_s):
    with pytest.raises(ValueError, match=f"cue 'x' runs from {start_s} s to {end_s} s"):
        write_vtt_segment(tmp_path / "bad.vtt", [(start_s, end_s, "x")])
    assert not (tmp_path / "bad.vtt").exists()
