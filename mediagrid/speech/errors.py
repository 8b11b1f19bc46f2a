"""Errors of the speech engines and services, each with a message that says what to install or fix."""
from __future__ import annotations

from mediagrid.errors import MediagridError


class SpeechServiceError(MediagridError):
    """A speech engine or the Riva-compatible server could not be loaded, started or reached."""

    exit_code = 4


class AudioFormatError(ValueError):
    """Audio that cannot be read as the caller declared it; the server answers INVALID_ARGUMENT with it."""
