"""What the serving shim does before its servers fork (builders/app/seldon_s2i_fork.py), in fresh
interpreters: the collector's settings and the modules a process has imported are its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from builders.run import APP_DIR

SERVE = """
import gc, json
import seldon_s2i_fork as fork
import seldon_s2i_graceful as graceful
usual = gc.get_threshold()
fork.collect_rarely_until_the_fork()
starting = gc.get_threshold()
before = gc.get_stats()[0]["collections"]
for _ in range(100_000):  # cyclic garbage, made the way a careless constructor might
    cycle = []
    cycle.append(cycle)
seen = []
graceful.start_servers(lambda: seen.append([gc.get_threshold(), gc.get_freeze_count()]), None, None, None)
print(json.dumps([usual, starting, gc.get_stats()[0]["collections"] - before, *seen]))
"""


def run_app_script(script: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter that imports builders/app's modules by name, as the image's does."""
    env = {**os.environ, "PYTHONPATH": str(APP_DIR)}
    return subprocess.run(
        [sys.executable, "-c", script, *argv], env=env, check=True, capture_output=True, text=True
    )


def test_few_collections_until_the_servers_fork_then_the_usual() -> None:
    result = run_app_script(SERVE)
    usual, starting, collections, (serving, frozen) = json.loads(result.stdout)
    assert starting == [1_000_000, *usual[1:]]
    assert collections == 0  # 100,000 new objects: no collection before the fork
    assert serving == usual  # the servers run with Python's own setting
    assert frozen > 10_000  # what was loaded is frozen, shared with the forks


# The wrapper's own Flask app in a master process, then one forked worker answering a readiness probe
# as a server hands it over; the worker reports its answer and the modules that request imported. A
# traced worker first adds to the app, as the wrapper's tracing does (FlaskTracing: before_request).
FIRST_REQUEST_IN_A_WORKER = """
import io, json, os, sys, tempfile
import seldon_s2i_fork as fork
from seldon_core.wrapper import get_rest_microservice
from seldon_s2i_metrics import MmapSeldonMetrics

class Echo:
    def predict(self, X, features_names=None):
        return X

master = sys.argv[1]
app = get_rest_microservice(Echo(), MmapSeldonMetrics(directory=tempfile.mkdtemp()))
if master != "forked at once":
    fork.prepare_rest_workers(app, answer_a_request=master == "answered")
read, write = os.pipe()
if os.fork() == 0:
    before = set(sys.modules)
    if master == "traced":
        app.before_request(lambda: None)
    probe = {"REQUEST_METHOD": "GET", "PATH_INFO": "/health/ping", "QUERY_STRING": "",
             "SERVER_NAME": "0.0.0.0", "SERVER_PORT": "9000", "HTTP_HOST": "10.0.0.7:9000",
             "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
             "wsgi.errors": sys.stderr}
    statuses = []
    body = b"".join(app(probe, lambda status, headers, exc_info=None: statuses.append(status)))
    answer = {"status": statuses, "body": body.decode(), "imported": sorted(set(sys.modules) - before)}
    os.write(write, json.dumps(answer).encode())
    os._exit(0)
os.close(write)
os.wait()
print(os.read(read, 1 << 16).decode())
"""


def first_request_in_a_worker(master: str) -> tuple[dict[str, object], str]:
    result = run_app_script(FIRST_REQUEST_IN_A_WORKER, master)
    return json.loads(result.stdout), result.stderr


def test_a_worker_finds_the_first_request_built_in_the_master() -> None:
    cold, _ = first_request_in_a_worker("forked at once")
    # werkzeug's host check: the idna codec and its stringprep tables, about 1 MiB, in each worker
    assert "encodings.idna" in cold["imported"]
    answered, stderr = first_request_in_a_worker("answered")
    assert answered == {"status": ["200 OK"], "body": "pong", "imported": []}
    assert "WARNING" not in stderr and "ERROR" not in stderr  # the master's request logs nothing


def test_a_traced_worker_can_still_add_to_the_app() -> None:
    """With tracing, the master only looks the codec up: Flask takes no setup after a first request."""
    traced, _ = first_request_in_a_worker("traced")
    assert traced["status"] == ["200 OK"] and traced["body"] == "pong"
    assert "encodings.idna" not in traced["imported"]


# The process that forks the gRPC processes, then one of them building a gRPC server with the health
# service, as seldon_s2i_probes.run_grpc_server does; it reports the modules that imported. (The V2
# servicer's module needs its generated protobuf module, made at image build: the Docker tests serve
# V2 over gRPC.)
GRPC_SERVER_IN_A_WORKER = """
import json, os, sys
from concurrent import futures
import grpc
import seldon_s2i_fork as fork
if sys.argv[1] == "prepared":
    fork.prepare_grpc_workers()
read, write = os.pipe()
if os.fork() == 0:
    before = set(sys.modules)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    from grpc_health.v1 import health, health_pb2_grpc
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    server.add_insecure_port("127.0.0.1:0")
    server.start()
    server.stop(None)
    os.write(write, json.dumps(sorted(set(sys.modules) - before)).encode())
    os._exit(0)
os.close(write)
os.wait()
print(os.read(read, 1 << 16).decode())
"""


def test_a_grpc_worker_finds_its_server_modules_imported() -> None:
    imported = {
        prepared: json.loads(run_app_script(GRPC_SERVER_IN_A_WORKER, prepared).stdout)
        for prepared in ("forked at once", "prepared")
    }
    assert {"grpc._server", "grpc_health.v1.health"} <= set(imported["forked at once"])
    # left: the thread pool's own modules, which the image's main process has imported already
    assert not [name for name in imported["prepared"] if name.startswith(("grpc", "google"))]
