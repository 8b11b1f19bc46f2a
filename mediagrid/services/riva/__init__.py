"""NVIDIA Riva, spoken to through the unmodified ``riva.client`` classes, and a Riva-compatible CPU server.

Production talks to NVIDIA Riva (or its hosted API); CI and the embedded default talk to
:class:`RivaServer`, a grpcio server that implements Riva's own protos (ASR, NMT, TTS, health, API-key auth)
with CPU engines, so both go through the same client code path.
"""
from mediagrid.services.riva.client import RivaEndpoint, SpeechClient, call_deadline
from mediagrid.services.riva.server import RivaServer, serve_foreground

__all__ = ["RivaEndpoint", "RivaServer", "SpeechClient", "call_deadline", "serve_foreground"]
