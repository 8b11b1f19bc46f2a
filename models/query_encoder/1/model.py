"""Triton python-backend model ``query_encoder``: hashed user/context features -> query vector in the item
space. The math lives in query_mlp.py beside this file (mediagrid's in-process fallback runs that file too)."""
import os
import sys

import numpy as np
import triton_python_backend_utils as pb_utils

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import query_mlp  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.join(args["model_repository"], args["model_version"])
        self.weights = query_mlp.load_weights(os.path.join(here, query_mlp.WEIGHTS_FILE))

    def execute(self, requests):
        responses = []
        for request in requests:
            features = pb_utils.get_input_tensor_by_name(request, "FEATURES").as_numpy()
            query = query_mlp.forward(self.weights, np.asarray(features, dtype=np.float32))
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("QUERY", query)]))
        return responses
