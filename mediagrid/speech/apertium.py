"""Rule-based machine translation with Apertium (Debian packages), as one long-lived pipeline.

``apertium eng-spa`` spawns a 13-process pipeline per call (~270 ms); the same stages started once in
null-flush mode (``-z``: each ``\\0`` flushes the text before it through every stage) translate a sentence in
~3 ms. The pipeline is read from the installed pair's mode file, so it stays what ``apertium`` itself runs.
``apertium-destxt``/``-retxt`` have no null-flush mode, so their escaping is done here instead.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
from pathlib import Path

from mediagrid.speech.errors import SpeechServiceError

MODES_DIR = Path("/usr/share/apertium/modes")
_SPECIAL = re.compile(r"([\\\[\]^$/@<>{}*#+~|])")
_ESCAPED = re.compile(r"\\(.)")
_UNGENERATED = re.compile(r"(?<!\\)#")  # marks a word the generator could not inflect
_READ = 65536


def installed_pairs(modes_dir: Path = MODES_DIR) -> list[str]:
    """Installed translation directions as Apertium mode names, e.g. ``["eng-spa", "spa-eng"]``."""
    if not modes_dir.is_dir():
        return []
    return sorted(p.stem for p in modes_dir.glob("*.mode") if re.fullmatch(r"[a-z]{2,3}-[a-z]{2,3}", p.stem))


class ApertiumTranslator:
    """One direction (``pair``, e.g. ``eng-spa``); thread-safe, calls are serialised on the pipeline."""

    def __init__(self, pair: str, modes_dir: Path = MODES_DIR) -> None:
        mode = modes_dir / f"{pair}.mode"
        if not mode.is_file():
            raise SpeechServiceError(f"Apertium pair {pair} is not installed ({mode} is missing): "
                                     f"apt-get install apertium apertium-{pair}")
        self.pair = pair
        self._commands = _pipeline(mode.read_text(encoding="utf-8"))
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen] = []
        self._start()
        self.translate("Hello.")  # the stages load their transducers on the first text: ~0.25 s, off the clock

    def _start(self) -> None:
        previous = None
        for argv in self._commands:
            try:
                proc = subprocess.Popen(argv, stdin=previous.stdout if previous else subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            except OSError as exc:
                self.close()
                raise SpeechServiceError(f"cannot start the Apertium stage {argv[0]}: {exc}") from exc
            if previous is not None:
                previous.stdout.close()  # the next stage owns it now
            self._procs.append(proc)
            previous = proc

    def translate(self, text: str) -> str:
        """``text`` (one or more sentences) in the target language; an empty text stays empty."""
        line = " ".join(text.split())
        if not line:
            return ""
        with self._lock:
            try:
                return self._round_trip(line)
            except (BrokenPipeError, OSError, EOFError):  # a stage died: start a fresh pipeline once
                self.close()
                self._start()
                return self._round_trip(line)

    def _round_trip(self, line: str) -> str:
        # lt-proc -b flushes on NUL only after a newline, hence "\n\0" (lttoolbox 3.7)
        self._procs[0].stdin.write(_SPECIAL.sub(r"\\\1", line).encode("utf-8") + b"\n\0")
        self._procs[0].stdin.flush()
        out, fd = b"", self._procs[-1].stdout.fileno()
        while b"\0" not in out:
            block = os.read(fd, _READ)
            if not block:
                raise EOFError("the Apertium pipeline closed its output")
            out += block
        text = _UNGENERATED.sub("", out.split(b"\0", 1)[0].decode("utf-8"))
        return _ESCAPED.sub(r"\1", text).strip()

    def close(self) -> None:
        for proc in self._procs:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        for proc in self._procs:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs = []


def _pipeline(mode_text: str) -> list[list[str]]:
    """The mode file's stages with null flush on; ``$1`` is the generator flag (``-n``: no marks on
    unknown words, as ``apertium -u``), ``$2`` the tagger's extra flag (none)."""
    stages = mode_text.strip().replace("$1", "-n").replace("$2", "").split("|")
    commands = []
    for stage in stages:
        argv = shlex.split(stage)
        commands.append([argv[0], "-z", *argv[1:]])
    return commands
