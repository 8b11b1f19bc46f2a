"""The AI grid: topology, placement policies (the control plane's and the baselines'), and the simulator
that compares them on the same traffic."""
from mediagrid.grid.placement import STRATEGIES, Decision, PlacementPolicy, SessionRequest, make_policy
from mediagrid.grid.queueing import LatencyModel
from mediagrid.grid.simulator import run, simulate
from mediagrid.grid.state import GridState
from mediagrid.grid.topology import DEFAULT_USE_CASE, HEALTH, Location, Quota, Region, Site, Topology, UseCase
from mediagrid.grid.workload import Burst, StrategySpec, Workload, default_workload, load_workload

__all__ = [
    "DEFAULT_USE_CASE", "HEALTH", "STRATEGIES", "Burst", "Decision", "GridState", "LatencyModel", "Location",
    "PlacementPolicy", "Quota", "Region", "SessionRequest", "Site", "StrategySpec", "Topology", "UseCase",
    "Workload", "default_workload", "load_workload", "make_policy", "run", "simulate",
]
