"""The embedded Riva-compatible server: a grpcio server with Riva's own servicer classes and CPU engines.

Started in-process by tests (``RivaServer(port=0)``: a free port) and by the live translation app when its
config says ``riva.uri: embedded``, or in the foreground by ``mediagrid speech-server``.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import grpc
from riva.client.proto import health_pb2_grpc
from riva.client.proto import riva_asr_pb2_grpc as rasr_srv
from riva.client.proto import riva_nmt_pb2_grpc as rnmt_srv
from riva.client.proto import riva_tts_pb2_grpc as rtts_srv

from mediagrid.runtime.foreground import serve_until_signal
from mediagrid.speech.riva_server.asr import AsrServicer
from mediagrid.speech.riva_server.auth import ApiKeyInterceptor
from mediagrid.speech.riva_server.engines import SpeechEngines, shared_engines
from mediagrid.speech.riva_server.health import HealthServicer
from mediagrid.speech.riva_server.nmt import NmtServicer
from mediagrid.speech.riva_server.tts import TtsServicer
from mediagrid.speech.errors import SpeechServiceError

#: environment variable that `mediagrid speech-server` reads its API key from (none: no key required)
API_KEY_ENV = "MEDIAGRID_RIVA_API_KEY"
DEFAULT_PORT = 50051
# Each open stream holds one thread for its whole life, so this caps concurrent streams.
_MAX_WORKERS = 16
_MAX_MESSAGE_BYTES = 64 << 20


class RivaServer:
    """``with RivaServer(port=0, api_key="k") as server: ... server.uri``."""

    def __init__(self, engines: SpeechEngines | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 api_key: str | None = None, max_workers: int = _MAX_WORKERS) -> None:
        self.host, self.port = host, port
        self.api_key = api_key
        self._engines = engines
        self._max_workers = max_workers
        self._server: grpc.Server | None = None
        self._health = HealthServicer()

    @property
    def uri(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> RivaServer:
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES)]
        interceptors = [ApiKeyInterceptor(self.api_key)] if self.api_key else []
        server = grpc.server(ThreadPoolExecutor(self._max_workers, thread_name_prefix="riva"),
                             interceptors=interceptors, options=options, maximum_concurrent_rpcs=self._max_workers)
        try:  # bind first: a taken port should fail at once, not after the engines have loaded
            port = server.add_insecure_port(f"{self.host}:{self.port}")
        except RuntimeError as exc:
            raise SpeechServiceError(f"speech server: cannot listen on {self.uri}: {exc}") from exc
        if port == 0:
            raise SpeechServiceError(f"speech server: cannot listen on {self.uri} (address in use?)")
        engines = self._engines or shared_engines()
        rasr_srv.add_RivaSpeechRecognitionServicer_to_server(AsrServicer(engines), server)
        rnmt_srv.add_RivaTranslationServicer_to_server(NmtServicer(engines), server)
        rtts_srv.add_RivaSpeechSynthesisServicer_to_server(TtsServicer(engines), server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        self.port = port
        server.start()
        self._server = server
        return self

    def stop(self, grace_s: float = 1.0) -> None:
        if self._server is not None:
            self._health.stop()
            self._server.stop(grace_s).wait()
            self._server = None

    def __enter__(self) -> RivaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_foreground(port: int | None = None, host: str = "127.0.0.1") -> int:
    """Serve until SIGINT/SIGTERM, for ``mediagrid speech-server [--port P]``; call from the main thread.

    The API key, if any, comes from the environment (``MEDIAGRID_RIVA_API_KEY``), never from the command
    line, where other users could read it.
    """
    server = RivaServer(host=host, port=DEFAULT_PORT if port is None else port,
                        api_key=os.environ.get(API_KEY_ENV) or None)

    def start() -> str:
        server.start()
        auth = f"API key required (from ${API_KEY_ENV})" if server.api_key else "no API key required"
        return (f"speech server (Riva API: ASR whisper tiny.en, NMT Apertium, TTS espeak-ng) ready on "
                f"{server.uri}, {auth}")

    def stop() -> str:
        server.stop()
        return f"speech server on {server.uri} stopped"

    return serve_until_signal(start, stop)
