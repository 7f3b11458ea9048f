"""A Seldon Core input transformer: changes a request before the model sees it.

`transform_input` gets the request's features (one row per instance) and returns the features the
next step of the graph receives. This one standardises each column with the mean and standard
deviation measured on the training data; put your own statistics (or any preprocessing: scaling,
encoding, tokenising) here.
"""

import numpy as np


class MyTransformer:
    def __init__(self) -> None:
        # Column statistics of the training set (here: the four iris measurements, in cm).
        self.mean = np.array([5.84, 3.06, 3.76, 1.20])
        self.std = np.array([0.83, 0.44, 1.77, 0.76])

    def transform_input(self, X, features_names=None):
        rows = np.atleast_2d(np.asarray(X, dtype=float))
        return (rows - self.mean) / self.std
