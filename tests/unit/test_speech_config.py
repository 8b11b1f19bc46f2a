"""The live translation configs: the shipped files validate, and bad riva/delay settings fail with a message."""
from __future__ import annotations

from pathlib import Path

import pytest

from mediagrid.apps.live_translation import _api_key, _check_delay, _file
from mediagrid.config import load_app_config, validate_file
from mediagrid.errors import UsageError
from mediagrid.speech.vad import VadSettings

REPO = Path(__file__).resolve().parents[2]
CONFIGS = [REPO / "configs" / "live_translation.yaml", REPO / "configs" / "live_translation_riva.yaml"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path: Path) -> None:
    assert validate_file(path) == []


def test_defaults_fill_the_riva_section(tmp_path: Path) -> None:
    path = tmp_path / "lt.yaml"
    path.write_text("app: live_translation\nnode: {id: n1, site: s, jurisdiction: EU}\n"
                    "deadlines: {segment_ms: 1500}\nsource: {kind: synthetic, fps: 25, width: 320, height: 240}\n")
    config = load_app_config(path)
    riva, own = config.sections["riva"], config.sections["live_translation"]
    assert riva["uri"] == "embedded" and riva["tts"] == {"language_code": "es-US", "voice_name": "", "metadata": {}}
    assert own["vad"]["end_ms"] == 300 and own["program_delay_ms"] == 7000 and own["program_rate"] == 48000


def _issues(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "lt.yaml"
    path.write_text(CONFIGS[0].read_text() + text)
    return [str(i) for i in validate_file(path)]


def test_upper_case_metadata_keys_are_refused(tmp_path: Path) -> None:
    # gRPC would fail every call with "Illegal header key"; the config says so before the run
    [issue] = _issues(tmp_path, "  metadata: {Function-ID: abc}\n")
    assert "riva.metadata" in issue and "Function-ID" in issue


def test_riva_uri_must_be_embedded_or_host_port(tmp_path: Path) -> None:
    path = tmp_path / "lt.yaml"
    path.write_text(CONFIGS[0].read_text().replace("uri: embedded", "uri: riva.example.com"))
    [issue] = map(str, validate_file(path))
    assert "riva.uri" in issue


def test_a_program_delay_shorter_than_a_segment_can_take_is_refused() -> None:
    vad = VadSettings(end_ms=300, max_segment_ms=5000)
    _check_delay({"program_delay_ms": 6800}, vad, 1500)
    with pytest.raises(UsageError, match="program_delay_ms 6000 is too short.*at least 6800"):
        _check_delay({"program_delay_ms": 6000}, vad, 1500)


def test_api_key_comes_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MG_TEST_RIVA_KEY", raising=False)
    assert _api_key({"api_key_env": ""}) is None
    with pytest.raises(UsageError, match="MG_TEST_RIVA_KEY, which is not set"):
        _api_key({"api_key_env": "MG_TEST_RIVA_KEY"})
    monkeypatch.setenv("MG_TEST_RIVA_KEY", "k1")
    assert _api_key({"api_key_env": "MG_TEST_RIVA_KEY"}) == "k1"


def test_tls_files_must_exist(tmp_path: Path) -> None:
    assert _file({}, "ssl_root_cert") is None
    with pytest.raises(UsageError, match="riva.ssl_root_cert: file not found"):
        _file({"ssl_root_cert": str(tmp_path / "ca.pem")}, "ssl_root_cert")
