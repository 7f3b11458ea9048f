"""Probes that tell the truth while the model loads (fixture serving_model, whose load() sleeps as long
as its load_seconds parameter says, and raises when fail_load is set)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from seldon_core.proto import prediction_pb2, prediction_pb2_grpc
from tritonclient.grpc import service_pb2, service_pb2_grpc

from tests import harness

pytestmark = pytest.mark.docker

LOAD_SECONDS = 15
READY_MODEL = "/v2/models/ServingModel/ready"
SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="module")
def image(built: Callable[[Path], str]) -> str:
    return built(harness.FIXTURES / "serving_model")


def parameters(**values: object) -> str:
    kinds = {float: "FLOAT", bool: "BOOL"}
    return json.dumps(
        [{"name": k, "value": str(v).lower(), "type": kinds[type(v)]} for k, v in values.items()]
    )


def timed_get(server: harness.Server, path: str) -> tuple[int, float]:
    started = time.monotonic()
    status = requests.get(server.url(path), timeout=5).status_code
    return status, time.monotonic() - started


def grpc_health(channel: grpc.Channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status  # type: ignore[no-any-return]


def grpc_predict(channel: grpc.Channel) -> prediction_pb2.SeldonMessage:
    tensor = prediction_pb2.Tensor(shape=[1, 2], values=[0.0, 4.0])
    request = prediction_pb2.SeldonMessage(data=prediction_pb2.DefaultData(tensor=tensor))
    return prediction_pb2_grpc.ModelStub(channel).Predict(request, timeout=5)


def v2_grpc_state(channel: grpc.Channel) -> tuple[bool, bool, bool]:
    """ServerLive, ServerReady and ModelReady of the Open Inference Protocol's gRPC service."""
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    live = stub.ServerLive(service_pb2.ServerLiveRequest(), timeout=5).live
    ready = stub.ServerReady(service_pb2.ServerReadyRequest(), timeout=5).ready
    model = stub.ModelReady(service_pb2.ModelReadyRequest(name="ServingModel"), timeout=5).ready
    return live, ready, model


def v2_grpc_infer(channel: grpc.Channel) -> service_pb2.ModelInferResponse:
    request = service_pb2.ModelInferRequest(model_name="ServingModel")
    tensor = request.inputs.add(name="x", datatype="FP64", shape=[1, 2])
    tensor.contents.fp64_contents.extend([0.0, 4.0])
    return service_pb2_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=5)


def test_live_at_once_ready_only_once_loaded(image: str) -> None:
    """A load() of 15 s on 2 REST workers and a gRPC process: liveness answers 200 as soon as the server
    listens, readiness and predictions 503 at once (REST) or NOT_SERVING / UNAVAILABLE (gRPC); then,
    loaded, everything answers 200."""
    env = {
        "PREDICTIVE_UNIT_PARAMETERS": parameters(load_seconds=float(LOAD_SECONDS)),
        "GUNICORN_WORKERS": "2",
        "GRPC_WORKERS": "1",
    }
    started = time.monotonic()
    with harness.serve(image, env=env, wait_for="/health/live", timeout=60) as server:
        live_after = time.monotonic() - started
        paths = ("/health/live", "/v2/health/live", "/health/ping", "/v2/health/ready", READY_MODEL)
        loading = {path: timed_get(server, path) for path in paths}
        prediction = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[0.0, 1.0]]}})
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            health_loading = grpc_health(channel)
            with pytest.raises(grpc.RpcError) as refused:
                grpc_predict(channel)
            v2_loading = v2_grpc_state(channel)
            with pytest.raises(grpc.RpcError) as v2_refused:
                v2_grpc_infer(channel)
            assert time.monotonic() - started < LOAD_SECONDS, "the model loaded before the checks ran"
            assert {path: status for path, (status, _) in loading.items()} == {
                "/health/live": 200,
                "/v2/health/live": 200,
                "/health/ping": 503,
                "/v2/health/ready": 503,
                READY_MODEL: 503,
            }
            assert max(seconds for _, seconds in loading.values()) < 1.0, loading
            assert prediction.status_code == 503
            assert prediction.json()["status"]["reason"] == "MICROSERVICE_NOT_READY"
            assert health_loading == health_pb2.HealthCheckResponse.NOT_SERVING
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert v2_loading == (True, False, False)  # V2 over gRPC: live, not ready
            assert v2_refused.value.code() == grpc.StatusCode.UNAVAILABLE
            ready_after = harness.wait_ready(server, 60)
            deadline = time.monotonic() + 30
            while grpc_health(channel) != SERVING and time.monotonic() < deadline:
                time.sleep(0.2)
            assert list(grpc_predict(channel).data.tensor.values) == [0.0, 4.0]
            assert v2_grpc_state(channel) == (True, True, True)
            assert v2_grpc_infer(channel).outputs[0].datatype == "FP64"
        for path in paths:
            assert requests.get(server.url(path), timeout=5).status_code == 200, path
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[0.0, 1.0]]}})
        assert reply.status_code == 200 and reply.json()["data"]["ndarray"] == [[0.0, 1.0]]
    assert live_after < LOAD_SECONDS and ready_after > 1, (live_after, ready_after)


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_a_failing_load_stops_the_container_with_the_cause_logged_once(image: str, server: str) -> None:
    env = {
        "PREDICTIVE_UNIT_PARAMETERS": parameters(load_seconds=1.0, fail_load=True),
        "GUNICORN_WORKERS": "2",
        "GRPC_WORKERS": "2",
        "SELDON_S2I_SERVER": server,
    }
    container = f"s2i-test-{harness.unique_tag('x')[-8:]}"
    ports = {
        "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": harness.free_port(),
        "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": harness.free_port(),
        "PREDICTIVE_UNIT_METRICS_SERVICE_PORT": harness.free_port(),
    }
    argv = ["run", "--name", container, "--network", "host"]
    for key, value in {**ports, **env}.items():
        argv += ["-e", f"{key}={value}"]
    try:
        started = time.monotonic()
        result = harness.docker(*argv, image, check=False)
        took = time.monotonic() - started
        logs = (result.stdout + result.stderr).decode(errors="replace")
    finally:
        harness.docker("rm", "--force", container, check=False)
    assert result.returncode != 0, logs
    # 4 processes (2 REST workers, 2 gRPC processes) loaded it; the cause is told once
    assert logs.count("FileNotFoundError: weights.bin: the model's weights are missing") == 1, logs
    assert logs.count("Traceback") == 1, logs
    assert took < 30, (took, logs)
