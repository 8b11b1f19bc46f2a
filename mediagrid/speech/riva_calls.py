"""mediagrid's side of Riva: the unmodified ``riva.client`` service classes, with a deadline on every call.

``riva.client`` takes no timeouts, so each channel gets an interceptor that gives every call the deadline
of the work item it serves (:func:`call_deadline`, per thread): a slow server then costs the item its
deadline and no more, and the server sees the deadline too. Production and CI differ only in the endpoint:
NVIDIA Riva or its hosted API (TLS, API key, per-service ``function-id`` metadata) or the embedded server.
"""
from __future__ import annotations

import collections
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import riva.client

from mediagrid.runtime.clock import NS_PER_S, now_ns
from mediagrid.speech.audio import SPEECH_RATE

_local = threading.local()
_MIN_TIMEOUT_S = 1e-6  # an expired deadline still makes a call, which gRPC fails at once


@contextmanager
def call_deadline(deadline_ns: int) -> Iterator[None]:
    """Riva calls made by this thread inside the block must finish by ``deadline_ns`` (monotonic)."""
    previous = getattr(_local, "deadline_ns", None)
    _local.deadline_ns = deadline_ns
    try:
        yield
    finally:
        _local.deadline_ns = previous


class _CallDetails(collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials",
                                                             "wait_for_ready", "compression")),
                   grpc.ClientCallDetails):
    pass


class _DeadlineInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                           grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    @staticmethod
    def _with_deadline(details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        deadline_ns = getattr(_local, "deadline_ns", None)
        if deadline_ns is None:
            return details
        timeout = max((deadline_ns - now_ns()) / NS_PER_S, _MIN_TIMEOUT_S)
        if details.timeout is not None:
            timeout = min(timeout, details.timeout)
        return _CallDetails(details.method, timeout, details.metadata, details.credentials,
                            getattr(details, "wait_for_ready", None), getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):  # noqa: ANN001, ANN201
        return continuation(self._with_deadline(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # noqa: ANN001, ANN201
        return continuation(self._with_deadline(details), request)

    def intercept_stream_unary(self, continuation, details, requests):  # noqa: ANN001, ANN201
        return continuation(self._with_deadline(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):  # noqa: ANN001, ANN201
        return continuation(self._with_deadline(details), requests)


@dataclass(frozen=True)
class RivaEndpoint:
    """Where Riva is and how to authenticate; ``metadata`` goes with every call (keys lower case)."""

    uri: str
    use_ssl: bool = False
    ssl_root_cert: Path | None = None
    ssl_client_cert: Path | None = None
    ssl_client_key: Path | None = None
    api_key: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def auth(self, extra: Mapping[str, str] | None = None) -> riva.client.Auth:
        """A ``riva.client.Auth`` whose channel puts each call under the caller's :func:`call_deadline`."""
        pairs = dict(self.metadata)
        if self.api_key:
            pairs["authorization"] = f"Bearer {self.api_key}"
        pairs.update(extra or {})
        auth = riva.client.Auth(ssl_root_cert=self.ssl_root_cert, use_ssl=self.use_ssl, uri=self.uri,
                                metadata_args=[[k, v] for k, v in pairs.items()] or None,
                                ssl_client_cert=self.ssl_client_cert, ssl_client_key=self.ssl_client_key)
        auth.channel = grpc.intercept_channel(auth.channel, _DeadlineInterceptor())
        return auth


@dataclass(frozen=True)
class SpeechSettings:
    """The three services' parameters (the ``riva.asr/nmt/tts`` config sections)."""

    asr_language: str = "en-US"
    asr_model: str = ""
    source_language: str = "en"
    target_language: str = "es"
    nmt_model: str = ""
    tts_language: str = "es-US"
    tts_voice: str = ""
    sample_rate_hz: int = 48_000
    metadata: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # service -> extra metadata


@dataclass(frozen=True, slots=True)
class Synthesis:
    pcm: np.ndarray  # mono int16 at the settings' sample rate
    first_audio_ns: int  # when the first chunk arrived


class SpeechClient:
    """ASR, NMT and TTS through ``riva.client.ASRService``, ``NeuralMachineTranslationClient`` and
    ``SpeechSynthesisService``; methods raise ``grpc.RpcError`` as those do. Thread-safe."""

    def __init__(self, endpoint: RivaEndpoint, settings: SpeechSettings) -> None:
        self.endpoint, self.settings = endpoint, settings
        self._auths = [endpoint.auth(settings.metadata.get(name)) for name in ("asr", "nmt", "tts")]
        self.asr = riva.client.ASRService(self._auths[0])
        self.nmt = riva.client.NeuralMachineTranslationClient(self._auths[1])
        self.tts = riva.client.SpeechSynthesisService(self._auths[2])
        self._streaming_config = riva.client.StreamingRecognitionConfig(
            config=riva.client.RecognitionConfig(
                encoding=riva.client.AudioEncoding.LINEAR_PCM, sample_rate_hertz=SPEECH_RATE,
                language_code=settings.asr_language, max_alternatives=1, enable_automatic_punctuation=True,
                audio_channel_count=1, model=settings.asr_model),
            interim_results=False)

    def recognize(self, chunks: Iterable[bytes]) -> str:
        """The final transcript of 16 kHz mono LINEAR_PCM ``chunks``, streamed as they come."""
        finals = []
        for response in self.asr.streaming_response_generator(chunks, self._streaming_config):
            for result in response.results:
                if result.is_final and result.alternatives:
                    finals.append(result.alternatives[0].transcript.strip())
        return " ".join(t for t in finals if t)

    def translate(self, text: str) -> str:
        s = self.settings
        response = self.nmt.translate([text], s.nmt_model, s.source_language, s.target_language)
        return response.translations[0].text if response.translations else ""

    def synthesize(self, text: str) -> Synthesis:
        """Streams the audio of ``text`` (plain or SSML) with ``SynthesizeOnline``."""
        s = self.settings
        chunks, first = [], None
        for response in self.tts.synthesize_online(text, voice_name=s.tts_voice or None, language_code=s.tts_language,
                                                   sample_rate_hz=s.sample_rate_hz):
            if first is None:
                first = now_ns()
            chunks.append(np.frombuffer(response.audio, dtype="<i2"))
        pcm = np.concatenate(chunks).astype(np.int16, copy=False) if chunks else np.zeros(0, np.int16)
        return Synthesis(pcm, first if first is not None else now_ns())

    def close(self) -> None:
        for auth in self._auths:
            auth.channel.close()


def grpc_failure(exc: BaseException) -> str:
    """``CODE: details`` of a failed Riva call, for records and logs."""
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"
