"""Writing the files that players poll while the stream is live (playlists, subtitle segments)."""
from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step, so that a player polling it reads the old file or the new one,
    never half of either.

    The temporary file sits in the same directory because ``os.replace`` is atomic only within one file system,
    and under a dot name that no playlist lists. It is opened like any file (not with ``mkstemp``, which makes it
    owner-only), so a web server running as another user can still read what it becomes.
    """
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(text, encoding="utf-8", newline="\n")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
