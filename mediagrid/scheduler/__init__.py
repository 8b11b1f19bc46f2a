"""Deadline types and outcome rules, service-time estimates, the EDF queue with admission control, and
deadline-aware micro-batching."""
from mediagrid.scheduler.batcher import BatchModel, BatchPlan, plan_batch
from mediagrid.scheduler.deadline import Action, Deadline, Outcome, Policy, classify, decide
from mediagrid.scheduler.edf import Admission, EDFQueue, Job, Shed, admit
from mediagrid.scheduler.estimators import DEFAULT_QUANTILE, EstimatorRegistry, ServiceTimeEstimator
from mediagrid.scheduler.outcomes import OUTCOMES, classify_array

__all__ = [
    "DEFAULT_QUANTILE", "OUTCOMES", "Action", "Admission", "BatchModel", "BatchPlan", "Deadline", "EDFQueue",
    "EstimatorRegistry", "Job", "Outcome", "Policy", "ServiceTimeEstimator", "Shed", "admit", "classify",
    "classify_array", "decide", "plan_batch",
]
