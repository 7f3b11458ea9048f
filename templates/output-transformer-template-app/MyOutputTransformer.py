"""A Seldon Core output transformer: changes a model's response before it is returned.

`transform_output` gets the model's output (one row per instance) and returns what the caller
receives. This one turns class probabilities into the winning class and its probability; change
`labels` to your classes, or return anything else your callers want (a label string, a top-k list).
"""

import numpy as np


class MyOutputTransformer:
    def __init__(self) -> None:
        self.labels = ["setosa", "versicolor", "virginica"]

    def transform_output(self, X, features_names=None):
        probabilities = np.atleast_2d(np.asarray(X, dtype=float))
        best = probabilities.argmax(axis=1)
        return [[self.labels[i], float(row[i])] for i, row in zip(best, probabilities)]

    def class_names(self):
        return ["label", "probability"]
