"""PCM helpers, language mapping and word error rate: the small pieces the speech path relies on."""
from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from mediagrid.speech.audio import (Resampler, SampleFifo, pcm_from_bytes, resample,
                                             strip_wav_header, trim_leading_silence)
from mediagrid.speech.errors import AudioFormatError
from mediagrid.speech.languages import apertium_pair, espeak_voice, iso639_2, pair_tags, primary
from mediagrid.speech.wer import word_error_rate


def _wav(pcm: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def test_a_wav_header_is_removed_and_read():
    pcm = np.arange(-50, 50, dtype=np.int16)
    data, fmt = strip_wav_header(_wav(pcm, 8000, channels=2))
    assert data == pcm.tobytes() and (fmt.sample_rate, fmt.channels, fmt.bits) == (8000, 2, 16)


def test_raw_pcm_is_left_alone():
    raw = np.arange(10, dtype=np.int16).tobytes()
    assert strip_wav_header(raw) == (raw, None)


def test_a_wav_that_is_not_16_bit_pcm_is_refused():
    with pytest.raises(AudioFormatError, match="16-bit PCM"):
        strip_wav_header(_wav(np.zeros(8, np.uint8), 8000, width=1))


def test_odd_byte_counts_are_refused_and_stereo_is_averaged():
    with pytest.raises(AudioFormatError, match="whole 16-bit frames"):
        pcm_from_bytes(b"\x00\x01\x02")
    stereo = np.array([100, 300, -10, -30], np.int16).tobytes()
    assert pcm_from_bytes(stereo, channels=2).tolist() == [200, -20]


def test_resampling_keeps_duration_and_pitch():
    tone = (np.sin(2 * np.pi * 440 * np.arange(22050) / 22050) * 10000).astype(np.int16)
    out = resample(tone, 22050, 16000)
    assert abs(len(out) - 16000) <= 2
    spectrum = np.abs(np.fft.rfft(out.astype(np.float32)))
    assert abs(np.argmax(spectrum) * 16000 / len(out) - 440) < 2


def test_streamed_resampling_matches_the_whole_clip():
    tone = (np.sin(np.arange(16000) / 5) * 8000).astype(np.int16)
    streamed = Resampler(16000, 48000)
    pieces = [streamed.push(tone[i:i + 480]) for i in range(0, len(tone), 480)] + [streamed.flush()]
    assert np.array_equal(np.concatenate(pieces), resample(tone, 16000, 48000))


def test_leading_silence_is_trimmed_up_to_the_first_audible_sample():
    pcm = np.array([0, 5, -100, 400, 0, 7], np.int16)
    assert trim_leading_silence(pcm).tolist() == [400, 0, 7]
    assert len(trim_leading_silence(np.zeros(10, np.int16))) == 0


def test_the_fifo_hands_samples_out_in_order_across_pieces():
    fifo = SampleFifo()
    for start in range(0, 10, 3):
        fifo.put(np.arange(start, min(start + 3, 10), dtype=np.int16))
    assert fifo.take(4).tolist() == [0, 1, 2, 3] and fifo.size == 6
    assert fifo.take(5).tolist() == [4, 5, 6, 7, 8]
    assert fifo.take(5).tolist() == [9] and fifo.size == 0 and len(fifo.take(1)) == 0


def test_language_tags_map_onto_the_engines():
    assert primary("en-US") == primary("en_GB") == primary("eng") == "en"
    assert apertium_pair("en-US", "es") == "eng-spa" and apertium_pair("en", "tlh") is None
    assert pair_tags("spa-eng") == ("es", "en")
    voices = ["en-us", "en-gb", "es", "es-419", "de"]
    assert espeak_voice("es-US", voices) == "es-419" and espeak_voice("es-ES", voices) == "es"
    assert espeak_voice("en", voices) == "en-us" and espeak_voice("en-GB", voices) == "en-gb"
    assert espeak_voice("de-AT", voices) == "de" and espeak_voice("ja-JP", voices) is None
    assert iso639_2("es-US") == "spa" and iso639_2("xx") == "und"


def test_word_error_rate_ignores_case_and_punctuation():
    assert word_error_rate(["The cat sat."], ["the cat, sat"]) == 0.0
    assert word_error_rate(["the cat sat on the mat"], ["the cat sat on mat"]) == pytest.approx(1 / 6)
    assert word_error_rate(["a b", "c d"], ["a x", "c d e"]) == pytest.approx(2 / 4)
