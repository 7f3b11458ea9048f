"""A Seldon Core router: picks which child of the graph serves each request.

`route` gets the request's features and returns the index of the child to use (0 for the first child
in the SeldonDeployment graph, 1 for the second, ...). This one sends rows whose first feature is at
least `threshold` to child 1 and the rest to child 0; change the rule to yours (a customer segment, an
A/B split, a bandit). The threshold is a class parameter:
PREDICTIVE_UNIT_PARAMETERS='[{"name": "threshold", "value": "0.5", "type": "FLOAT"}]'.

`send_feedback` is called with the reward for an earlier request and the child that served it
(`routing`); here the rewards become a COUNTER per child on the metrics port (6000, /metrics), which is
where a bandit would learn instead.
"""

from seldon_core.user_model import SeldonResponse


class MyRouter:
    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = float(threshold)

    def route(self, features, feature_names):
        first = float(features[0][0]) if len(features) else 0.0
        return 1 if first >= self.threshold else 0

    def send_feedback(self, features, feature_names, reward, truth, routing=None):
        child = "unknown" if routing is None else str(routing)
        return SeldonResponse(
            data=[],
            metrics=[{"type": "COUNTER", "key": "router_reward", "value": float(reward), "tags": {"child": child}}],
        )
