"""Write the query encoder's fixed, seeded weights into the project's Triton model repository.

    .venv/bin/python tools/triton/make_weights.py [--repository models]

The weights are committed (models/query_encoder/1/weights.npz); rerun this only after changing
mediagrid.recsys.query_encoder.make_weights or the default catalog shape. tests/unit/test_recsys_encoder.py
checks that the committed file still equals what this writes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mediagrid.recsys.catalog import CatalogSpec
from mediagrid.recsys.query_encoder import make_weights, model_version_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repository", type=Path, default=Path(__file__).resolve().parents[2] / "models")
    args = parser.parse_args()
    path = model_version_dir(args.repository) / "weights.npz"
    np.savez(path, **make_weights(CatalogSpec()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
