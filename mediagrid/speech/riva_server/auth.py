"""API-key check on every call, as Riva deployments behind a gateway (and NVIDIA's hosted API) expect it.

A client sends ``authorization: Bearer KEY`` as call metadata (``riva.client.Auth(metadata_args=...)``;
the key must be lower case, or grpc refuses the header on the client side). A wrong or missing key ends the
call with UNAUTHENTICATED before any engine runs. The health service stays open for probes.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import grpc

HEALTH_PREFIX = "/grpc.health.v1.Health/"


class ApiKeyInterceptor(grpc.ServerInterceptor):
    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise ValueError("an API key must not be empty")
        self._expected = f"Bearer {api_key}".encode()

    def intercept_service(self, continuation: Callable[[Any], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(HEALTH_PREFIX):
            return handler
        sent = dict(handler_call_details.invocation_metadata or ()).get("authorization", "")
        if hmac.compare_digest(sent.encode() if isinstance(sent, str) else sent, self._expected):
            return handler
        message = ("missing API key: send metadata 'authorization: Bearer KEY'" if not sent
                   else "wrong API key in the 'authorization' metadata")
        return _refusal(handler, message)


def _refusal(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that only answers UNAUTHENTICATED."""

    def deny(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    def deny_stream(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - abort raises; this only makes the function a generator

    shape = (handler.request_streaming, handler.response_streaming)
    build = {(False, False): grpc.unary_unary_rpc_method_handler,
             (False, True): grpc.unary_stream_rpc_method_handler,
             (True, False): grpc.stream_unary_rpc_method_handler,
             (True, True): grpc.stream_stream_rpc_method_handler}[shape]
    return build(deny_stream if handler.response_streaming else deny,
                 request_deserializer=handler.request_deserializer,
                 response_serializer=handler.response_serializer)
