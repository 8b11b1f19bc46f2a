"""An HTTP origin for an HLS output directory, with the player page and a QoE beacon endpoint.

``mediagrid serve`` lets an operator watch what an app publishes without installing a web server, and lets
tests open the stream in a real browser: Chromium plays Media Source streams only from http://, never from
file://. The player page POSTs a beacon every second (position, playing date, stalls, errors, sampled colours),
kept here for whoever asks (:meth:`PlayerServer.wait_for_beacon`).

Playlists and status.json change while they are served, so they go out with ``Cache-Control: no-cache``;
segments never change once written. Nothing outside the served directory is reachable, symlinks included.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import mediagrid
from mediagrid.errors import UsageError
from mediagrid.runtime.foreground import serve_until_signal

log = logging.getLogger(__name__)

HLS_JS = Path(mediagrid.__file__).resolve().parents[1] / "tools/player/node_modules/hls.js/dist/hls.min.js"
PAGE_ASSETS = ("index.html", "player.js", "player.css")
BEACON_HISTORY = 600  # ten minutes of one viewer at one beacon a second
MAX_BEACON_BYTES = 64 * 1024
MIME_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/mp4",
    ".mp4": "video/mp4",
    ".vtt": "text/vtt",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
NO_CACHE_SUFFIXES = (".m3u8", ".json")
_SHUTDOWN_POLL_S = 0.05  # how soon close() returns; the default half second adds up over a test suite


class _Origin(ThreadingHTTPServer):
    """The listening socket plus what every request handler needs: the directory and the beacon store."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], root: Path, hls_js: Path | None) -> None:
        super().__init__(address, _Handler)
        self.root = root
        self.hls_js = hls_js
        self.beacons: deque[dict[str, Any]] = deque(maxlen=BEACON_HISTORY)
        self.arrived = threading.Condition()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Players abort requests all the time (a seek, a quality switch); the default prints a traceback.
        log.debug("request from %s failed: %r", client_address, sys.exc_info()[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Origin

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._send(self._resolve(), with_body=True)

    def do_HEAD(self) -> None:
        self._send(self._resolve(), with_body=False)

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/beacon":
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        declared = self.headers.get("Content-Length", "")
        if not declared.isdigit():
            self.send_error(HTTPStatus.LENGTH_REQUIRED, "a beacon needs a Content-Length")
            return
        length = int(declared)
        if length > MAX_BEACON_BYTES:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a beacon is at most {MAX_BEACON_BYTES} bytes")
            return
        try:
            beacon = json.loads(self.rfile.read(length))
        except ValueError as exc:
            self.send_error(HTTPStatus.BAD_REQUEST, f"beacon is not JSON: {exc}")
            return
        if not isinstance(beacon, dict):
            self.send_error(HTTPStatus.BAD_REQUEST, f"beacon must be a JSON object, not {type(beacon).__name__}")
            return
        with self.server.arrived:
            self.server.beacons.append(beacon)
            self.server.arrived.notify_all()
        log.debug("beacon from %s: %s", self.address_string(), beacon)
        self.send_response(HTTPStatus.NO_CONTENT)
        self.end_headers()

    def _resolve(self) -> tuple[str, bytes] | None:
        """(file name, contents) for the request, or None when there is nothing to serve at that path."""
        path = unquote(urlsplit(self.path).path)
        if path == "/":
            return _page_asset("index.html")
        if path.startswith("/player/"):
            name = path.removeprefix("/player/")
            if name in PAGE_ASSETS:
                return _page_asset(name)
            if self.server.hls_js is not None and name == self.server.hls_js.name:
                return name, self.server.hls_js.read_bytes()
            return None
        try:
            target = (self.server.root / path.lstrip("/")).resolve()
        except (OSError, ValueError):  # a NUL byte, a symlink loop
            return None
        if not target.is_relative_to(self.server.root) or not target.is_file():
            return None
        try:
            return target.name, target.read_bytes()
        except OSError:  # removed between the check and the read: a segment leaving the window
            return None

    def _send(self, found: tuple[str, bytes] | None, *, with_body: bool) -> None:
        if found is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        name, body = found
        suffix = Path(name).suffix
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", MIME_TYPES.get(suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        if suffix in NO_CACHE_SUFFIXES:
            self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if with_body:
            self.wfile.write(body)


def _page_asset(name: str) -> tuple[str, bytes]:
    return name, (files("mediagrid.broadcast") / "player" / name).read_bytes()


class PlayerServer:
    """An HLS directory served over HTTP on a background thread, with the player page at ``/``."""

    def __init__(self, directory: Path, *, port: int = 0, host: str = "127.0.0.1") -> None:
        root = Path(directory).resolve()
        if not root.is_dir():
            raise UsageError(f"cannot serve {directory}: not a directory")
        hls_js = HLS_JS if HLS_JS.is_file() else None
        if hls_js is None:
            log.warning("hls.js is not installed (%s is missing; run `make player-assets`): the player page will "
                        "play only in browsers with native HLS", HLS_JS)
        try:
            self._origin = _Origin((host, port), root, hls_js)
        except OSError as exc:
            raise UsageError(f"cannot serve {directory} on {host}:{port}: {exc.strerror}") from exc
        self.host = host
        self.port = int(self._origin.server_address[1])
        self._thread = threading.Thread(target=self._origin.serve_forever, args=(_SHUTDOWN_POLL_S,),
                                        name=f"player-server:{self.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The player page; the playlist is ``url + "index.m3u8"``."""
        return f"http://{self.host}:{self.port}/"

    @property
    def beacons(self) -> list[dict[str, Any]]:
        """The latest beacons (at most :data:`BEACON_HISTORY`), oldest first: a copy, safe to keep."""
        with self._origin.arrived:
            return list(self._origin.beacons)

    def wait_for_beacon(self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any]:
        """The oldest kept beacon for which ``predicate`` holds, waiting up to ``timeout_s`` for one to arrive;
        raises TimeoutError, naming the last beacon seen, when none does."""
        deadline = time.monotonic() + timeout_s
        with self._origin.arrived:
            while True:
                match = next((b for b in self._origin.beacons if predicate(b)), None)
                left = deadline - time.monotonic()
                if match is not None:
                    return match
                if left <= 0:
                    last = self._origin.beacons[-1] if self._origin.beacons else None
                    raise TimeoutError(f"no matching beacon within {timeout_s:g} s "
                                       f"({len(self._origin.beacons)} kept; the last: {last})")
                self._origin.arrived.wait(left)

    def close(self) -> None:
        """Stop listening and wait for the serving thread; safe to call twice."""
        if self._thread.is_alive():
            self._origin.shutdown()
            self._thread.join()
        self._origin.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def serve(directory: Path, *, port: int = 0, host: str = "127.0.0.1") -> PlayerServer:
    """Serve ``directory`` and the player page until the returned server is closed (port 0: any free port)."""
    return PlayerServer(directory, port=port, host=host)


def main_serve(directory: Path, port: int, host: str) -> int:
    """``mediagrid serve``: serve until Ctrl-C (or SIGTERM), printing where to point a browser."""
    server = serve(directory, port=port, host=host)

    def ready() -> str:
        return f"serving {directory}: player {server.url} playlist {server.url}index.m3u8"

    def stop() -> str:
        server.close()
        return f"stopped serving {directory}"

    return serve_until_signal(ready, stop)
