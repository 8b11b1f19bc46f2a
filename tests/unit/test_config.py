"""mediagrid.config: loading, schema and semantic checks, each defect located as PATH:LINE:COL: field: message.

Over 400 lines: one test per kind of defect, all against the same loader; splitting them would only split a list.
"""
from __future__ import annotations

import json
import time
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from mediagrid.config import (
    AppConfig, ConfigError, ConfigIssue, known_apps, load_app_config, load_topology, validate_file,
)
from mediagrid.config.checks import unit_issues
from mediagrid.config.model import COMMON_SECTIONS
from mediagrid.config.yaml_loader import load_document

REPO = Path(__file__).resolve().parents[2]
REAL = REPO / "configs" / "passthrough.yaml"

# A small valid app config; tests replace one line to make one defect, so line numbers stay readable.
BASE = """\
app: passthrough
node: {id: edge-1, site: lab, jurisdiction: EU}
deadlines:
  frame_ms: 16.7
source:
  kind: synthetic
  fps: 60
  width: 1280
  height: 720
sink:
  kind: "null"
"""

TOPOLOGY = """\
sla_ms: 40
sites:
  - id: fra-1
    location: {lat: 50.1, lon: 8.7}
    jurisdiction: DE
    gpus: 8
    service_rate_per_gpu: 120
    cost_per_gpu_hour: 2.5
    health: healthy
    quota: {max_gpus: 4}
  - id: par-1
    location: {lat: 48.9, lon: 2.35}
    jurisdiction: FR
    gpus: 4
    service_rate_per_gpu: 100
    cost_per_gpu_hour: 2.1
    health: degraded
regions:
  - id: de-south
    jurisdiction: DE
    rtt_ms: {fra-1: 6, par-1: 14}
"""


def write(tmp_path: Path, text: str | bytes, name: str = "app.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def variant(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new)


def one(issues: list[ConfigIssue]) -> ConfigIssue:
    assert len(issues) == 1, "\n".join(map(str, issues))
    return issues[0]


def check(issue: ConfigIssue, path: Path | str, line: int, col: int, field: str, phrase: str) -> None:
    assert (issue.path, issue.line, issue.col, issue.field) == (str(path), line, col, field), str(issue)
    assert phrase in issue.message, str(issue)
    assert str(issue) == f"{path}:{line}:{col}: {field}: {issue.message}"


# --- the real config --------------------------------------------------------------------------------------

def test_real_config_loads_into_typed_objects() -> None:
    cfg = load_app_config(REAL)
    assert isinstance(cfg, AppConfig)
    assert (cfg.path, cfg.app, cfg.device, cfg.kafka) == (REAL, "passthrough", "auto", None)
    assert (cfg.node.id, cfg.node.site, cfg.node.jurisdiction) == ("edge-local-1", "local", "EU")
    assert dict(cfg.deadlines.budgets_ms) == {"frame": 16.7}
    assert cfg.deadlines.policy == "drop"
    assert cfg.deadlines.budget_ns("frame") == 16_700_000
    src = cfg.source
    assert (src.kind, src.path, src.width, src.height, src.fps, src.pattern, src.loop) == \
        ("synthetic", None, 1920, 1080, 60.0, "bars", False)
    assert isinstance(src.fps, float) and isinstance(src.width, int)
    assert (cfg.sink.kind, cfg.sink.path, cfg.sink.codec, cfg.sink.preset) == ("null", None, "h264", "ultrafast")
    assert dict(cfg.sections) == {"passthrough": {"process_estimate_ms": 1.0,
                                                  "region": {"x": 0, "y": 0, "w": 320, "h": 180}}}
    assert cfg.raw["sink"] == {"kind": "null"} and "kafka" not in cfg.raw


def test_real_config_is_valid() -> None:
    assert validate_file(REAL) == []


def test_typed_objects_are_frozen() -> None:
    cfg = load_app_config(REAL)
    with pytest.raises(AttributeError):
        cfg.device = "gpu"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.deadlines.budgets_ms["frame"] = 1.0  # type: ignore[index]


def test_unknown_budget_name_says_what_is_configured() -> None:
    with pytest.raises(KeyError, match="no deadline 'audio_ms'.*frame_ms"):
        load_app_config(REAL).deadlines.budget_ns("audio")


def test_schema_defaults_fill_absent_keys(tmp_path: Path) -> None:
    cfg = load_app_config(write(tmp_path, BASE))
    assert (cfg.device, cfg.deadlines.policy, cfg.source.pattern, cfg.source.loop) == ("auto", "drop", "bars", False)
    assert cfg.sections == {"passthrough": {"process_estimate_ms": 1.0}}
    assert "device" not in cfg.raw


def test_kafka_and_file_media_are_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative media paths resolve against the working directory
    (tmp_path / "clip.mp4").write_bytes(b"\0")
    text = variant("source:\n  kind: synthetic\n  fps: 60\n  width: 1280\n  height: 720\n"
                   "sink:\n  kind: \"null\"\n",
                   "source: {kind: file, path: clip.mp4, loop: true}\n"
                   "sink: {kind: file, path: out.mp4, codec: hevc, preset: p4}\n"
                   "kafka: {bootstrap: 'k1:9092,[::1]:9093', group: mg-pass, topics: {decisions: mg.ads.decisions}}\n")
    cfg = load_app_config(write(tmp_path, text))
    assert cfg.source == type(cfg.source)("file", Path("clip.mp4"), None, None, None, "bars", True)
    assert (cfg.sink.kind, cfg.sink.path, cfg.sink.codec, cfg.sink.preset) == ("file", Path("out.mp4"), "hevc", "p4")
    assert (cfg.kafka.bootstrap, cfg.kafka.group, dict(cfg.kafka.topics)) == \
        ("k1:9092,[::1]:9093", "mg-pass", {"decisions": "mg.ads.decisions"})


def test_loading_is_fast() -> None:
    load_app_config(REAL)  # schemas and validators are built once per process
    start = time.perf_counter()
    for _ in range(5):
        load_app_config(REAL)
    assert (time.perf_counter() - start) / 5 < 0.1


# --- file-level defects -----------------------------------------------------------------------------------

def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    check(one(validate_file(path)), path, 1, 1, "(file)", "file not found")
    with pytest.raises(ConfigError) as raised:
        load_app_config(path)
    assert raised.value.exit_code == 2 and str(raised.value) == f"{path}:1:1: (file): file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    check(one(validate_file(tmp_path)), tmp_path, 1, 1, "(file)", "is a directory")


@pytest.mark.parametrize("text", ["", "# only a comment\n\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    check(one(validate_file(path)), path, 1, 1, "(file)", "the file is empty")


def test_binary_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"app: passthrough\n\x89PNG\x00\x01")
    check(one(validate_file(path)), path, 2, 5, "(file)", "binary file")


def test_not_utf8_file(tmp_path: Path) -> None:
    path = write(tmp_path, "app: passthrough\nnode: {id: caf\xe9}\n".encode("latin-1"))
    check(one(validate_file(path)), path, 2, 15, "(file)", "not UTF-8 text (byte 0xe9)")


def test_non_mapping_top_level(tmp_path: Path) -> None:
    path = write(tmp_path, "# a list\n- app: passthrough\n")
    check(one(validate_file(path)), path, 2, 1, "(root)", "must be a mapping of sections")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  fps: 60\n", "  fps: 60: 61\n"))
    check(one(validate_file(path)), path, 7, 10, "(yaml)", "YAML syntax error: mapping values are not allowed")


def test_unclosed_flow_mapping_names_where_it_started(tmp_path: Path) -> None:
    path = write(tmp_path, variant("jurisdiction: EU}", "jurisdiction: EU"))
    check(one(validate_file(path)), path, 3, 10, "(yaml)", "flow mapping started at line 2, column 7")


def test_duplicate_keys_report_both_locations(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  height: 720\n", "  height: 720\n  fps: 30\n") + "app: other\n")
    first, second = validate_file(path)
    check(first, path, 10, 3, "source.fps", "duplicate key 'fps'; first defined at line 7, column 3")
    check(second, path, 13, 1, "app", "duplicate key 'app'; first defined at line 1, column 1")


@pytest.mark.parametrize(("text", "line", "col", "field", "phrase"), [
    ("a: &x [1, *x]\n", 1, 4, "a[1]", "refers to its own anchor"),
    ("app: passthrough\n1: x\n", 2, 1, "(root)", "key 1 is not text"),
    ("app: \x07\n", 1, 6, "(yaml)", "character 0x07 is not allowed"),
    ("app: !!python/object:os.system x\n", 1, 6, "(yaml)", "unsupported YAML"),
    ("app: x\n---\napp: y\n", 2, 1, "(yaml)", "single document"),
    ("a: " + "[" * 500 + "]" * 500 + "\n", 1, 1, "(file)", "nested too deeply"),
])
def test_unsafe_or_odd_yaml(tmp_path: Path, text: str, line: int, col: int, field: str, phrase: str) -> None:
    path = write(tmp_path, text)
    check(one(validate_file(path)), path, line, col, field, phrase)


def test_merge_keys_work_and_merged_values_are_located_at_their_parent(tmp_path: Path) -> None:
    path = write(tmp_path, variant("source:\n  kind: synthetic\n  fps: 60\n",
                                   "source:\n  <<: {fps: fast}\n  kind: synthetic\n"))
    check(one(validate_file(path)), path, 5, 1, "source.fps", "expected a number, got text 'fast'")


# --- schema defects ---------------------------------------------------------------------------------------

def test_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  width: 1280\n", "  width: wide\n"))
    check(one(validate_file(path)), path, 8, 10, "source.width", "expected a whole number, got text 'wide'")


def test_number_with_unit_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  frame_ms: 16.7\n", "  frame_ms: 16.7ms\n"))
    check(one(validate_file(path)), path, 4, 13, "deadlines.frame_ms", "write a plain number")


def test_yaml11_boolean_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  height: 720\n", "  height: 720\n  loop: yes\n"))
    check(one(validate_file(path)), path, 10, 9, "source.loop", "YAML 1.2 reads it as text; write true or false")


def test_missing_required_top_level_section(tmp_path: Path) -> None:
    path = write(tmp_path, variant('sink:\n  kind: "null"\n', ""))
    check(one(validate_file(path)), path, 1, 1, "sink", "required field is missing")


def test_missing_required_nested_field_points_at_its_parent(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  frame_ms: 16.7\n", "  policy: drop\n"))
    check(one(validate_file(path)), path, 3, 1, "deadlines.frame_ms", "required field is missing")


def test_conditional_requirement_says_why(tmp_path: Path) -> None:
    path = write(tmp_path, variant('  kind: "null"\n', "  kind: file\n"))
    check(one(validate_file(path)), path, 10, 1, "sink.path", "required field is missing (a file sink needs a path)")


def test_unknown_key_with_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  height: 720\n", "  height: 720\n  patern: noise\n"))
    check(one(validate_file(path)), path, 10, 3, "source.patern", "unknown key 'patern'; did you mean 'pattern'?")


def test_unknown_top_level_key_with_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "passthrugh: {}\n")
    check(one(validate_file(path)), path, 12, 1, "passthrugh", "did you mean 'passthrough'?")


def test_unknown_key_without_close_match_lists_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  frame_ms: 16.7\n", "  frame_ms: 16.7\n  audio: 20\n"))
    check(one(validate_file(path)), path, 5, 3, "deadlines.audio", "allowed here: 'policy', or names matching")


def test_bad_enum_with_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "device: gpus\n")
    check(one(validate_file(path)), path, 12, 9, "device", "must be one of 'auto', 'cpu', 'gpu'; got text 'gpus'; "
                                                        "did you mean 'gpu'?")


def test_bare_null_where_the_word_null_is_meant(tmp_path: Path) -> None:
    path = write(tmp_path, variant('  kind: "null"\n', "  kind: null\n"))
    check(one(validate_file(path)), path, 11, 9, "sink.kind", 'write "null" in quotes')


@pytest.mark.parametrize("value", ["-5", "0"])
def test_non_positive_deadline(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, variant("  frame_ms: 16.7\n", f"  frame_ms: {value}\n"))
    check(one(validate_file(path)), path, 4, 13, "deadlines.frame_ms", f"must be greater than 0, got {value}")


def test_out_of_bounds_fps(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  fps: 60\n", "  fps: 480\n"))
    check(one(validate_file(path)), path, 7, 8, "source.fps", "must be at most 240, got 480")


def test_pattern_mismatch_uses_the_schema_description(tmp_path: Path) -> None:
    path = write(tmp_path, variant("jurisdiction: EU", "jurisdiction: eu"))
    check(one(validate_file(path)), path, 2, 45, "node.jurisdiction", "expected an upper-case ISO 3166 code")


def test_unknown_app_name_lists_known_apps(tmp_path: Path) -> None:
    path = write(tmp_path, variant("app: passthrough", "app: passthru"))
    issue = one(validate_file(path))
    check(issue, path, 1, 6, "app", "unknown app 'passthru'; known apps: ")
    assert "passthrough" in issue.message.split("known apps: ")[1]
    assert issue.message.endswith("did you mean 'passthrough'?")


def test_unknown_app_still_checks_the_common_sections(tmp_path: Path) -> None:
    path = write(tmp_path, variant("app: passthrough", "app: nope").replace("fps: 60", "fps: 0"))
    issues = validate_file(path)
    assert [(i.line, i.field) for i in issues] == [(1, "app"), (7, "source.fps")], issues


def test_several_errors_in_one_file_are_all_reported_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("EU", "eu").replace("16.7", "-1").replace("fps: 60", "fsp: 60")
                 .replace("1280", "1280.5") + "device: tpu\n")
    found = [(i.line, i.col, i.field) for i in validate_file(path)]
    assert found == [(2, 45, "node.jurisdiction"), (4, 13, "deadlines.frame_ms"), (5, 1, "source.fps"),
                     (7, 3, "source.fsp"), (8, 10, "source.width"), (12, 9, "device")]
    with pytest.raises(ConfigError) as raised:
        load_app_config(path)
    assert len(raised.value.issues) == 6 and str(raised.value).count("\n") == 5


# --- semantic checks --------------------------------------------------------------------------------------

def test_milliseconds_field_written_in_nanoseconds(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  frame_ms: 16.7\n", "  frame_ms: 16700000\n"))
    check(one(validate_file(path)), path, 4, 13, "deadlines.frame_ms",
          "16700000 looks like nanoseconds; this field is in milliseconds")


def test_nanoseconds_field_written_in_milliseconds(tmp_path: Path) -> None:
    path = write(tmp_path, "pacing:\n  period_ns: 16.7\n  slack_ns: 2000000\n")
    check(one(unit_issues(load_document(path))), path, 2, 14, "pacing.period_ns",
          "16.7 looks like milliseconds; this field is in nanoseconds")


def test_non_finite_number(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  frame_ms: 16.7\n", "  frame_ms: .inf\n"))
    check(one(validate_file(path)), path, 4, 13, "deadlines.frame_ms", "must be a finite number")


def test_nonexistent_media_path_resolves_against_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, variant("  kind: synthetic\n", "  kind: file\n  path: media/match.mp4\n"))
    check(one(validate_file(path)), path, 7, 9, "source.path", f"file not found: {tmp_path / 'media/match.mp4'}")


def test_media_path_that_is_a_directory(tmp_path: Path) -> None:
    path = write(tmp_path, variant("  kind: synthetic\n", f"  kind: file\n  path: {tmp_path}\n"))
    check(one(validate_file(path)), path, 7, 9, "source.path", "is a directory")


def test_sink_that_would_overwrite_the_source(tmp_path: Path) -> None:
    media = write(tmp_path, b"\0", "in.mp4")
    text = variant('  kind: "null"\n', f"  kind: file\n  path: {media}\n").replace(
        "  kind: synthetic\n", f"  kind: file\n  path: {media}\n")
    path = write(tmp_path, text)
    check(one(validate_file(path)), path, 13, 9, "sink.path", "would overwrite the source")


def test_odd_frame_size_with_an_encoder(tmp_path: Path) -> None:
    path = write(tmp_path, variant('  kind: "null"\n', "  kind: file\n  path: out.mp4\n").replace("720", "721"))
    check(one(validate_file(path)), path, 9, 11, "source.height", "721 is odd; the encoder needs an even frame size")


@pytest.mark.parametrize(("bootstrap", "col", "phrase"), [
    ("localhost", 20, "expected 'embedded' (start or reuse the embedded broker) or host:port"),
    ("'a:9092,b:70000'", 20, "port 70000 is out of range"),
])
def test_bad_kafka_bootstrap(tmp_path: Path, bootstrap: str, col: int, phrase: str) -> None:
    path = write(tmp_path, BASE + f"kafka: {{bootstrap: {bootstrap}, group: g}}\n")
    check(one(validate_file(path)), path, 12, col, "kafka.bootstrap", phrase)


def test_passthrough_region_outside_the_frame(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "passthrough:\n  process_estimate_ms: 20\n  region: {x: 1200, y: 0, w: 100, h: 10}\n")
    check(one(validate_file(path)), path, 14, 30, "passthrough.region.w", "x+w = 1300 exceeds the frame width 1280")


# --- kinds of file and topology ---------------------------------------------------------------------------

def test_file_of_unknown_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "# hello\nhello: world\n")
    issue = one(validate_file(path))
    check(issue, path, 2, 1, "(root)", f"not a mediagrid config: expected an app config (top-level 'app:', one of "
          f"{', '.join(known_apps())}), a grid topology (top-level 'sites:')")
    assert "a scenario (top-level 'scenario:')" in issue.message


def test_app_config_without_app_key(tmp_path: Path) -> None:
    path = write(tmp_path, variant("app: passthrough\n", ""))
    with pytest.raises(ConfigError) as raised:
        load_app_config(path)
    check(one(raised.value.issues), path, 1, 1, "app", "required field is missing; it names the application")


def test_topology_given_as_app_config(tmp_path: Path) -> None:
    path = write(tmp_path, TOPOLOGY)
    with pytest.raises(ConfigError) as raised:
        load_app_config(path)
    check(one(raised.value.issues), path, 1, 1, "(root)", "this is a grid topology")


def test_valid_topology(tmp_path: Path) -> None:
    path = write(tmp_path, TOPOLOGY)
    assert validate_file(path) == []
    topology = load_topology(path)
    assert [s["id"] for s in topology["sites"]] == ["fra-1", "par-1"]
    assert topology["regions"][0]["rtt_ms"] == {"fra-1": 6, "par-1": 14}


def test_topology_defects(tmp_path: Path) -> None:
    text = (TOPOLOGY.replace("id: par-1", "id: fra-1").replace("fra-1: 6", "fra-2: 6")
            .replace("health: degraded", "health: sick").replace("max_gpus: 4", "max_gpus: 9"))
    path = write(tmp_path, text)
    issues = validate_file(path)
    assert [(i.line, i.col, i.field) for i in issues] == [
        (10, 23, "sites[0].quota.max_gpus"), (11, 9, "sites[1].id"), (17, 13, "sites[1].health"),
        (21, 14, "regions[0].rtt_ms.fra-2"), (21, 24, "regions[0].rtt_ms.par-1")], issues
    assert "quota of 9 GPUs exceeds the site's 8 GPUs" in issues[0].message
    assert "duplicate id 'fra-1'; first used at line 3" in issues[1].message
    assert "must be one of 'healthy', 'degraded', 'down'" in issues[2].message
    assert "unknown site 'fra-2'; did you mean 'fra-1'?" in issues[3].message
    with pytest.raises(ConfigError):
        load_topology(path)


# --- the schemas themselves -------------------------------------------------------------------------------

def _schemas() -> list[str]:
    names = ["app-common.schema.json", "topology.schema.json"]
    return names + [f"apps/{app}.schema.json" for app in known_apps()]


@pytest.mark.parametrize("name", _schemas())
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((files("mediagrid.schemas") / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_known_apps_come_from_schema_files() -> None:
    schema_dir = Path(__file__).resolve().parents[2] / "schemas" / "apps"
    assert known_apps() == sorted(p.name.removesuffix(".schema.json") for p in schema_dir.glob("*.schema.json"))
    assert "passthrough" in known_apps()


def test_model_common_sections_match_the_common_schema() -> None:
    common = json.loads((files("mediagrid.schemas") / "app-common.schema.json").read_text())
    assert set(common["properties"]) == COMMON_SECTIONS
