"""The delayed program: each segment decided once at its due time, dubs and cues placed at its start pts."""
from __future__ import annotations

import numpy as np
import pytest

from mediagrid.speech.items import AudioChunk, ProgramChunk, ProgramPlan, Segment
from mediagrid.speech.timeline import Mode, ProgramTimeline

RATE = 1000  # samples per second: one sample per millisecond keeps the arithmetic readable
S = 1_000_000_000
ORIGINAL, DUB = 7, 5
PLAN = ProgramPlan(delay_ns=2 * S, budget_ns=1 * S, lead_s=0.03)


def _segment(index: int, start: float, end: float, dub_s: float = 0.3, **fields) -> Segment:
    segment = Segment("s", index, start, 0, end_pts_s=end, transcript="hello", translation="hola",
                      dub=np.full(round(dub_s * RATE), DUB, np.int16), **fields)
    segment.deadline = PLAN.deadline(segment)
    return segment


def _timeline(seconds: float, segments: list[Segment], *, end: bool = True) -> ProgramTimeline:
    timeline = ProgramTimeline(RATE, PLAN, min_cue_s=0.5)
    step = RATE // 10
    for i in range(round(seconds * 10)):
        opened = [s for s in segments if i / 10 <= s.start_pts_s < (i + 1) / 10]
        last = end and i == round(seconds * 10) - 1
        chunk = AudioChunk(i / 10, np.zeros(0, np.int16), np.full(step, ORIGINAL, np.int16), 0, last)
        timeline.add(ProgramChunk(chunk, opened, horizon_s=(i + 1) / 10))
    return timeline


def test_a_dub_in_time_replaces_the_speech_at_its_exact_start():
    segment = _segment(0, 0.5, 1.0)
    timeline = _timeline(2.0, [segment])
    timeline.caption_arrived(segment, int(1.2 * S))
    timeline.dub_arrived(segment, int(1.3 * S))
    first, audio, placements = timeline.release(None, int(3 * S))
    assert first == 0 and len(audio) == 2000
    [placement] = placements
    assert placement.mode is Mode.DUBBED and placement.ready_ns == int(1.3 * S)
    assert np.all(audio[:470] == ORIGINAL)
    assert np.all(audio[470:500] == 0)  # the lead before the dub is muted: no onset of the source leaks
    assert np.all(audio[500:800] == DUB)  # the dub starts on the segment's start sample
    assert np.all(audio[800:1000] == 0)  # the rest of the source speech stays muted
    assert np.all(audio[1000:] == ORIGINAL)
    assert (placement.cue.start_s, placement.cue.end_s, placement.cue.text) == (0.5, 1.0, "hola")


def test_a_late_dub_degrades_to_captions_and_keeps_the_original():
    segment = _segment(0, 0.5, 1.0)
    timeline = _timeline(2.0, [segment])
    due = PLAN.due_ns(0, 0.5)
    timeline.caption_arrived(segment, due - 1)
    timeline.dub_arrived(segment, due + 1)
    _, audio, [placement] = timeline.release(None, int(3 * S))
    assert placement.mode is Mode.CAPTIONS_ONLY and placement.cue.start_s == 0.5
    assert np.all(audio == ORIGINAL)


def test_nothing_in_time_passes_the_original_through_without_a_cue():
    segment = _segment(0, 0.5, 1.0)
    timeline = _timeline(2.0, [segment])
    _, audio, [placement] = timeline.release(None, int(3 * S))
    assert placement.mode is Mode.PASSTHROUGH and placement.cue is None
    assert np.all(audio == ORIGINAL)


def test_a_failed_stage_passes_through_even_if_its_message_came():
    segment = _segment(0, 0.5, 1.0, failure="translate: INTERNAL: boom")
    segment.translation = ""
    timeline = _timeline(2.0, [segment])
    timeline.caption_arrived(segment, int(1.2 * S))
    _, _, [placement] = timeline.release(None, int(3 * S))
    assert placement.mode is Mode.PASSTHROUGH


def test_no_words_is_its_own_mode():
    segment = _segment(0, 0.5, 1.0)
    segment.transcript = segment.translation = ""
    timeline = _timeline(2.0, [segment])
    timeline.caption_arrived(segment, int(1.2 * S))
    _, _, [placement] = timeline.release(None, int(3 * S))
    assert placement.mode is Mode.NO_SPEECH and placement.cue is None


def test_release_follows_the_program_delay():
    segment = _segment(0, 0.5, 1.0)
    timeline = _timeline(2.0, [segment], end=False)
    timeline.dub_arrived(segment, int(1.3 * S))
    first, audio, placements = timeline.release(int(2.3 * S), int(2.3 * S))
    assert (first, len(audio), placements) == (0, 300, [])  # 0.3 s of program is due after the 2 s delay
    first, audio, placements = timeline.release(int(2.6 * S), int(2.6 * S))
    assert (first, len(audio)) == (300, 300) and [p.mode for p in placements] == [Mode.DUBBED]
    assert np.all(audio[200:] == DUB)  # samples 500..599


def test_a_dub_that_runs_into_the_next_segment_is_cut_before_it():
    first_segment, second = _segment(0, 0.5, 1.0, dub_s=1.2), _segment(1, 1.3, 1.6, dub_s=0.2)
    timeline = _timeline(2.5, [first_segment, second])
    for segment in (first_segment, second):
        timeline.caption_arrived(segment, int(1.0 * S))
        timeline.dub_arrived(segment, int(1.0 * S))
    _, audio, placements = timeline.release(None, int(4 * S))
    assert [p.mode for p in placements] == [Mode.DUBBED, Mode.DUBBED]
    assert np.all(audio[500:1270] == DUB) and np.all(audio[1270:1300] == 0)  # cut at the next lead
    assert np.all(audio[1300:1500] == DUB)
    assert placements[0].truncated_ms == pytest.approx(1200 - 770)
    assert placements[0].cue.end_s == pytest.approx(1.27)  # the cue ends with its (cut) dub
    assert placements[1].cue.start_s == pytest.approx(1.3)


def test_a_cue_never_reaches_past_the_horizon_of_known_segments():
    segment = _segment(0, 0.5, 0.6, dub_s=0.05)
    timeline = _timeline(0.8, [segment], end=False)  # nothing after 0.8 s has been analysed yet
    timeline.dub_arrived(segment, int(0.7 * S))
    _, _, [placement] = timeline.release(int(2.8 * S), int(2.8 * S))
    assert placement.cue.end_s == pytest.approx(0.8)  # min_cue (1.0 s) would reach an unknown segment


def test_at_the_end_of_the_input_a_cue_ends_with_the_program():
    segment = _segment(0, 1.6, 1.8, dub_s=0.3)
    timeline = _timeline(2.0, [segment])
    timeline.dub_arrived(segment, int(2.0 * S))
    _, audio, [placement] = timeline.release(None, int(3 * S))
    assert len(audio) == 2000 and placement.cue.end_s == pytest.approx(2.0)  # min_cue would reach 2.1 s
