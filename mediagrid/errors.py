"""Exceptions that mediagrid raises on purpose.

Each one carries a message written for the operator who will read it on a terminal; the CLI prints it
without a traceback and exits with the class's ``exit_code``.
"""
from __future__ import annotations


class MediagridError(Exception):
    """Base of every error that the CLI turns into a clean message and an exit code."""

    exit_code = 1


class UsageError(MediagridError):
    """The command line itself is wrong, or names something that does not exist."""

    exit_code = 2


class NotAvailableError(MediagridError):
    """A contract command whose implementation has not landed yet."""

    exit_code = 3


class DeviceError(MediagridError):
    """The requested compute device is not usable on this machine (for example ``gpu`` without a GPU)."""

    exit_code = 2


class ChildProcessFailed(MediagridError):
    """A child process that mediagrid runs (a broker, a server) could not be started, died, or would not stop."""


class BrokerError(ChildProcessFailed):
    """A Kafka broker could not be started, reached or stopped."""

    exit_code = 4


class MediaError(MediagridError):
    """A media file or stream cannot be opened or decoded."""

    exit_code = 5
