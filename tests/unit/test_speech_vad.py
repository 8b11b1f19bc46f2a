"""The VAD segmenter on real speech (espeak-ng, made in milliseconds) with known pauses."""
from __future__ import annotations

import numpy as np
import pytest

from mediagrid.speech.audio import SPEECH_RATE, resample, trim_leading_silence
from mediagrid.speech.espeak import synthesizer
from mediagrid.speech.vad import VadSegmenter, VadSettings, VoiceEventKind


def _speech(text: str) -> np.ndarray:
    engine = synthesizer()
    pcm = trim_leading_silence(resample(engine.synthesize(text, "en-us"), engine.sample_rate, SPEECH_RATE))
    return np.flip(trim_leading_silence(np.flip(pcm)))


@pytest.fixture(scope="module")
def program() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """0.6 s pause, sentence, 1 s pause, sentence, 0.6 s pause; with the true speech intervals."""
    pause = lambda s: np.zeros(round(s * SPEECH_RATE), np.int16)  # noqa: E731
    first, second = _speech("Good morning and welcome."), _speech("The weather is nice today.")
    parts = [pause(0.6), first, pause(1.0), second, pause(0.6)]
    t1 = 0.6 + len(first) / SPEECH_RATE
    t2 = t1 + 1.0
    return np.concatenate(parts), [(0.6, t1), (t2, t2 + len(second) / SPEECH_RATE)]


def _run(pcm: np.ndarray, settings: VadSettings, piece: int = 480) -> list:
    segmenter = VadSegmenter(settings)
    events = []
    for at in range(0, len(pcm), piece):
        events += segmenter.push(pcm[at:at + piece], at / SPEECH_RATE)
    return events + segmenter.flush()


def test_segments_start_and_end_at_the_speech(program):
    pcm, truth = program
    events = _run(pcm, VadSettings(end_ms=300))
    starts = [e.pts_s for e in events if e.kind is VoiceEventKind.START]
    ends = [e for e in events if e.kind is VoiceEventKind.END]
    assert len(starts) == len(ends) == 2
    for (start, end), seg_start, seg_end in zip(truth, starts, ends):
        assert abs(seg_start - start) <= 0.06  # within two 30 ms frames
        assert abs(seg_end.pts_s - end) <= 0.06 and not seg_end.forced


def test_segment_audio_holds_pre_roll_speech_and_the_trailing_pause(program):
    pcm, _ = program
    settings = VadSettings(end_ms=300, pre_roll_ms=150)
    events = _run(pcm, settings, piece=1000)  # pieces that do not line up with frames
    first_end = next(i for i, e in enumerate(events) if e.kind is VoiceEventKind.END)
    audio = np.concatenate([e.pcm for e in events[:first_end]])
    start, end = events[0].pts_s, events[first_end].pts_s
    expected = (end - start) + 0.15 + 0.3  # speech, pre-roll, the pause that ended it
    assert abs(len(audio) / SPEECH_RATE - expected) <= 0.031
    start_index = round((start - 0.15) * SPEECH_RATE)
    assert np.array_equal(audio[:480], pcm[start_index:start_index + 480])  # the audio is the source's


def test_long_speech_is_cut_at_the_maximum_length(program):
    pcm, truth = program
    events = _run(pcm, VadSettings(end_ms=300, max_segment_ms=1000))
    ends = [e for e in events if e.kind is VoiceEventKind.END]
    assert any(e.forced for e in ends)
    starts = [e.pts_s for e in events if e.kind is VoiceEventKind.START]
    forced = [e.pts_s for e in ends if e.forced]
    # a forced cut comes at the first frame boundary 1 s after its segment's start, and speech goes on
    assert all(any(1.0 - 1e-6 <= f - s < 1.03 for s in starts) for f in forced)
    assert all(any(0 <= s - f <= 0.1 for s in starts) for f in forced if f < truth[-1][1] - 0.2)


def test_an_open_segment_is_closed_at_the_end_of_the_stream(program):
    pcm, truth = program
    cut = round((truth[0][0] + 0.8) * SPEECH_RATE)  # the stream ends mid-sentence
    segmenter = VadSegmenter(VadSettings())
    events = segmenter.push(pcm[:cut], 0.0)
    assert segmenter.in_segment and not any(e.kind is VoiceEventKind.END for e in events)
    closing = segmenter.flush()
    assert [e.kind for e in closing] == [VoiceEventKind.END] and closing[0].pts_s <= cut / SPEECH_RATE


def test_silence_opens_no_segment():
    noise = np.random.default_rng(0).integers(-30, 31, SPEECH_RATE * 2).astype(np.int16)
    assert _run(noise, VadSettings()) == []


def test_frame_length_must_be_one_webrtcvad_accepts():
    with pytest.raises(ValueError, match="10, 20 or 30"):
        VadSegmenter(VadSettings(frame_ms=25))
