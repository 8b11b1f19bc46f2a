"""The embedded Riva-compatible server, driven by the unmodified ``riva.client`` classes.

One server per module on a free port; the engines (the speech model dominates: ~2 s) load once per process.
"""
from __future__ import annotations

import wave
from pathlib import Path

import grpc
import numpy as np
import pytest
import riva.client
from riva.client.proto import health_pb2, health_pb2_grpc
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_asr_pb2_grpc as rasr_srv

from mediagrid.runtime.clock import now_ns
from mediagrid.speech.riva_calls import RivaEndpoint, SpeechClient, call_deadline
from mediagrid.speech.riva_server import RivaServer
from mediagrid.speech.riva_calls import SpeechSettings
from mediagrid.speech.audio import SPEECH_RATE, resample
from mediagrid.speech.espeak import synthesizer
from mediagrid.speech.wer import word_error_rate

pytestmark = pytest.mark.integration

API_KEY = "test-key-1"
SENTENCES = [
    "Good morning and welcome to the evening news.",
    "The weather will be sunny and warm tomorrow.",
    "The team scored two goals in the second half.",
    "Please call me when you arrive at the station.",
    "We are going to the beach this weekend.",
    "The children are playing in the garden.",
]


@pytest.fixture(scope="module")
def server():
    with RivaServer(api_key=API_KEY) as running:
        yield running


def _auth(server: RivaServer, key: str | None = API_KEY) -> riva.client.Auth:
    return riva.client.Auth(uri=server.uri, metadata_args=[["authorization", f"Bearer {key}"]] if key else None)


def _utterance(text: str, rate: int = SPEECH_RATE) -> np.ndarray:
    """espeak-ng English with 0.2 s of silence either side, as a recording would have."""
    engine = synthesizer()
    speech = resample(engine.synthesize(text, "en-us"), engine.sample_rate, rate)
    pad = np.zeros(rate // 5, np.int16)
    return np.concatenate([pad, speech, pad])


def _streaming_config(**config) -> riva.client.StreamingRecognitionConfig:
    base = dict(encoding=riva.client.AudioEncoding.LINEAR_PCM, sample_rate_hertz=SPEECH_RATE, language_code="en-US",
                enable_automatic_punctuation=True)
    return riva.client.StreamingRecognitionConfig(config=riva.client.RecognitionConfig(**{**base, **config}),
                                                  interim_results=True)


def _finals(responses) -> str:
    return " ".join(r.alternatives[0].transcript for response in responses for r in response.results
                    if r.is_final and r.alternatives)


def test_streaming_recognition_meets_the_word_error_target(server):
    asr = riva.client.ASRService(_auth(server))
    hypotheses = []
    for text in SENTENCES:
        pcm = _utterance(text)
        chunks = [pcm[i:i + 1600].tobytes() for i in range(0, len(pcm), 1600)]  # 100 ms each
        hypotheses.append(_finals(asr.streaming_response_generator(chunks, _streaming_config())))
    assert word_error_rate(SENTENCES, hypotheses) <= 0.15, hypotheses


def test_wav_files_are_read_with_their_header(server, tmp_path: Path):
    """riva.client's file helpers send the RIFF header as audio; the header's rate (here 22.05 kHz) wins."""
    path = tmp_path / "utterance.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(_utterance(SENTENCES[5], 22050).tobytes())
    asr = riva.client.ASRService(_auth(server))
    with riva.client.AudioChunkFileIterator(str(path), 4096) as chunks:
        streamed = _finals(asr.streaming_response_generator(chunks, _streaming_config(sample_rate_hertz=0)))
    config = riva.client.RecognitionConfig(encoding=riva.client.AudioEncoding.LINEAR_PCM, language_code="en-US",
                                           enable_automatic_punctuation=True)
    offline = asr.offline_recognize(path.read_bytes(), config)
    assert word_error_rate([SENTENCES[5]] * 2, [streamed, offline.results[0].alternatives[0].transcript]) <= 0.15


def test_without_punctuation_the_transcript_is_plain_lower_case(server):
    asr = riva.client.ASRService(_auth(server))
    config = riva.client.RecognitionConfig(encoding=riva.client.AudioEncoding.LINEAR_PCM, sample_rate_hertz=SPEECH_RATE,
                                           language_code="en-US")
    text = asr.offline_recognize(_utterance(SENTENCES[0]).tobytes(), config).results[0].alternatives[0].transcript
    assert text == text.lower() and "." not in text and "morning" in text


def test_bad_audio_encoding_is_an_invalid_argument(server):
    asr = riva.client.ASRService(_auth(server))
    pcm = _utterance(SENTENCES[0]).tobytes()
    opus = riva.client.RecognitionConfig(encoding=riva.client.AudioEncoding.OGGOPUS, sample_rate_hertz=SPEECH_RATE)
    with pytest.raises(grpc.RpcError) as offline:
        asr.offline_recognize(pcm, opus)
    with pytest.raises(grpc.RpcError) as streaming:
        list(asr.streaming_response_generator([pcm], _streaming_config(encoding=riva.client.AudioEncoding.FLAC)))
    for failure, name in ((offline.value, "OGGOPUS"), (streaming.value, "FLAC")):
        assert failure.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert f"encoding {name} is not supported" in failure.details() and "LINEAR_PCM" in failure.details()


def test_odd_pcm_and_foreign_languages_are_invalid_arguments(server):
    asr = riva.client.ASRService(_auth(server))
    config = riva.client.RecognitionConfig(encoding=riva.client.AudioEncoding.LINEAR_PCM, sample_rate_hertz=SPEECH_RATE)
    with pytest.raises(grpc.RpcError, match="whole 16-bit frames"):
        asr.offline_recognize(b"\x00\x01\x02", config)
    config.language_code = "de-DE"
    with pytest.raises(grpc.RpcError, match="English only"):
        asr.offline_recognize(b"\x00\x01", config)


def test_the_first_streaming_request_must_carry_the_config(server):
    stub = rasr_srv.RivaSpeechRecognitionStub(_auth(server).channel)
    requests = iter([rasr.StreamingRecognizeRequest(audio_content=b"\x00\x00" * 160)])
    with pytest.raises(grpc.RpcError) as failure:
        list(stub.StreamingRecognize(requests, metadata=[("authorization", f"Bearer {API_KEY}")]))
    assert failure.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "streaming_config" in failure.value.details()


def test_recognition_config_names_the_model(server):
    stub = rasr_srv.RivaSpeechRecognitionStub(_auth(server).channel)
    response = stub.GetRivaSpeechRecognitionConfig(rasr.RivaSpeechRecognitionConfigRequest(),
                                                   metadata=[("authorization", f"Bearer {API_KEY}")])
    [model] = response.model_config
    assert model.model_name == "whisper-tiny.en-int8" and model.parameters["language_code"] == "en-US"


def test_translation_and_its_language_pairs(server):
    nmt = riva.client.NeuralMachineTranslationClient(_auth(server))
    response = nmt.translate(["The weather will be sunny and warm tomorrow.", ""], "", "en-US", "es")
    assert [t.language for t in response.translations] == ["es", "es"]
    assert "tiempo" in response.translations[0].text and response.translations[1].text == ""
    pairs = nmt.get_config("").languages
    assert any(list(p.src_lang) == ["en"] and list(p.tgt_lang) == ["es"] for p in pairs.values())
    with pytest.raises(grpc.RpcError) as failure:
        nmt.translate(["Hello."], "", "en", "de")
    assert failure.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "installed: en->es" in failure.value.details()


def test_synthesis_unary_and_online_give_the_same_speech(server):
    tts = riva.client.SpeechSynthesisService(_auth(server))
    text = "El tiempo será soleado y cálido mañana."
    unary = np.frombuffer(tts.synthesize(text, language_code="es-US", sample_rate_hz=16000).audio, np.int16)
    online = [np.frombuffer(r.audio, np.int16) for r in tts.synthesize_online(text, language_code="es-US",
                                                                             sample_rate_hz=16000)]
    assert len(online) > 1 and all(len(chunk) <= 1600 for chunk in online)  # streamed in 0.1 s chunks
    assert abs(sum(map(len, online)) - len(unary)) / 16000 < 0.05  # espeak-ng varies by a few ms
    assert 1.5 < len(unary) / 16000 < 4.0
    rich = tts.synthesize(text, language_code="es-US", sample_rate_hz=44100).audio
    assert abs(len(rich) / 2 / 44100 - len(unary) / 16000) < 0.01  # same speech at another rate
    both = list(tts.synthesize_online([text, "Hola."], language_code="es-US", sample_rate_hz=16000))
    assert sum(len(r.audio) for r in both) > len(unary) * 2


def test_synthesis_refuses_unknown_voices_and_encodings(server):
    tts = riva.client.SpeechSynthesisService(_auth(server))
    with pytest.raises(grpc.RpcError, match="no voice 'Klingon-1'"):
        tts.synthesize("Hola.", voice_name="Klingon-1")
    with pytest.raises(grpc.RpcError, match="encoding ALAW is not supported"):
        tts.synthesize("Hola.", language_code="es-US", encoding=riva.client.AudioEncoding.ALAW)


@pytest.mark.parametrize("key", [None, "wrong-key"], ids=["missing", "wrong"])
def test_a_missing_or_wrong_api_key_is_unauthenticated(server, key):
    auth = _auth(server, key)
    calls = [
        lambda: riva.client.NeuralMachineTranslationClient(auth).translate(["Hello."], "", "en", "es"),
        lambda: riva.client.SpeechSynthesisService(auth).synthesize("Hola.", language_code="es-US"),
        lambda: list(riva.client.SpeechSynthesisService(auth).synthesize_online("Hola.", language_code="es-US")),
        lambda: list(riva.client.ASRService(auth).streaming_response_generator([b"\x00\x00"], _streaming_config())),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as failure:
            call()
        assert failure.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "API key" in failure.value.details()


def test_health_needs_no_key(server):
    stub = health_pb2_grpc.HealthStub(_auth(server, None).channel)
    assert stub.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    status = stub.Check(health_pb2.HealthCheckRequest(service="nvidia.riva.tts.RivaSpeechSynthesis")).status
    assert status == health_pb2.HealthCheckResponse.SERVING


def test_the_items_deadline_bounds_every_call(server):
    client = SpeechClient(RivaEndpoint(server.uri, api_key=API_KEY), SpeechSettings())
    long_text = " ".join(["El tiempo será soleado y cálido mañana."] * 60)  # a few hundred ms of synthesis
    try:
        with call_deadline(now_ns() + 30_000_000), pytest.raises(grpc.RpcError) as failure:
            client.synthesize(long_text)
        assert failure.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        assert client.translate("Hello.")  # no deadline outside the block
    finally:
        client.close()


def test_mediagrid_client_round_trip(server):
    """The three calls the live translation graph makes, in its order."""
    client = SpeechClient(RivaEndpoint(server.uri, api_key=API_KEY), SpeechSettings(sample_rate_hz=48000))
    try:
        pcm = _utterance(SENTENCES[5])
        text = client.recognize(pcm[i:i + 480].tobytes() for i in range(0, len(pcm), 480))
        assert word_error_rate([SENTENCES[5]], [text]) <= 0.15
        spanish = client.translate(text)
        assert "niños" in spanish
        dub = client.synthesize(spanish)
        assert 1.0 < len(dub.pcm) / 48000 < 5.0 and dub.first_audio_ns <= now_ns()
    finally:
        client.close()
