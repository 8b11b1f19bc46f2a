"""report.html in a real browser: headless Chromium loads it from disk and must draw every plot.

The page sets ``<body data-rendered="ok">`` only when every plot drew without an exception and no error
reached ``window``; ``--dump-dom`` shows the DOM after the page's scripts ran, and ``--enable-logging``
puts every console message on stderr, so a throwing script is caught both ways. The sabotage tests prove
that the check does fail when a script breaks.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mediagrid.report import compare_runs, write_report
from tests.unit.test_report import make_run, tiny_png

pytestmark = pytest.mark.integration

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PLOTS = {"cdf", "timeline", "outcomes", "budget", "kafka"}
CONSOLE = re.compile(r":CONSOLE[:(]")


@pytest.fixture(scope="module")
def chromium() -> str:
    """CI must not go green by skipping the browser check; a laptop without Chromium may skip."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    reason = f"headless Chromium not found (none of {', '.join(BROWSERS)} on PATH; Debian: apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def browse(browser: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run on a local file, with nothing that could reach the network."""
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               "--window-size=1400,3000", "--hide-scrollbars", *extra, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class Dom(HTMLParser):
    """What the check needs from a dumped DOM: body attributes, and each plot's state and SVG contents."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.plots: dict[str, dict[str, int | str]] = {}
        self.render_errors = ""
        self._plot: str | None = None
        self._in_errors = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = a
        elif tag == "figure" and "plot" in a.get("class", "").split():
            self._plot = a.get("data-plot", "?")
            self.plots[self._plot] = {"drawn": a.get("data-drawn", ""), "svg": 0, "marks": 0}
        elif self._plot and tag in ("svg", "path", "rect", "line"):
            counts = self.plots[self._plot]
            key = "svg" if tag == "svg" else "marks"
            counts[key] = int(counts[key]) + 1
        self._in_errors = a.get("id") == "render-errors"

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._plot = None
        self._in_errors = False

    def handle_data(self, data: str) -> None:
        if self._in_errors:
            self.render_errors += data


def problems(result: subprocess.CompletedProcess[str], *, marks: bool = True) -> list[str]:
    """Everything wrong with a page load: [] means every plot drew (with marks in it, unless ``marks`` is
    False: a run without items draws axes and a message) and nothing was logged."""
    found = [f"chromium exit code {result.returncode}"] if result.returncode else []
    dom = Dom()
    dom.feed(result.stdout)
    if dom.body.get("data-rendered") != "ok":
        found.append(f"data-rendered={dom.body.get('data-rendered')!r}: {dom.render_errors.strip()}")
    if set(dom.plots) != PLOTS:
        found.append(f"plots on the page: {sorted(dom.plots)}")
    for name, plot in dom.plots.items():
        if plot["drawn"] != "yes" or not plot["svg"] or (marks and not plot["marks"]):
            found.append(f"plot {name} did not draw: {plot}")
    found += [line for line in result.stderr.splitlines() if CONSOLE.search(line)]
    return found


def sabotaged(page: Path, old: str, new: str) -> Path:
    html = page.read_text()
    assert old in html
    broken = page.with_name("broken.html")
    broken.write_text(html.replace(old, new, 1))
    return broken


@pytest.fixture
def report(tmp_path: Path) -> Path:
    run = make_run(tmp_path / "run", kafka={"consumed": 600, "produced": 597, "dead_lettered": 2, "committed": 600,
                                            "lag": 0})
    (run / "frame_0001.png").write_bytes(tiny_png())
    return write_report(run)[0]


def test_report_renders_every_plot_without_errors(chromium: str, report: Path, tmp_path: Path) -> None:
    assert problems(browse(chromium, report, tmp_path / "profile", "--dump-dom")) == []


def test_controls_and_hover_do_not_throw(chromium: str, report: Path, tmp_path: Path) -> None:
    """Click every toggle and legend entry and hover every plot; an exception in a handler reaches window's
    error listener, which turns data-rendered into "error"."""
    exercise = """<script>(function () {
      function at(node, type) {
        var r = node.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
        node.dispatchEvent(new MouseEvent(type, {bubbles: true, clientX: x, clientY: y}));
      }
      document.querySelectorAll(".controls button, .legend span").forEach(function (n) { n.click(); });
      document.querySelectorAll("figure.plot rect[fill=transparent]").forEach(function (n) { at(n, "mousemove"); });
      document.querySelectorAll("figure.plot svg").forEach(function (n) { at(n, "mouseleave"); });
      document.querySelectorAll(".snapshots img").forEach(function (n) { n.click(); });
      document.body.dataset.exercised = "ok";
    })();</script></body>"""
    result = browse(chromium, sabotaged(report, "</body>", exercise), tmp_path / "profile", "--dump-dom")
    assert problems(result) == []
    assert 'data-exercised="ok"' in result.stdout


def test_comparison_page_renders(chromium: str, tmp_path: Path) -> None:
    base = make_run(tmp_path / "base")
    new = make_run(tmp_path / "new", slow_ms=2.5, extra_missed=range(500, 510))
    page = compare_runs(base, new)[0]
    result = browse(chromium, page, tmp_path / "profile", "--dump-dom")
    assert problems(result) == []
    assert 'id="comparison"' in result.stdout and "REGRESSION" in result.stdout


def test_run_without_items_renders(chromium: str, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    summary = json.loads((run / "summary.json").read_text())
    empty = {**summary["end_to_end"], "count": 0, "met": 0, "degraded": 0, "dropped": 0, "missed": 0,
             "miss_rate": 0.0, "p50_ms": None, "p99_ms": None, "p999_ms": None, "max_ms": None}
    (run / "summary.json").write_text(json.dumps({**summary, "end_to_end": empty, "stages": {}}))
    (run / "events.jsonl").write_text("")
    page = write_report(run)[0]
    assert problems(browse(chromium, page, tmp_path / "profile", "--dump-dom"), marks=False) == []


def test_a_plot_that_throws_is_caught(chromium: str, report: Path, tmp_path: Path) -> None:
    broken = sabotaged(report, '"kafka":{', '"kafka":null,"unused":{')
    found = problems(browse(chromium, broken, tmp_path / "profile", "--dump-dom"))
    assert any("data-rendered='error'" in p and "kafka: TypeError" in p for p in found), found


def test_a_script_that_does_not_parse_is_caught(chromium: str, report: Path, tmp_path: Path) -> None:
    broken = sabotaged(report, "})();\n</script>", "})(;\n</script>")
    found = problems(browse(chromium, broken, tmp_path / "profile", "--dump-dom"))
    assert any("data-rendered='pending'" in p for p in found), found
    assert any("SyntaxError" in p for p in found), found  # and the console said why


def test_screenshot_is_not_blank(chromium: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = browse(chromium, report, tmp_path / "profile", f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000  # a blank 1400x3000 page is a few kB
