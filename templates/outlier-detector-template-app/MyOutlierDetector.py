"""A Seldon Core outlier detector: scores each request and lets it through unchanged.

`score` gets the request's features (one row per instance) and returns one outlier score per row.
The builder serves it on /transform-input: the request passes through to the next step of the graph
and the scores are added to the response as `meta.tags.outlierScore`, as Seldon's outlier detectors
do. This one is a z-score: the largest distance of a row's features from the training mean, in
standard deviations; `stats.json` holds the statistics. Replace both with your detector (and return
larger scores for stranger rows).
"""

import json
from pathlib import Path

import numpy as np


class MyOutlierDetector:
    def __init__(self) -> None:
        stats = json.loads((Path(__file__).parent / "stats.json").read_text())
        self.mean = np.array(stats["mean"])
        self.std = np.array(stats["std"])

    def score(self, X, feature_names=None):
        rows = np.atleast_2d(np.asarray(X, dtype=float))
        return np.abs((rows - self.mean) / self.std).max(axis=1)
