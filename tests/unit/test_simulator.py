import json
import xml.etree.ElementTree as ElementTree
from importlib.resources import files
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from mediagrid.config import ConfigError, validate_file
from mediagrid.errors import UsageError
from mediagrid.grid import Topology
from mediagrid.grid.placement import make_policy
from mediagrid.grid.simulator import generate, place_sessions, run, serve, simulate
from mediagrid.grid.workload import load_workload

REPO = Path(__file__).resolve().parents[2]
METRO = REPO / "configs" / "topologies" / "metro-4site.yaml"
BURST = REPO / "configs" / "workloads" / "burst.yaml"


def _schema(name: str) -> dict:
    return json.loads((files("mediagrid.schemas") / name).read_text())


def _workload(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workload.yaml"
    path.write_text(text)
    return path


SHORT = """\
seed: 5
duration_s: 20
sessions: {arrivals_per_s: 1, mean_duration_s: 10, requests_per_s: 20}
bursts: [{start_s: 5, duration_s: 10, factor: 3, regions: [north, east]}]
strategies: [{name: central}, {name: nearest, sites: [edge-north, edge-east, edge-south, edge-west]},
             {name: random, sites: [edge-north, edge-east, edge-south, edge-west]},
             {name: grid, sites: [edge-north, edge-east, edge-south, edge-west]}]
"""


@pytest.fixture(scope="module")
def metro() -> Topology:
    return Topology.load(METRO)


def _result(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "timing_s"}


@pytest.mark.parametrize("name", ["workload.schema.json", "simulation-summary.schema.json"])
def test_schemas_are_valid_draft_2020_12(name):
    jsonschema.Draft202012Validator.check_schema(_schema(name))


def test_shipped_configs_are_valid(metro):
    assert validate_file(METRO) == []
    workload = load_workload(BURST, metro)
    assert [s.name for s in workload.strategies] == ["central", "nearest", "random", "grid"]
    assert workload.bursts[0].regions == ("north", "east")
    assert metro.central == metro.site_index["core"]
    edges = [s for s in metro.sites if s.id.startswith("edge-")]
    assert sum(s.gpus for s in edges) == metro.sites[metro.central].gpus  # the same GPUs, split four ways


def test_simulate_writes_a_valid_summary_and_plot(tmp_path):
    summary = simulate(METRO, _workload(tmp_path, SHORT), tmp_path / "out")
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert written == json.loads(json.dumps(summary))
    jsonschema.validate(written, _schema("simulation-summary.schema.json"))
    assert list(written["strategies"]) == ["central", "nearest", "random", "grid"]
    svg = ElementTree.parse(tmp_path / "out" / "simulation.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall("{http://www.w3.org/2000/svg}polyline")) == 8


def test_same_seed_same_summary_other_seed_other_summary(tmp_path, metro):
    workload = load_workload(_workload(tmp_path, SHORT), metro)
    first, again = run(metro, workload), run(metro, workload)
    assert _result(first) == _result(again)
    other = load_workload(_workload(tmp_path, SHORT.replace("seed: 5", "seed: 6")), metro)
    assert _result(run(metro, other))["strategies"] != _result(first)["strategies"]


@pytest.mark.parametrize("admission", ["{enabled: true, policy: drop}", "{enabled: true, policy: reuse}",
                                       "{enabled: true, policy: degrade, degraded_cost: 0.3}", "{enabled: false}"])
def test_every_request_ends_in_exactly_one_outcome(tmp_path, metro, admission):
    workload = load_workload(_workload(tmp_path, SHORT + f"admission: {admission}\n"), metro)
    traffic = generate(metro, workload)
    summary = run(metro, workload)
    for name, entry in summary["strategies"].items():
        outcomes = entry["outcomes"]
        assert outcomes["met"] + outcomes["degraded"] + outcomes["dropped"] + outcomes["missed"] == \
            outcomes["count"] == len(traffic.request_origin_ns), name
        assert entry["sessions"]["placed"] + entry["sessions"]["rejected"] == summary["sessions"]
        assert sum(site["requests"] for site in entry["site_load"].values()) == outcomes["count"]
    grid = summary["strategies"]["grid"]["outcomes"]
    if "enabled: false" in admission:
        assert grid["dropped"] == 0 and grid["degraded"] == 0
    elif "reuse" in admission:
        assert grid["dropped"] == 0
    policy = make_policy("grid", metro, sites=["edge-north", "edge-east"], seed=1)
    served = serve(metro, workload, traffic, place_sessions(policy, metro, workload, traffic))
    assert not (served.dropped & served.degraded).any()
    assert (served.finished_ns >= traffic.request_origin_ns).all()


def test_grid_spills_the_burst_where_nearest_drops_it(tmp_path, metro):
    summary = run(metro, load_workload(_workload(tmp_path, SHORT.replace("factor: 3", "factor: 6")), metro))
    grid, nearest = summary["strategies"]["grid"], summary["strategies"]["nearest"]
    assert grid["burst"]["goodput_rps"] > nearest["burst"]["goodput_rps"]
    assert grid["outcomes"]["miss_rate"] < nearest["outcomes"]["miss_rate"]


def test_sessions_that_no_site_may_take_are_dropped(tmp_path):
    topology = tmp_path / "topology.yaml"
    topology.write_text(METRO.read_text().replace("logs: [EU]", "logs: [DE]").replace(
        "    jurisdiction: DE\n    gpus: 32", "    jurisdiction: DE\n    log_jurisdiction: US\n    gpus: 32"))
    summary = simulate(topology, _workload(tmp_path, "duration_s: 5\nstrategies: [{name: central}]\n"), tmp_path / "o")
    central = summary["strategies"]["central"]
    assert central["sessions"]["placed"] == 0 and central["outcomes"]["dropped"] == central["outcomes"]["count"] > 0
    assert central["cost"]["per_item"] is None and central["goodput_rps"] == 0


def test_bad_workload_is_a_located_config_error(tmp_path):
    path = _workload(tmp_path, "duration_s: 10\nbursts: [{start_s: 12, duration_s: 1, factor: 2, regions: [nrth]}]\n"
                               "strategies: [{name: grid, sites: [edge-nort]}, {name: grid}]\nservice_cv: fast\n")
    with pytest.raises(ConfigError) as raised:
        simulate(METRO, path, tmp_path / "out")
    found = [(i.line, i.field, i.message) for i in raised.value.issues]
    assert (2, "bursts[0].regions[0]", "unknown region 'nrth'; did you mean 'north'?") in found
    assert any(f == "bursts[0].start_s" and "after the simulation ends" in m for _, f, m in found)
    assert (3, "strategies[0].sites[0]", "unknown site 'edge-nort'; did you mean 'edge-north'?") in found
    assert any(f == "strategies[1].name" and "listed twice" in m for _, f, m in found)
    assert any(line == 4 and f == "service_cv" for line, f, _ in found)
    assert not (tmp_path / "out").exists()


def test_bad_topology_is_a_config_error(tmp_path):
    path = tmp_path / "topology.yaml"
    path.write_text(METRO.read_text().replace("gpus: 32", "gpus: -1"))
    with pytest.raises(ConfigError) as raised:
        simulate(path, None, tmp_path / "out")
    assert raised.value.issues[0].field == "sites[0].gpus"


def test_unplaceable_use_case_fails_validation(tmp_path):
    path = tmp_path / "topology.yaml"
    path.write_text(METRO.read_text().replace("data: [EU]", "data: [US]"))
    [issue] = validate_file(path)
    assert issue.field == "use_cases.live-commerce.sovereignty" and "could never be placed" in issue.message


def test_unwritable_out_dir_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot write the simulation"):
        simulate(METRO, _workload(tmp_path, "duration_s: 2\nstrategies: [{name: grid}]\n"), blocker / "out")


def test_traffic_follows_the_workload(tmp_path, metro):
    workload = load_workload(_workload(tmp_path, "seed: 1\nduration_s: 200\nsessions: {arrivals_per_s: 3, "
                                                 "mean_duration_s: 5, requests_per_s: 4}\n"), metro)
    traffic = generate(metro, workload)
    expected = len(metro.regions) * 3 * 5 * 4  # requests/s in steady state: arrivals x length x rate
    assert len(traffic.request_origin_ns) / 200 == pytest.approx(expected, rel=0.1)
    assert (np.diff(traffic.session_start_ns) >= 0).all()
    assert (traffic.request_origin_ns < 200e9).all() and (traffic.request_origin_ns >= 0).all()


def test_oversized_workload_is_refused_before_it_runs(tmp_path, metro):
    path = _workload(tmp_path, "duration_s: 3600\nsessions: {arrivals_per_s: 10000}\n")
    with pytest.raises(ConfigError, match="the simulator takes at most 10,000,000"):
        load_workload(path, metro)
