"""A Seldon Core combiner: merges the responses of several children into one.

`aggregate` gets a list with one entry per child of the graph (each the child's output, rows by
columns) and their feature names, and returns the combined output. This one averages its children,
the usual ensemble; weight them, vote, or stack them instead.
"""

import numpy as np


class MyCombiner:
    def aggregate(self, features_list, feature_names_list):
        outputs = [np.atleast_2d(np.asarray(x, dtype=float)) for x in features_list]
        return np.mean(outputs, axis=0)
