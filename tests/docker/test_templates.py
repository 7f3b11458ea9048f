"""Every template in templates/, built with the s2i contract and called on its own endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import requests
from seldon_core.seldon_client import SeldonClient

from tests import harness

pytestmark = pytest.mark.docker

Build = Callable[[Path], str]
IRIS = [[5.1, 3.5, 1.4, 0.2], [7.7, 2.6, 6.9, 2.3]]
MEAN, STD = np.array([5.84, 3.06, 3.76, 1.20]), np.array([0.83, 0.44, 1.77, 0.76])


def template(name: str) -> Path:
    return harness.TEMPLATES / f"{name}-template-app"


def test_router_routes_by_rule_and_takes_feedback(built: Build) -> None:
    params = '[{"name": "threshold", "value": "6.0", "type": "FLOAT"}]'
    with harness.serve(built(template("router")), env={"PREDICTIVE_UNIT_PARAMETERS": params}) as server:
        low = server.post("/route", json={"data": {"ndarray": [[5.1, 3.5]]}})
        high = server.post("/route", json={"data": {"ndarray": [[7.7, 2.6]]}})
        assert low.status_code == high.status_code == 200, low.text + high.text
        assert low.json()["data"]["ndarray"] == [[0]]
        assert high.json()["data"]["ndarray"] == [[1]]

        feedback = {
            "request": {"data": {"ndarray": [[7.7, 2.6]]}},
            "response": {"meta": {"routing": {"0": 1}}, "data": {"ndarray": [[1]]}},
            "reward": 0.75,
        }
        for _ in range(2):
            reply = server.post("/send-feedback", json=feedback)
            assert reply.status_code == 200, reply.text
        metrics = requests.get(server.url("/metrics", server.metrics), timeout=5).text
        rewards = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("router_reward_total{") and 'child="1"' in line
        ]
        assert sum(rewards) == pytest.approx(1.5), metrics


def test_transformer_standardises_the_input(built: Build) -> None:
    with harness.serve(built(template("transformer"))) as server:
        reply = server.post("/transform-input", json={"data": {"names": list("abcd"), "ndarray": IRIS}})
        assert reply.status_code == 200, reply.text
        expected = (np.array(IRIS) - MEAN) / STD
        assert harness.flat(reply.json()["data"]["ndarray"]) == pytest.approx(expected.ravel().tolist())


def test_output_transformer_turns_probabilities_into_labels(built: Build) -> None:
    with harness.serve(built(template("output-transformer"))) as server:
        probabilities = [[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]]
        reply = server.post("/transform-output", json={"data": {"ndarray": probabilities}})
        assert reply.status_code == 200, reply.text
        assert reply.json()["data"]["ndarray"] == [["versicolor", 0.7], ["setosa", 0.8]]


def test_combiner_averages_its_children(built: Build) -> None:
    with harness.serve(built(template("combiner"))) as server:
        children = {
            "seldonMessages": [
                {"data": {"ndarray": [[0.2, 0.8], [1.0, 0.0]]}},
                {"data": {"ndarray": [[0.4, 0.6], [0.0, 1.0]]}},
                {"data": {"ndarray": [[0.6, 0.4], [0.5, 0.5]]}},
            ]
        }
        reply = server.post("/aggregate", json=children)
        assert reply.status_code == 200, reply.text
        assert harness.flat(reply.json()["data"]["ndarray"]) == pytest.approx([0.4, 0.6, 0.5, 0.5])


def test_outlier_detector_scores_and_passes_the_request_through(built: Build) -> None:
    image = built(template("outlier-detector"))
    with harness.serve(image) as server:
        request = {"data": {"names": ["sl", "sw", "pl", "pw"], "ndarray": [*IRIS, [20.0, 3.0, 4.0, 1.0]]}}
        reply = server.post("/transform-input", json=request)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["data"]["ndarray"] == request["data"]["ndarray"]  # unchanged
        assert body["data"]["names"] == request["data"]["names"]
        expected = np.abs((np.array(request["data"]["ndarray"]) - MEAN) / STD).max(axis=1)
        assert body["meta"]["tags"]["outlierScore"] == pytest.approx(expected.tolist())
        assert expected[-1] > 10 > expected[0]  # the odd row stands out

        # The same over gRPC, with seldon-core's own client.
        client = SeldonClient(microservice_endpoint=f"127.0.0.1:{server.grpc}")
        result = client.microservice(method="transform-input", transport="grpc", data=np.array(IRIS))
        assert result.success, result.msg
        tags = result.response.meta.tags["outlierScore"]
        scores = [v.number_value for v in tags.list_value.values]
        assert scores == pytest.approx(expected[:2].tolist())


def test_seldon_client_against_the_model_template(model_template_image: str) -> None:
    """seldon-core's SeldonClient in microservice mode, REST and gRPC."""
    with harness.serve(model_template_image) as server:
        data = np.array([[1.0, 2.0, 3.0]])
        rest = SeldonClient(microservice_endpoint=f"127.0.0.1:{server.http}")
        result = rest.microservice(method="predict", transport="rest", data=data)
        assert result.success, result.msg
        assert list(result.response.data.tensor.values) == pytest.approx([3.1])  # parsed into a proto

        grpc_client = SeldonClient(microservice_endpoint=f"127.0.0.1:{server.grpc}")
        result = grpc_client.microservice(method="predict", transport="grpc", data=data)
        assert result.success, result.msg
        assert list(result.response.data.tensor.values) == pytest.approx([3.1])
