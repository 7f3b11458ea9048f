"""Serving in production: the stop that loses no request, the metrics without a Manager, a soak.

The model (tests/fixtures/serving_model) sleeps as long as the request's first value says and reports
every kind of custom metric, so requests can be kept in flight and metrics compared.
"""

from __future__ import annotations

import json
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from seldon_core.proto import prediction_pb2, prediction_pb2_grpc

from tests import harness

pytestmark = pytest.mark.docker

SOURCE = harness.FIXTURES / "serving_model"
SOAK_SECONDS = 120
# The REST server: granian, the default, and the gunicorn fallback (SELDON_S2I_SERVER=gunicorn).
SERVERS = {"granian": {}, "gunicorn": {"SELDON_S2I_SERVER": "gunicorn"}}


@pytest.fixture(scope="module")
def image(built: Callable[[Path], str]) -> str:
    return built(SOURCE)


@pytest.fixture(params=sorted(SERVERS))
def server_env(request: pytest.FixtureRequest) -> dict[str, str]:
    return SERVERS[request.param]


def rest_predict(server: harness.Server, values: list[float]) -> requests.Response:
    return server.post("/api/v1.0/predictions", json={"data": {"ndarray": [values]}})


def connected(server: harness.Server) -> grpc.Channel:
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc}")
    grpc.channel_ready_future(channel).result(timeout=30)
    return channel


def grpc_predict(server: harness.Server, values: list[float], channel: grpc.Channel | None = None) -> Any:
    with channel or connected(server) as channel:
        tensor = prediction_pb2.Tensor(shape=[1, len(values)], values=values)
        request = prediction_pb2.SeldonMessage(data=prediction_pb2.DefaultData(tensor=tensor))
        return prediction_pb2_grpc.ModelStub(channel).Predict(request, timeout=60)


def state(server: harness.Server) -> dict[str, Any]:
    return json.loads(harness.docker("inspect", server.container).stdout)[0]["State"]  # type: ignore[no-any-return]


def test_sigterm_answers_every_request_in_flight(image: str, server_env: dict[str, str]) -> None:
    """4 REST requests on 2 workers (2 being served, 2 waiting in the socket's backlog) and 2 gRPC
    calls, 2 s each, then `docker stop`: every one gets its real answer and the container exits 0."""
    env = {"GUNICORN_WORKERS": "2", "SELDON_S2I_DRAIN_SECONDS": "0", **server_env}
    with harness.serve(image, env=env) as server, ThreadPoolExecutor(6) as pool:
        channels = [connected(server) for _ in range(2)]
        rest = [pool.submit(rest_predict, server, [2.0, float(i)]) for i in range(4)]
        calls = [pool.submit(grpc_predict, server, [2.0, 10.0 + i], channels[i]) for i in range(2)]
        time.sleep(1)  # all six sent (and none answered: each takes 2 s)
        started = time.monotonic()
        harness.docker("stop", "--time", "30", server.container)
        stopped_in = time.monotonic() - started
        for i, future in enumerate(rest):
            reply = future.result()
            assert reply.status_code == 200, reply.text
            assert reply.json()["data"]["ndarray"] == [[2.0, float(i)]]
        for i, future in enumerate(calls):
            assert list(future.result().data.tensor.values) == [2.0, 10.0 + i]
        assert state(server)["ExitCode"] == 0, server.logs()
        assert stopped_in < 15, f"took {stopped_in:.1f}s to stop:\n{server.logs()}"


def test_drain_keeps_serving_while_not_ready(image: str, server_env: dict[str, str]) -> None:
    with harness.serve(image, env={"SELDON_S2I_DRAIN_SECONDS": "4", **server_env}) as server:
        assert requests.get(server.url("/health/ping"), timeout=5).status_code == 200
        harness.docker("kill", "--signal", "TERM", server.container)
        signalled = time.monotonic()
        time.sleep(0.5)
        during = []
        while time.monotonic() - signalled < 3:  # new connections, inside the drain
            ping = requests.get(server.url("/health/ping"), timeout=5)
            during.append((ping.status_code, rest_predict(server, [0.0, 1.0]).status_code))
            during.append((ping.status_code, len(grpc_predict(server, [0.0, 2.0]).data.tensor.values)))
            time.sleep(0.2)
        assert during and set(during) <= {(503, 200), (503, 2)}, during
        while state(server)["Running"] and time.monotonic() - signalled < 30:
            time.sleep(0.2)
        exited_after = time.monotonic() - signalled
        assert state(server)["ExitCode"] == 0, server.logs()
        assert 4 <= exited_after < 10, exited_after


def samples(text: str) -> tuple[dict[str, str], list[tuple[str, tuple[tuple[str, str], ...], float]], int]:
    """Family types by name; every sample with its labels, worker_id written as "W" (the containers'
    process ids differ), as a sorted list, so equal lists are equal multisets; how many workers."""
    types, found, workers = {}, [], set()
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            labels = dict(sample.labels)
            workers.add(labels["worker_id"])
            labels["worker_id"] = "W"
            found.append((sample.name, tuple(sorted(labels.items())), sample.value))
    return types, sorted(found), len(workers)


def traffic(server: harness.Server) -> str:
    """The same requests, in the same order, each followed by a scrape that must already count it."""
    for i, seconds in enumerate([0.0, 0.002, 0.05, 0.0, 0.3, 0.001]):
        reply = rest_predict(server, [seconds, 1.0])
        assert reply.status_code == 200, reply.text
        metrics = requests.get(server.url("/metrics", server.metrics), timeout=5).text
        answered = [line for line in metrics.splitlines() if line.startswith("answered_total{")]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in answered) == i + 1, metrics
    for seconds in (0.0, 0.02):
        grpc_predict(server, [seconds, 3.0])
    feedback = {"request": {"data": {"ndarray": [[0.0, 1.0]]}}, "reward": 0.75}
    assert server.post("/api/v1.0/feedback", json=feedback).status_code == 200
    assert requests.get(server.url("/health/status"), timeout=5).status_code == 200
    return requests.get(server.url("/metrics", server.metrics), timeout=5).text


def test_metrics_exposition_equals_the_stock_wrappers(image: str) -> None:
    env = {
        "GUNICORN_WORKERS": "1",
        "GRPC_WORKERS": "1",
        "PREDICTOR_ID": "p1",
        "PREDICTIVE_UNIT_ID": "m1",
        "PREDICTIVE_UNIT_IMAGE": "repo/model:1.2",
        "SELDON_DEPLOYMENT_ID": "dep",
        "PREDICTOR_LABELS": json.dumps({"version": "v7"}),
    }
    with harness.serve(image, env={**env, "SELDON_S2I_METRICS": "stock"}) as server:
        stock = traffic(server)
    with harness.serve(image, env=env) as server:
        ours = traffic(server)
        # no Manager process: REST master and worker, gRPC parent and worker, metrics master and worker
        processes = harness.docker("top", server.container).stdout.decode().count("seldon_s2i_serve.py")
        assert processes == 6, harness.docker("top", server.container).stdout.decode()
    stock_types, stock_samples, stock_workers = samples(stock)
    assert {"answered", "answered_by_worker", "sleep_ms", "rows"} <= set(stock_types)  # counters lose _total
    assert "seldon_api_model_feedback_reward" in stock_types
    assert 'model_image="repo/model"' in stock and 'method="health"' in stock
    assert stock_workers == 2  # the REST worker and the gRPC process
    assert samples(ours) == (stock_types, stock_samples, stock_workers)


def test_a_port_in_use_stops_the_start_with_its_variable_named(image: str) -> None:
    """A gRPC port another process listens on: the gRPC process used to die with a traceback while the
    container stayed up, live and never ready. `run` now names the variable and exits 2 at once,
    before the model is imported."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"HTTP": harness.free_port(), "GRPC": port, "METRICS": harness.free_port()}
        env = [f"-e=PREDICTIVE_UNIT_{kind}_SERVICE_PORT={value}" for kind, value in ports.items()]
        name = f"s2i-test-{port}"
        try:  # a container that stays up (as it did) fails the test at the timeout, instead of hanging it
            result = harness.docker(
                "run", "--name", name, "--network", "host", *env, image, check=False, timeout=30
            )
        finally:
            harness.docker("rm", "--force", name, check=False)
    log = (result.stdout + result.stderr).decode()
    assert result.returncode == 2, log
    assert f"ERROR PREDICTIVE_UNIT_GRPC_SERVICE_PORT={port}: the port cannot be used" in log
    assert f"TIP Another process listens on {port}" in log
    assert "Importing" not in log, log  # before the model's import


def test_read_only_root_and_arbitrary_uid(image: str, server_env: dict[str, str]) -> None:
    read_only = ["--read-only", "--tmpfs", "/tmp"]
    with harness.serve(image, env=server_env, user="12345:0", docker_args=read_only) as server:
        assert rest_predict(server, [0.0, 5.0]).json()["data"]["ndarray"] == [[0.0, 5.0]]
        assert list(grpc_predict(server, [0.0, 6.0]).data.tensor.values) == [0.0, 6.0]
        metrics = requests.get(server.url("/metrics", server.metrics), timeout=5).text
        assert re.search(r"^answered_total\{.*\} 1\.0$", metrics, re.M), metrics
        assert len(re.findall(r"^answered_total\{", metrics, re.M)) == 2  # a REST and a gRPC process
        harness.docker("stop", "--time", "30", server.container)
        assert state(server)["ExitCode"] == 0, server.logs()
        assert "[ERROR]" not in server.logs() and "Traceback" not in server.logs(), server.logs()


def memory_mib(server: harness.Server) -> float:
    stats = harness.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", server.container)
    used = stats.stdout.decode().split("/")[0].strip()
    number, unit = re.fullmatch(r"([\d.]+)\s*([KMG]i?B)", used).groups()  # type: ignore[union-attr]
    return float(number) * {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}[unit]


@pytest.fixture
def soak_server(image: str, server_env: dict[str, str]) -> Iterator[harness.Server]:
    with harness.serve(image, env=server_env) as server:
        yield server


def test_soak_at_defaults(soak_server: harness.Server) -> None:
    """Two minutes of REST and gRPC load at the image's defaults: no failed request, flat memory."""
    server = soak_server
    deadline = time.monotonic() + SOAK_SECONDS
    failures: list[str] = []
    counts = {"rest": 0, "grpc": 0}
    lock = threading.Lock()

    def rest_loop() -> None:
        with requests.Session() as session:
            while time.monotonic() < deadline:
                reply = session.post(
                    server.url("/api/v1.0/predictions"), timeout=30, json={"data": {"ndarray": [[0.0, 1.0]]}}
                )
                with lock:
                    counts["rest"] += 1
                    if reply.status_code != 200 or reply.json()["data"]["ndarray"] != [[0.0, 1.0]]:
                        failures.append(reply.text[:200])

    def grpc_loop() -> None:
        with connected(server) as channel:  # /health/ping is REST's readiness: gRPC may listen later
            stub = prediction_pb2_grpc.ModelStub(channel)
            tensor = prediction_pb2.Tensor(shape=[1, 2], values=[0.0, 2.0])
            request = prediction_pb2.SeldonMessage(data=prediction_pb2.DefaultData(tensor=tensor))
            while time.monotonic() < deadline:
                try:
                    values = list(stub.Predict(request, timeout=30).data.tensor.values)
                except grpc.RpcError as e:
                    values = [repr(e)]
                with lock:
                    counts["grpc"] += 1
                    if values != [0.0, 2.0]:
                        failures.append(str(values)[:200])

    threads = [threading.Thread(target=rest_loop) for _ in range(3)] + [threading.Thread(target=grpc_loop)]
    for thread in threads:
        thread.start()
    memory = []
    while time.monotonic() < deadline:
        time.sleep(10)
        memory.append(memory_mib(server))
        requests.get(server.url("/metrics", server.metrics), timeout=5)  # scraped as Prometheus would
    for thread in threads:
        thread.join()
    assert not failures, failures[:5]
    assert counts["rest"] > 1000 and counts["grpc"] > 300, counts
    # flat: the last third's median within 10% (and 20 MiB) of the second third's, after warm-up
    third = len(memory) // 3
    settled, last = statistics.median(memory[third : 2 * third]), statistics.median(memory[2 * third :])
    assert last <= settled * 1.1 + 20, memory


def test_recycled_workers_are_replaced_before_they_stop(image: str, server_env: dict[str, str]) -> None:
    """GUNICORN_MAX_REQUESTS with a model whose load() takes 2 s: under load every worker is replaced
    several times, the new one loading while the old one still serves; no request fails."""
    parameters = json.dumps([{"name": "load_seconds", "value": "2", "type": "FLOAT"}])
    env = {
        "GUNICORN_WORKERS": "2",
        "GUNICORN_MAX_REQUESTS": "300",
        "GUNICORN_MAX_REQUESTS_JITTER": "0",
        "PREDICTIVE_UNIT_PARAMETERS": parameters,
        **server_env,
    }
    with harness.serve(image, env=env, timeout=120) as server, requests.Session() as session:
        deadline, answered = time.monotonic() + 20, 0
        while time.monotonic() < deadline:
            reply = session.post(
                server.url("/api/v1.0/predictions"), json={"data": {"ndarray": [[0.0, 7.0]]}}
            )
            assert reply.status_code == 200 and reply.json()["data"]["ndarray"] == [[0.0, 7.0]], reply.text
            answered += 1
        logs = server.logs()
    replaced = re.findall(r"Worker (\d+) serves: stopping worker (\d+)", logs)
    assert answered > 900 and len(replaced) >= 2, (answered, logs[-3000:])
    # each replacement was asked for while the old worker was serving, and started before it stopped
    for new, old in replaced:
        assert logs.index(f"Worker {old} reached its max requests: starting {new}") < logs.index(
            f"Worker {new} serves: stopping worker {old}"
        )
