"""A tiny synchronous Kafka wire-protocol probe.

Readiness has to mean "a client would get metadata naming this broker", not "the TCP port accepts":
the JVM opens its sockets well before Kafka serves requests, and a foreign process on the port must
not pass for our broker. A blocking socket keeps the check usable from threads, from code with a
running event loop, and from the CLI, without pulling in an asyncio client.
"""
from __future__ import annotations

import socket
import struct

_API_METADATA = 3
_API_VERSIONS = 18
# Metadata v9+ switches to the "flexible" encoding; v1..v8 share the layout parsed below.
_METADATA_MAX_SIMPLE_VERSION = 8
_CLIENT_ID = b"mediagrid-probe"


class ProbeError(Exception):
    """The peer did not answer like a Kafka broker (closed, timed out, or sent garbage)."""


def _request(sock: socket.socket, api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation_id, len(_CLIENT_ID)) + _CLIENT_ID
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", _recv_exact(sock, 4))[0]
    if not 4 <= size <= 16 * 1024 * 1024:
        raise ProbeError(f"implausible response size {size}")
    response = _recv_exact(sock, size)
    if struct.unpack(">i", response[:4])[0] != correlation_id:
        raise ProbeError("response correlation id does not match the request")
    return response[4:]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ProbeError("connection closed by peer")
        chunks += chunk
    return bytes(chunks)


def _metadata_version(api_versions_body: bytes) -> int:
    error_code, count = struct.unpack(">hi", api_versions_body[:6])
    if error_code != 0:
        raise ProbeError(f"ApiVersions error code {error_code}")
    for i in range(count):
        key, low, high = struct.unpack(">hhh", api_versions_body[6 + 6 * i : 12 + 6 * i])
        if key == _API_METADATA:
            version = min(int(high), _METADATA_MAX_SIMPLE_VERSION)
            if version < max(low, 1):
                raise ProbeError(f"no usable Metadata version in [{low}, {high}]")
            return version
    raise ProbeError("broker does not offer the Metadata API")


def _metadata_body(version: int) -> bytes:
    body = struct.pack(">i", 0)  # an empty topic list: brokers only
    if version >= 4:
        body += b"\x00"  # allow_auto_topic_creation
    if version >= 8:
        body += b"\x00\x00"  # include cluster / topic authorized operations
    return body


def _brokers(metadata_body: bytes, version: int) -> list[tuple[str, int]]:
    offset = 4 if version >= 3 else 0  # throttle_time_ms
    (count,) = struct.unpack_from(">i", metadata_body, offset)
    offset += 4
    brokers = []
    for _ in range(count):
        _node_id, host_len = struct.unpack_from(">ih", metadata_body, offset)
        offset += 6
        host = metadata_body[offset : offset + host_len].decode()
        offset += host_len
        (port, rack_len) = struct.unpack_from(">ih", metadata_body, offset)
        offset += 6 + max(rack_len, 0)
        brokers.append((host, port))
    return brokers


def advertised_brokers(host: str, port: int, timeout_s: float = 2.0) -> list[tuple[str, int]]:
    """Return the (host, port) pairs that the Kafka broker at host:port advertises in its metadata.

    Raises ProbeError or OSError when nothing Kafka-speaking answers there.
    """
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        try:
            version = _metadata_version(_request(sock, _API_VERSIONS, 0, 1, b""))
            return _brokers(_request(sock, _API_METADATA, version, 2, _metadata_body(version)), version)
        except (struct.error, UnicodeDecodeError) as exc:
            raise ProbeError(f"malformed response: {exc}") from exc


def answers_kafka(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """True when a Kafka broker at host:port serves metadata that lists at least one broker."""
    try:
        return bool(advertised_brokers(host, port, timeout_s))
    except (OSError, ProbeError):
        return False
