"""Deadline types, outcome rules and (later) the EDF queue, admission control and micro-batching."""
from mediagrid.scheduler.deadline import Action, Deadline, Outcome, Policy, classify, decide

__all__ = ["Action", "Deadline", "Outcome", "Policy", "classify", "decide"]
