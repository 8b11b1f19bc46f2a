"""The embedded Riva-compatible server: Riva's own gRPC services (ASR, NMT, TTS, health, API-key auth) on
CPU engines, so that mediagrid's :mod:`~mediagrid.speech.riva_calls` talk to it exactly as to NVIDIA Riva.

Production talks to NVIDIA Riva (or its hosted API); CI and the embedded default talk to :class:`RivaServer`.
"""
from mediagrid.speech.riva_server.server import RivaServer, serve_foreground

__all__ = ["RivaServer", "serve_foreground"]
