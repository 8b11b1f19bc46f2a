"""HLS media and master playlists, read back with the m3u8 library as a player would read them."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import m3u8
import pytest

from mediagrid.broadcast.files import write_atomically
from mediagrid.broadcast.playlist import (
    AdBreakError,
    MasterPlaylist,
    MediaPlaylist,
    Rendition,
    Segment,
    Variant,
)

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
OUT_CUE, IN_CUE = "0xFC302500", "0xFC30AA01"  # as scte35.Cue.hex gives them


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def add(playlist: MediaPlaylist, index: int, duration_s: float = 2.0, start_s: float | None = None,
        **kwargs) -> None:
    """Segment ``index``, its file written first as the segmenter does; 2 s segments from T0 unless told."""
    (playlist.directory / f"seg{index}.ts").write_bytes(b"ts")
    start = at(2.0 * index if start_s is None else start_s)
    playlist.add(Segment(f"seg{index}.ts", duration_s, start, **kwargs))


def read(playlist: MediaPlaylist) -> m3u8.M3U8:
    return m3u8.loads(playlist.path.read_text())


def segment(parsed: m3u8.M3U8, uri: str):
    return next(s for s in parsed.segments if s.uri == uri)


def test_window_slides_and_media_sequence_counts_removed_segments(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=3)
    for i in range(5):
        add(playlist, i)
    parsed = read(playlist)
    assert [s.uri for s in parsed.segments] == ["seg2.ts", "seg3.ts", "seg4.ts"]
    assert parsed.media_sequence == 2
    assert (parsed.version, parsed.is_independent_segments, parsed.is_endlist) == (3, True, False)
    assert [s.program_date_time for s in parsed.segments] == [at(4), at(6), at(8)]
    assert "#EXT-X-PROGRAM-DATE-TIME:2025-03-01T12:00:04.000Z" in playlist.path.read_text()


def test_expired_segment_files_are_deleted_only_after_keep_after_window_more_segments(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=2, keep_after_window=2)
    for i in range(4):
        add(playlist, i)
    assert (tmp_path / "seg0.ts").exists() and (tmp_path / "seg1.ts").exists()  # out of the window, kept
    add(playlist, 4)
    assert not (tmp_path / "seg0.ts").exists()
    assert (tmp_path / "seg1.ts").exists()
    add(playlist, 5)
    assert sorted(p.name for p in tmp_path.glob("*.ts")) == ["seg2.ts", "seg3.ts", "seg4.ts", "seg5.ts"]


def test_target_duration_is_the_ceiling_of_the_longest_segment_ever_and_never_decreases(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=2)
    add(playlist, 0, duration_s=2.0000001)  # float noise, written as 2.000
    assert read(playlist).target_duration == 2
    add(playlist, 1, duration_s=5.2, start_s=2.0)
    assert read(playlist).target_duration == 6
    for i in range(2, 5):
        add(playlist, i, start_s=7.2 + 2 * (i - 2))
    parsed = read(playlist)
    assert "seg1.ts" not in [s.uri for s in parsed.segments]
    assert parsed.target_duration == 6


def test_discontinuity_sequence_counts_discontinuities_that_left_the_window(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=2)
    add(playlist, 0)
    add(playlist, 1, discontinuity=True)
    add(playlist, 2)
    parsed = read(playlist)
    assert parsed.discontinuity_sequence == 0
    assert [s.discontinuity for s in parsed.segments] == [True, False]
    add(playlist, 3)
    assert read(playlist).discontinuity_sequence == 1


def test_a_break_from_one_segment_to_three_segments_later(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=10)
    playlist.break_started("splice-7", at(3.5), planned_duration_s=6.0, scte35_hex=OUT_CUE)  # inside seg1 (2-4 s)
    playlist.break_started("splice-7", at(3.5), planned_duration_s=6.0, scte35_hex=OUT_CUE)  # SCTE-35 repeats cues
    for i in range(4):
        add(playlist, i)
    playlist.break_ended("splice-7", at(9.25), scte35_hex=IN_CUE)  # inside seg4 (8-10 s), told before it is added
    for i in range(4, 6):
        add(playlist, i)
    parsed = read(playlist)

    markers = [(s.cue_out_start, s.cue_out, s.cue_in) for s in parsed.segments]
    assert markers == [(False, False, False), (True, True, False), (False, True, False), (False, True, False),
                       (False, False, True), (False, False, False)]
    assert segment(parsed, "seg1.ts").scte35_duration == "6.000"
    assert [(segment(parsed, u).scte35_elapsedtime, segment(parsed, u).scte35_duration)
            for u in ("seg2.ts", "seg3.ts")] == [("0.500", "6.000"), ("2.500", "6.000")]

    [daterange] = segment(parsed, "seg1.ts").dateranges
    assert (daterange.id, daterange.start_date) == ("splice-7", "2025-03-01T12:00:03.500Z")
    assert (daterange.planned_duration, daterange.duration) == (6.0, 5.75)
    assert (daterange.scte35_out, daterange.scte35_in) == ("0xFC302500", "0xFC30AA01")
    assert sum(len(s.dateranges) for s in parsed.segments) == 1


def test_a_break_whose_return_is_unknown_yet_gains_its_end_without_changing_what_was_written(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=10)
    add(playlist, 0)
    playlist.break_started("open", at(2.0), scte35_hex=OUT_CUE)  # no planned duration: a manual break
    add(playlist, 1)
    add(playlist, 2)
    text = playlist.path.read_text()
    parsed = read(playlist)
    assert "#EXT-X-CUE-OUT\n" in text and "#EXT-X-CUE-OUT-CONT:ElapsedTime=2.000\n" in text
    assert segment(parsed, "seg1.ts").cue_out_start and segment(parsed, "seg2.ts").cue_out
    [before] = segment(parsed, "seg1.ts").dateranges
    assert (before.start_date, before.duration, before.scte35_in) == ("2025-03-01T12:00:02.000Z", None, None)

    playlist.break_ended("open", at(6.0))
    add(playlist, 3)
    parsed = read(playlist)
    assert segment(parsed, "seg3.ts").cue_in
    [after] = segment(parsed, "seg1.ts").dateranges
    assert (after.id, after.start_date, after.scte35_out) == (before.id, before.start_date, before.scte35_out)
    assert (after.duration, after.scte35_in) == (4.0, None)
    # everything written before stays as it was; the DATERANGE only gains DURATION at its end
    [daterange_line] = [line for line in text.splitlines() if line.startswith("#EXT-X-DATERANGE:")]
    assert playlist.path.read_text().startswith(text.replace(daterange_line, daterange_line + ",DURATION=4.000"))


def test_a_daterange_stays_while_any_segment_of_its_break_is_listed(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=2)
    playlist.break_started("b", at(2.0), planned_duration_s=4.0)
    playlist.break_ended("b", at(6.0))
    for i in range(5):
        add(playlist, i)  # CUE-OUT on seg1, CUE-IN on seg3
    parsed = read(playlist)
    assert [s.uri for s in parsed.segments] == ["seg3.ts", "seg4.ts"]
    assert [d.id for d in segment(parsed, "seg3.ts").dateranges] == ["b"]  # leads the window now
    assert segment(parsed, "seg3.ts").cue_in
    add(playlist, 5)
    assert "EXT-X-DATERANGE" not in playlist.path.read_text()


def test_a_segment_cut_at_the_splice_frame_carries_the_cue_despite_float_noise(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=5)
    playlist.break_started("a", at(1.0))
    playlist.break_ended("a", at(4.0))
    playlist.break_started("b", at(5.0), planned_duration_s=30.0)  # back to back: a ends and b starts in seg2
    add(playlist, 0)
    add(playlist, 1, duration_s=2.000001)  # ends 1 µs past 4 s, where seg2 starts
    add(playlist, 2)
    add(playlist, 3)
    parsed = read(playlist)
    assert segment(parsed, "seg0.ts").cue_out_start
    assert not segment(parsed, "seg1.ts").cue_in
    assert segment(parsed, "seg2.ts").cue_in and segment(parsed, "seg2.ts").cue_out_start
    assert segment(parsed, "seg3.ts").scte35_elapsedtime == "1.000"


def test_break_calls_that_contradict_the_signalled_breaks_raise(tmp_path):
    playlist = MediaPlaylist(tmp_path)
    with pytest.raises(AdBreakError, match="'lost' ends at .* never started"):
        playlist.break_ended("lost", at(1))
    playlist.break_started("first", at(2))
    with pytest.raises(AdBreakError, match="'second' starts .* 'first' is still open"):
        playlist.break_started("second", at(3))
    playlist.break_ended("first", at(10))
    with pytest.raises(AdBreakError, match="before break 'first' ends"):
        playlist.break_started("second", at(9))
    with pytest.raises(ValueError, match="timezone-aware"):
        playlist.break_started("third", datetime(2025, 3, 1, 12))
    with pytest.raises(ValueError, match="'third': scte35_hex must be a 0x-prefixed hexadecimal sequence"):
        playlist.break_started("third", at(20), scte35_hex="FC30")


def test_playlists_are_replaced_without_leaving_temporary_files(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=2, keep_after_window=0)
    for i in range(4):
        add(playlist, i)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.m3u8", "seg2.ts", "seg3.ts"]
    with pytest.raises(IsADirectoryError):
        write_atomically(tmp_path, "never half-written")  # os.replace onto a directory fails
    assert not [p for p in tmp_path.parent.iterdir() if p.name.endswith(".tmp")]


def test_close_writes_endlist_and_leaves_the_files(tmp_path):
    playlist = MediaPlaylist(tmp_path, window=2, keep_after_window=2)
    for i in range(3):
        add(playlist, i)
    playlist.close()
    playlist.close()
    parsed = read(playlist)
    assert parsed.is_endlist
    assert [s.uri for s in parsed.segments] == ["seg1.ts", "seg2.ts"]
    assert sorted(p.name for p in tmp_path.glob("*.ts")) == ["seg0.ts", "seg1.ts", "seg2.ts"]
    with pytest.raises(ValueError, match="closed"):
        add(playlist, 3)


def test_master_playlist_lists_variants_with_their_audio_and_subtitle_renditions(tmp_path):
    master = MasterPlaylist(
        variants=[Variant("video/index.m3u8", 5_200_000, "avc1.640028,mp4a.40.2", (1920, 1080), 50.0,
                          audio="aud", subtitles="subs")],
        renditions=[Rendition("AUDIO", "aud", "English", "audio/en.m3u8", language="en", default=True),
                    Rendition("AUDIO", "aud", "Español (dub)", "audio/es.m3u8", language="es"),
                    Rendition("SUBTITLES", "subs", "Español", "subs/es.m3u8", language="es", autoselect=False)])
    master.write(tmp_path / "master.m3u8")
    parsed = m3u8.loads((tmp_path / "master.m3u8").read_text())
    assert parsed.is_variant
    [variant] = parsed.playlists
    info = variant.stream_info
    assert (variant.uri, info.bandwidth, info.resolution, info.frame_rate) == ("video/index.m3u8", 5_200_000,
                                                                               (1920, 1080), 50.0)
    assert (info.codecs, info.audio, info.subtitles) == ("avc1.640028,mp4a.40.2", "aud", "subs")
    assert [(m.type, m.group_id, m.name, m.language, m.default, m.autoselect, m.uri) for m in parsed.media] == [
        ("AUDIO", "aud", "English", "en", "YES", "YES", "audio/en.m3u8"),
        ("AUDIO", "aud", "Español (dub)", "es", "NO", "YES", "audio/es.m3u8"),
        ("SUBTITLES", "subs", "Español", "es", "NO", "NO", "subs/es.m3u8")]
    assert [m.uri for m in variant.media] == ["audio/en.m3u8", "audio/es.m3u8", "subs/es.m3u8"]


def test_master_playlist_refuses_a_variant_naming_a_group_without_renditions():
    with pytest.raises(ValueError, match="'video.m3u8' names SUBTITLES group 'subs', which has no rendition"):
        MasterPlaylist([Variant("video.m3u8", 1_000_000, "avc1.640028", (1280, 720), 25.0, subtitles="subs")])
