"""``--set key.path=value`` overrides: applied before validation, errors located as ``--set:N:COL``.

N is the 1-based position of the --set argument, COL the 1-based column inside it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from mediagrid.config import known_apps, ConfigError, ConfigIssue, load_app_config

REAL = Path(__file__).resolve().parents[2] / "configs" / "passthrough.yaml"


def issues_of(*overrides: str) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as raised:
        load_app_config(REAL, overrides)
    return raised.value.issues


def test_overrides_change_values() -> None:
    cfg = load_app_config(REAL, ["source.fps=30", "deadlines.policy=reuse", "device=cpu",
                                 "passthrough.region={x: 8, y: 8, w: 64, h: 32}", "deadlines.render_ms=5"])
    assert (cfg.source.fps, cfg.deadlines.policy, cfg.device) == (30.0, "reuse", "cpu")
    assert cfg.sections["passthrough"]["region"] == {"x": 8, "y": 8, "w": 64, "h": 32}
    assert cfg.deadlines.budget_ns("render") == 5_000_000
    assert cfg.raw["source"]["fps"] == 30


def test_later_override_wins_and_creates_missing_sections() -> None:
    cfg = load_app_config(REAL, ["source.fps=30", "source.fps=25",
                                 "kafka.bootstrap=localhost:9092", "kafka.group=mg-pass"])
    assert cfg.source.fps == 25.0
    assert (cfg.kafka.bootstrap, cfg.kafka.group, dict(cfg.kafka.topics)) == ("localhost:9092", "mg-pass", {})


def test_quoted_value_stays_text() -> None:
    assert load_app_config(REAL, ['sink.kind="null"', "node.id='42'"]).node.id == "42"


def test_override_without_equals_sign() -> None:
    [issue] = issues_of("source.fps=30", "source.fps")
    assert str(issue) == "--set:2:1: source.fps: expected KEY.PATH=VALUE (for example source.fps=30), got 'source.fps'"


def test_override_with_empty_key_segment() -> None:
    [issue] = issues_of("source..fps=30")
    assert (issue.path, issue.line, issue.col, issue.field) == ("--set", 1, 1, "source..fps")


def test_override_of_unknown_key_with_did_you_mean() -> None:
    [issue] = issues_of("source.fsp=30")
    assert str(issue) == "--set:1:1: source.fsp: unknown key 'fsp'; did you mean 'fps'?"


def test_override_of_unknown_section_with_did_you_mean() -> None:
    [issue] = issues_of("device=cpu", "sorce.fps=30")
    assert str(issue) == "--set:2:1: sorce: unknown key 'sorce'; did you mean 'source'?"


def test_override_with_wrong_type_points_at_the_value() -> None:
    [issue] = issues_of("source.width=wide")
    assert str(issue) == "--set:1:14: source.width: expected a whole number, got text 'wide'"


def test_override_with_out_of_range_value() -> None:
    [issue] = issues_of("deadlines.frame_ms=-2")
    assert str(issue) == "--set:1:20: deadlines.frame_ms: must be greater than 0, got -2"


def test_override_in_wrong_unit_is_caught_by_the_semantic_checks() -> None:
    [issue] = issues_of("deadlines.frame_ms=16700000")
    assert (issue.line, issue.col, issue.field) == (1, 20, "deadlines.frame_ms")
    assert "looks like nanoseconds" in issue.message


def test_override_value_that_is_not_yaml() -> None:
    [issue] = issues_of("passthrough.region={x: 1")
    assert (issue.path, issue.line, issue.field) == ("--set", 1, "passthrough.region")
    assert issue.col > len("passthrough.region=") and "value is not valid YAML" in issue.message


def test_override_inside_a_scalar() -> None:
    [issue] = issues_of("source.fps.max=30")
    assert str(issue) == ("--set:1:1: source.fps.max: cannot set a key inside source.fps: "
                          "it holds a single value (60), not a mapping")


def test_override_of_the_app_name() -> None:
    [issue] = issues_of("app=passthru")
    assert str(issue) == (f"--set:1:5: app: unknown app 'passthru'; known apps: {', '.join(known_apps())}; "
                          "did you mean 'passthrough'?")


def test_file_issues_come_before_override_issues(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    text = REAL.read_text()
    path.write_text(text.replace("fps: 60", "fps: 0"))
    fps_line = text[:text.index("fps: 60")].count("\n") + 1
    with pytest.raises(ConfigError) as raised:
        load_app_config(path, ["sink.kind=nul", "source.fps"])
    assert [(i.path, i.line, i.field) for i in raised.value.issues] == [
        (str(path), fps_line, "source.fps"), ("--set", 1, "sink.kind"), ("--set", 2, "source.fps")]
