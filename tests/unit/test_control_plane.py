from pathlib import Path

import pytest

from mediagrid.grid.control import ControlPlane
from mediagrid.grid.topology import Topology

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def plane() -> ControlPlane:
    return ControlPlane(Topology.load(REPO / "configs" / "topologies" / "metro-4site.yaml"))


def beat(node: str, site: str, health: str = "healthy", interval_ms: float = 500) -> dict:
    return {"v": 1, "ts_ms": 0, "node_id": node, "site": site, "jurisdiction": "DE", "health": health,
            "utilization": 0.1, "queue_depth": 0, "misses": 0, "heartbeat_seq": 1, "interval_ms": interval_ms}


def test_no_live_node_no_placement(plane):
    assert plane.request({"session_id": "s1", "region": "north"}) is None
    assert "s1" in plane.unplaced


def test_places_on_a_live_node_and_keeps_affinity(plane):
    for node, site in (("n1", "edge-north"), ("n2", "edge-east"), ("n3", "core")):
        plane.heartbeat(beat(node, site), now_s=0.0)
    first = plane.request({"session_id": "s1", "region": "north", "rate_rps": 5})
    assert first is not None and first.node_id in {"n1", "n2", "n3"} and first.reasons
    again = plane.request({"session_id": "s1", "region": "north", "rate_rps": 5})
    assert again.site == first.site and again.node_id == first.node_id
    assert first.message(123)["predicted_latency_ms"] > 0


def test_silent_node_sessions_move_within_two_intervals(plane):
    for node, site in (("n1", "edge-north"), ("n2", "edge-east"), ("n3", "edge-south")):
        plane.heartbeat(beat(node, site), now_s=0.0)
    placed = [plane.request({"session_id": f"s{i}", "region": "north"}) for i in range(6)]
    victim = placed[0].node_id
    on_victim = {p.session_id for p in placed if p.node_id == victim}
    survivors = [n for n in ("n1", "n2", "n3") if n != victim]
    for t in (0.5, 0.9):
        for n in survivors:
            plane.heartbeat(beat(n, plane.nodes[n].site), now_s=t)
        assert plane.tick(t) == []  # one interval of silence is not yet a failure
    for n in survivors:
        plane.heartbeat(beat(n, plane.nodes[n].site), now_s=1.01)
    moved = plane.tick(1.01)  # 1.01 s > 2 x 0.5 s since the victim's last heartbeat
    assert {m.session_id for m in moved} == on_victim
    assert all(m.node_id != victim and m.reasons[0].startswith("re-placed") for m in moved)
    assert plane.nodes[victim].sessions == set()


def test_announced_down_moves_at_once(plane):
    plane.heartbeat(beat("n1", "edge-north"), now_s=0.0)
    plane.heartbeat(beat("n2", "edge-east"), now_s=0.0)
    p = plane.request({"session_id": "s1", "region": "north"})
    moved = plane.heartbeat(beat(p.node_id, plane.nodes[p.node_id].site, health="down"), now_s=0.1)
    assert len(moved) == 1 and moved[0].node_id != p.node_id


def test_unknown_site_is_ignored(plane):
    assert plane.heartbeat(beat("x", "mars"), now_s=0) == [] and "x" not in plane.nodes
