"""The player's HTTP origin, spoken to with plain HTTP on a port the kernel picks."""
from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediagrid.broadcast import serve as serve_module
from mediagrid.broadcast.serve import MAX_BEACON_BYTES, PlayerServer, serve
from mediagrid.errors import UsageError

PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg000.ts\n"


@pytest.fixture
def hls_dir(tmp_path: Path) -> Path:
    """A tiny HLS directory, with a secret next to it that must stay out of reach."""
    root = tmp_path / "hls"
    (root / "sub").mkdir(parents=True)
    (root / "index.m3u8").write_text(PLAYLIST)
    (root / "seg000.ts").write_bytes(b"\x47" * 188)
    (root / "init.mp4").write_bytes(b"\0\0\0\x08ftyp")
    (root / "sub" / "seg000.m4s").write_bytes(b"\0\0\0\x08moof")
    (root / "sub" / "en.vtt").write_text("WEBVTT\n")
    (root / "status.json").write_text('{"app": "ad_insertion", "live": true}')
    (tmp_path / "secret.txt").write_text("do not serve")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.fixture
def server(hls_dir: Path) -> Iterator[PlayerServer]:
    with serve(hls_dir) as running:
        yield running


def request(server: PlayerServer, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request with the path sent exactly as given (urllib would tidy up '..' and '%2e' first)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def post_beacon(server: PlayerServer, body: bytes) -> int:
    return request(server, "POST", "/beacon", body, {"Content-Type": "application/json"})[0]


@pytest.mark.parametrize(("path", "mime", "no_cache"), [
    ("/index.m3u8", "application/vnd.apple.mpegurl", True),
    ("/status.json", "application/json", True),
    ("/seg000.ts", "video/mp2t", False),
    ("/init.mp4", "video/mp4", False),
    ("/sub/seg000.m4s", "video/mp4", False),
    ("/sub/en.vtt", "text/vtt", False),
])
def test_hls_files_are_served_with_their_mime_type_and_live_ones_uncached(
        server: PlayerServer, hls_dir: Path, path: str, mime: str, no_cache: bool) -> None:
    status, headers, body = request(server, "GET", path + "?cachebust=1")
    assert (status, headers["Content-Type"]) == (200, mime)
    assert body == (hls_dir / path.lstrip("/")).read_bytes()
    assert headers.get("Cache-Control") == ("no-cache" if no_cache else None)


def test_head_answers_headers_without_a_body(server: PlayerServer) -> None:
    status, headers, body = request(server, "HEAD", "/index.m3u8")
    assert (status, headers["Content-Length"], body) == (200, str(len(PLAYLIST)), b"")


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt",
                                  "/%2F..%2Fsecret.txt", "/link.txt", "/sub", "/missing.ts", "/seg%00.ts"])
def test_nothing_outside_the_directory_nor_any_listing_is_served(server: PlayerServer, path: str) -> None:
    status, _, body = request(server, "GET", path)
    assert status == 404
    assert b"do not serve" not in body


def test_the_page_is_at_the_root_and_its_assets_under_player(server: PlayerServer) -> None:
    status, headers, page = request(server, "GET", "/?src=index.m3u8&sample=0,0,0.5,0.5")
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert b"<video" in page and b"/player/hls.min.js" in page and b"/player/player.js" in page
    for name, mime in [("player.js", "text/javascript; charset=utf-8"), ("player.css", "text/css; charset=utf-8")]:
        status, headers, _ = request(server, "GET", f"/player/{name}")
        assert (status, headers["Content-Type"]) == (200, mime)
    assert request(server, "GET", "/player/../index.m3u8")[0] == 404


def test_hls_js_missing_warns_once_and_the_page_is_still_served(
        hls_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(serve_module, "HLS_JS", tmp_path / "absent" / "hls.min.js")
    with caplog.at_level(logging.WARNING, logger=serve_module.__name__), serve(hls_dir) as server:
        assert request(server, "GET", "/player/hls.min.js")[0] == 404
        assert request(server, "GET", "/")[0] == 200
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "make player-assets" in warnings[0].getMessage()


@pytest.mark.skipif(not serve_module.HLS_JS.is_file(), reason="tools/player is not installed (make player-assets)")
def test_hls_js_is_served_from_tools_player(server: PlayerServer) -> None:
    status, headers, body = request(server, "GET", "/player/hls.min.js")
    assert (status, headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    assert body == serve_module.HLS_JS.read_bytes()


def test_beacons_are_kept_in_order_and_can_be_waited_for(server: PlayerServer) -> None:
    for t in (1.0, 2.0):
        assert post_beacon(server, json.dumps({"t": t, "errors": []}).encode()) == 204
    assert [b["t"] for b in server.beacons] == [1.0, 2.0]
    assert server.wait_for_beacon(lambda b: b["t"] > 1, timeout_s=5) == {"t": 2.0, "errors": []}
    with pytest.raises(TimeoutError, match="the last: {'t': 2.0"):
        server.wait_for_beacon(lambda b: b["t"] > 2, timeout_s=0.1)


@pytest.mark.parametrize(("body", "status"), [
    (b"{not json", 400),
    (b"[1, 2]", 400),
    (b"\xff\xfe", 400),
])
def test_bad_beacons_are_refused_and_not_kept(server: PlayerServer, body: bytes, status: int) -> None:
    assert post_beacon(server, body) == status
    assert server.beacons == []


def test_an_oversized_beacon_is_refused_before_its_body_is_read(server: PlayerServer) -> None:
    """Only the headers are sent: a server that waited for the body would time the client out."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("POST", "/beacon")
        connection.putheader("Content-Length", str(MAX_BEACON_BYTES + 1))
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    assert server.beacons == []


def test_requests_write_nothing_to_stderr(server: PlayerServer, capfd: pytest.CaptureFixture[str]) -> None:
    with urllib.request.urlopen(server.url + "index.m3u8", timeout=10) as response:
        assert response.status == 200
    assert request(server, "GET", "/missing.ts")[0] == 404
    server.close()  # handler threads are done once the server has shut down
    assert capfd.readouterr().err == ""


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nowhere: not a directory"):
        serve(tmp_path / "nowhere")


def test_main_serve_prints_the_url_and_stops_cleanly_on_ctrl_c(hls_dir: Path) -> None:
    code = f"from mediagrid.broadcast.serve import main_serve; raise SystemExit(main_serve({str(hls_dir)!r}, 0, " \
           "'127.0.0.1'))"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        url = line.split("player ")[1].split()[0]
        with urllib.request.urlopen(url + "index.m3u8", timeout=10) as response:
            assert response.read().decode() == PLAYLIST
        os.kill(child.pid, signal.SIGINT)
        assert child.wait(timeout=10) == 0
        assert "stopped serving" in child.stderr.read()
    finally:
        child.kill()
        child.wait()
