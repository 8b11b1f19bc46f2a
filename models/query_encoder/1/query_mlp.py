"""The query encoder's forward pass, shared by the Triton model (model.py) and mediagrid's in-process
fallback (mediagrid.recsys.query_encoder), so that both compute exactly the same thing from the same weights.

Plain numpy that runs under numpy 1.x (the Triton venv) and 2.x (mediagrid's venv). The model maps hashed
user and context features to interest weights over catalog prototypes (softmax), and the query to the
unit-length mixture of those prototypes: queries land where items are, as a trained two-tower model's do.
"""
import numpy as np

WEIGHTS_FILE = "weights.npz"
NAMES = ("w1", "b1", "w2", "b2", "prototypes")


def load_weights(path):
    """The weight arrays (float32) from a weights.npz file."""
    with np.load(path) as data:
        return {name: np.ascontiguousarray(data[name], dtype=np.float32) for name in NAMES}


def forward(weights, features):
    """(batch, features) float32 -> (batch, dim) float32 unit query vectors."""
    hidden = np.maximum(features @ weights["w1"] + weights["b1"], 0.0)
    logits = hidden @ weights["w2"] + weights["b2"]
    logits -= logits.max(axis=1, keepdims=True)
    interest = np.exp(logits)
    interest /= interest.sum(axis=1, keepdims=True)
    query = interest @ weights["prototypes"]
    query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
    return query.astype(np.float32)
