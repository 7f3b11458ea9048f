"""A minimal Seldon Core model: a fixed linear score over three features.

Change `__init__` to load your own model (a joblib file in this folder, say) and `predict` to call
it. `predict` gets the request's features as a numpy array (one row per instance) and the feature
names; what it returns is sent back in the same format the request used. `metrics` is optional: its
values appear on the metrics port (6000) at /metrics.
"""

import numpy as np


class MyModel:
    def __init__(self) -> None:
        self.weights = np.array([0.5, -0.25, 1.0])
        self.bias = 0.1
        self.rows = 0

    def predict(self, X, features_names=None):
        rows = np.atleast_2d(np.asarray(X, dtype=float))
        self.rows = len(rows)
        return (rows @ self.weights + self.bias).reshape(-1, 1)

    def class_names(self):
        return ["score"]

    def metrics(self):
        # Called after each prediction; a COUNTER adds up across requests.
        return [{"type": "COUNTER", "key": "rows_scored", "value": self.rows}]
