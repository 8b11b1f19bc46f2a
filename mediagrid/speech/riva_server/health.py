"""``grpc.health.v1.Health`` for the embedded server (``riva.client.health`` is empty; the stubs are in
``riva.client.proto.health_pb2_grpc``)."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
from riva.client.proto import health_pb2, health_pb2_grpc

SERVICES = ("", "nvidia.riva.asr.RivaSpeechRecognition", "nvidia.riva.nmt.RivaTranslation",
            "nvidia.riva.tts.RivaSpeechSynthesis")


class HealthServicer(health_pb2_grpc.HealthServicer):
    def __init__(self) -> None:
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ends open Watch streams so that the server can stop without waiting for them."""
        self._stopping.set()

    def Check(self, request: health_pb2.HealthCheckRequest,
              context: grpc.ServicerContext) -> health_pb2.HealthCheckResponse:
        if request.service not in SERVICES:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    def Watch(self, request: health_pb2.HealthCheckRequest,
              context: grpc.ServicerContext) -> Iterator[health_pb2.HealthCheckResponse]:
        serving = request.service in SERVICES
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
        yield health_pb2.HealthCheckResponse(status=status)
        ended = threading.Event()
        context.add_callback(ended.set)
        while not ended.wait(0.5) and not self._stopping.is_set():
            pass
