"""Each feature of the seldon-core Python wrapper, through an image the builder made (fixtures
wrapper_features, raw_methods, payload_passthrough)."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import requests
from seldon_core.proto import prediction_pb2, prediction_pb2_grpc

from tests import harness

pytestmark = pytest.mark.docker

Build = Callable[[Path], str]
PARAMETERS = json.dumps(
    [
        {"name": "count", "value": "7", "type": "INT"},
        {"name": "scale", "value": "2.5", "type": "FLOAT"},
        {"name": "label", "value": "blue", "type": "STRING"},
        {"name": "verbose", "value": "true", "type": "BOOL"},
    ]
)


def metric(text: str, name: str) -> float:
    """The sum of a Prometheus metric's samples (over workers and label sets)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


@pytest.fixture(scope="module")
def features(built: Build) -> harness.Server:  # type: ignore[misc]
    env = {"PREDICTIVE_UNIT_PARAMETERS": PARAMETERS, "GUNICORN_WORKERS": "2", "GRPC_WORKERS": "1"}
    with harness.serve(built(harness.FIXTURES / "wrapper_features"), env=env) as server:
        yield server


def test_parameters_of_every_type_reach_the_constructor(features: harness.Server) -> None:
    reply = features.post("/api/v1.0/predictions", json={"jsonData": {"hello": "world"}})
    assert reply.status_code == 200, reply.text
    assert reply.json()["jsonData"] == {
        "echo": {"hello": "world"},
        "parameters": {"count": 7, "scale": 2.5, "label": "blue", "verbose": True},
    }


def test_ndarray_with_class_names_tags_and_runtime_response(features: harness.Server) -> None:
    reply = features.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1.0, 2.0]]}})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["data"]["ndarray"] == [[2.5, 5.0]]  # scaled by the FLOAT parameter
    assert body["data"]["names"] == ["first", "second"]  # class_names()
    tags = body["meta"]["tags"]
    assert tags["label"] == "blue" and tags["runtime"] == "tag"  # tags() and SeldonResponse tags
    assert tags["loaded_by"] == tags["pid"]  # load() ran in the worker that answered


def test_custom_and_runtime_metrics_on_the_metrics_port(features: harness.Server) -> None:
    for _ in range(3):
        features.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1.0, 2.0]]}})
    text = requests.get(features.url("/metrics", features.metrics), timeout=5).text
    assert metric(text, "feature_requests_total") >= 3  # COUNTER
    assert "feature_count{" in text and metric(text, "feature_count") >= 7  # GAUGE (per worker)
    assert metric(text, "feature_timer_count") >= 3  # TIMER, a histogram
    assert metric(text, "feature_timer_sum") >= 3 * 0.0125 - 1e-9  # milliseconds, stored as seconds
    assert metric(text, "runtime_gauge") >= 42  # SeldonResponse runtime metric


def test_health_status_and_metadata(features: harness.Server) -> None:
    status = requests.get(features.url("/health/status"), timeout=5)
    assert status.status_code == 200, status.text
    assert status.json()["jsonData"] == {"healthy": True, "loaded_by": True}
    metadata = requests.get(features.url("/metadata"), timeout=5).json()
    assert metadata["name"] == "features" and metadata["platform"] == "s2i-test"
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 2]}]
    assert metadata["custom"] == {"label": "blue"}


def test_load_runs_in_every_worker(features: harness.Server) -> None:
    listing = harness.docker("exec", features.container, "sh", "-c", "ls /tmp | grep ^loaded-")
    loaded = listing.stdout.decode().split()
    # GUNICORN_WORKERS=2 REST workers and GRPC_WORKERS=1 gRPC process each loaded the model once.
    assert len(loaded) == 3, loaded
    pids = set()
    for _ in range(20):
        tags = features.post("/predict", json={"data": {"ndarray": [[1.0, 1.0]]}}).json()["meta"]["tags"]
        pids.add(f"loaded-{tags['loaded_by']}")
    assert pids <= set(loaded)


def test_bin_str_and_json_data(features: harness.Server) -> None:
    payload = b"\x00\x01binary\xff"
    as_json = features.post("/api/v1.0/predictions", json={"binData": base64.b64encode(payload).decode()})
    assert base64.b64decode(as_json.json()["binData"]) == payload[::-1]
    multipart = features.post("/api/v1.0/predictions", files={"binData": ("blob", payload)})
    assert multipart.status_code == 200, multipart.text
    assert base64.b64decode(multipart.json()["binData"]) == payload[::-1]
    text = features.post("/api/v1.0/predictions", json={"strData": "hello seldon"})
    assert text.json()["strData"] == "HELLO SELDON"
    form = features.post("/api/v1.0/predictions", files={"strData": (None, "form text")})
    assert form.json()["strData"] == "FORM TEXT"


def test_errors_reach_the_client_and_the_server_goes_on(features: harness.Server) -> None:
    teapot = features.post("/api/v1.0/predictions", json={"jsonData": {"teapot": "short and stout"}})
    assert teapot.status_code == 418  # the class's own model_error_handler
    status = {"status": 1, "info": "short and stout", "code": 418, "reason": "TEAPOT"}
    assert teapot.json()["status"] == status
    failed = features.post("/api/v1.0/predictions", json={"jsonData": {"fail": "the model broke"}})
    assert failed.status_code == 500
    assert failed.json()["status"]["info"] == "the model broke"
    after = features.post("/api/v1.0/predictions", json={"data": {"ndarray": [[2.0, 2.0]]}})
    assert after.status_code == 200 and after.json()["data"]["ndarray"] == [[5.0, 5.0]]


def test_raw_methods_get_and_return_whole_messages(built: Build) -> None:
    with harness.serve(built(harness.FIXTURES / "raw_methods")) as server:

        def call(path: str, body: dict[str, object]) -> dict[str, object]:
            reply = server.post(path, json=body)
            assert reply.status_code == 200, f"{path}: {reply.text}"
            return reply.json()  # type: ignore[no-any-return]

        rows = {"data": {"ndarray": [[1, 2], [3, 4]]}}
        expected = {
            "/api/v1.0/predictions": ([[3, 7]], "predict_raw"),
            "/transform-input": ([[2, 3], [4, 5]], "transform_input_raw"),
            "/transform-output": ([[10, 20], [30, 40]], "transform_output_raw"),
            "/route": ([[2]], "route_raw"),
        }
        for path, (ndarray, method) in expected.items():
            body = call(path, rows)
            assert body["data"] == {"ndarray": ndarray} and body["meta"] == {"tags": {"method": method}}, path
        messages = {"seldonMessages": [{"data": {"ndarray": [[1]]}}, {"data": {"ndarray": [[9]]}}]}
        assert call("/aggregate", messages)["data"] == {"ndarray": [[9]]}
        feedback = call("/send-feedback", {"request": rows, "reward": 0.5})
        assert feedback["strData"] == "reward 0.5"
        assert feedback["meta"]["tags"] == {"method": "send_feedback_raw"}

        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc}")
        request = prediction_pb2.SeldonMessage(
            data=prediction_pb2.DefaultData(tensor=prediction_pb2.Tensor(shape=[1, 3], values=[1, 2, 3]))
        )
        reply = prediction_pb2_grpc.ModelStub(channel).Predict(request, timeout=30)
        channel.close()
        assert [v.list_value.values[0].number_value for v in reply.data.ndarray.values] == [6.0]


def test_payload_passthrough_hands_over_the_raw_body(built: Build) -> None:
    with harness.serve(built(harness.FIXTURES / "payload_passthrough")) as server:
        reply = server.post(
            "/api/v1.0/predictions", data=b"not json, just text", headers={"Content-Type": "text/plain"}
        )
        assert reply.status_code == 200, reply.text
        assert reply.headers["Content-Type"] == "application/json"
        assert reply.json() == {"type": "bytes", "length": 19, "upper": "NOT JSON, JUST TEXT"}


def test_tracing_reports_rest_and_grpc_spans_to_the_jaeger_agent(model_template_image: str) -> None:
    """TRACING=1: seldon-core's Jaeger client (Flask-OpenTracing, grpcio-opentracing) sends its spans
    over UDP, in Thrift, to JAEGER_AGENT_HOST:JAEGER_AGENT_PORT; a socket here plays the agent."""
    agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    agent.bind(("127.0.0.1", 0))
    agent.settimeout(1)
    env = {"TRACING": "1", "JAEGER_AGENT_HOST": "127.0.0.1", "JAEGER_AGENT_PORT": str(agent.getsockname()[1])}
    wanted = {b"MyModel", b"/api/v1.0/predictions", b"/seldon.protos.Model/Predict"}
    received = b""
    with agent, harness.serve(model_template_image, env=env) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2, 3]]}})
        assert reply.status_code == 200, reply.text
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            request = prediction_pb2.SeldonMessage()
            request.data.tensor.shape.extend([1, 3])
            request.data.tensor.values.extend([1.0, 2.0, 3.0])
            assert prediction_pb2_grpc.ModelStub(channel).Predict(request, timeout=10).data.tensor.values
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(w in received for w in wanted):
            try:
                received += agent.recv(65535)
            except TimeoutError:
                continue
    assert received.startswith(b"\x82\x81\x01\temitBatch"), received[:40]  # Thrift compact emitBatch
    assert {w for w in wanted if w not in received} == set(), received
