"""`make bench`: this builder against a baseline, measured in one run on this machine.

Not a test: it asserts nothing about timings. It prints a Markdown table of absolute figures and
ratios and writes it to BENCHMARKS.md. The baseline builder (tests/fixtures/baseline_builder) does
what Seldon's original assemble did: `pip install --no-cache-dir -r requirements.txt` into the same
base image, no checks, with stock seldon-core 1.17.1 on its own pins (wrapper-lock-1.17.1.txt). Serving is
compared on the same image (our defaults against the wrapper's stock ones: one gunicorn worker, one
thread, one gRPC worker), and between stacks (our image against the baseline's, both at stock defaults).

Builds are measured with the project's own build command and, when the real s2i CLI is on PATH or
named by S2I=/path/to/s2i, with it too: cold builds of both builders, and (tests/bench_incremental.py)
`--incremental` after a code-only change against a cold build, by both tools, for iris and for a heavy
application. Without the CLI it says so and measures the rest.

Serving: our image at its defaults against the baseline image (the stock `seldon-core-microservice`
at its defaults: one gunicorn worker, one thread, one gRPC worker, metrics in a Manager process) and
MLServer 1.7.1 with its scikit-learn runtime serving the same joblib file from a virtualenv on this
machine (`.venv-mlserver`, made by `make bench` from tests/mlserver-requirements.txt), with
`parallel_workers: 0`: its default parallel inference pool does not start here (its worker process
exits with "There is no current event loop in thread 'MainThread'"). The sizing rows measure the
serving defaults that builders/sizing.py sets: gRPC processes and threads, and worker recycling
(GUNICORN_MAX_REQUESTS) with a model whose load() takes seconds. The framework-ceiling rows serve a
plain Flask app (parse the JSON, answer it back: no wrapper, no model) from our image's environment,
on gunicorn and on granian with 2 workers each, so the distance from the wrapper to its framework
shows. BENCH_BUILDS=0 skips the build timings (each image is built once) for a serving-only run.

The loads come from wrk (REST, HTTP/1.1) and h2load (gRPC, HTTP/2), both in C and light beside the
server, so they measure the server. They share the cores with it, and run in the server container's
CPU cgroup, so that the kernel schedules them as its peers (`run_load`); MLServer runs on the host,
where they run beside it anyway. The gRPC rows `from a Python client` show what one machine of
grpcio clients sees instead: such a client takes about a core by itself, and runs on the host.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from tests import harness

# Tagged after the builder under test, so benchmarks of different builders on one engine never share an image.
TAG = harness.PYTHON3_BUILDER.rsplit(":", 1)[-1]
BASELINE_BUILDER = f"s2i-bench-baseline-builder:{TAG}"
Row = tuple[str, str, str, str]
BASE_IMAGE = os.environ.get("BASE_IMAGE", "seldon-s2i-base:bookworm")
MLSERVER = harness.ROOT / ".venv-mlserver" / "bin" / "mlserver"
MODEL_LOAD_SECONDS = 3.0  # the recycling measurement's load() time
STOCK = {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "1", "GRPC_WORKERS": "1", "GRPC_THREADS": "1"}
V2_OFF = {"SELDON_S2I_V2": "off"}  # the Seldon protocol only
LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "10"))
STARTS = 9
ROUNDS = 3  # builds are timed this many times, the best kept: a shared machine's load comes and goes
BUILDS = os.environ.get("BENCH_BUILDS", "1") != "0"  # 0: serving only, each image built once
ROW = [[5.1, 3.5, 1.4, 0.2]]
EARLIER = "## Decisions measured earlier\n"

MODEL = '''"""The benchmark model: a scikit-learn iris classifier loaded from a joblib file."""

import time

import joblib


class IrisClassifier:
    def __init__(self, load_seconds=0.0):
        self.model = joblib.load("model.joblib")
        self.load_seconds = float(load_seconds)

    def load(self):
        time.sleep(self.load_seconds)  # a model whose load() takes a while, for the recycling measure

    def predict(self, X, features_names=None):
        return self.model.predict_proba(X)
'''


def log(message: str) -> None:
    print(f"---> {message}", file=sys.stderr, flush=True)


def make_iris_source(directory: Path) -> Path:
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    source = directory / "iris"
    (source / ".s2i").mkdir(parents=True)
    (source / ".s2i" / "environment").write_text("MODEL_NAME=IrisClassifier\nSERVICE_TYPE=MODEL\n")
    (source / "requirements.txt").write_text("scikit-learn==1.5.2\njoblib==1.4.2\n")
    (source / "IrisClassifier.py").write_text(MODEL)
    data = load_iris()
    joblib.dump(LogisticRegression(max_iter=500).fit(data.data, data.target), source / "model.joblib")
    return source


def build_baseline_builder(directory: Path) -> None:
    context = directory / "baseline-context"
    shutil.copytree(harness.FIXTURES / "baseline_builder", context)
    harness.docker("build", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
                   "-t", BASELINE_BUILDER, str(context))  # fmt: skip


def timed_build(source: Path, image: str, builder: str) -> float:
    return harness.build_ok(source, image, builder=builder).seconds


def s2i_cli() -> str | None:
    """The real s2i CLI: S2I if set, else `s2i` on PATH."""
    return os.environ.get("S2I") or shutil.which("s2i")


def s2i_environment() -> dict[str, str]:
    """s2i 1.3.8's Docker client asks for API 1.43 and does not negotiate down: speak the daemon's."""
    env = dict(os.environ)
    if "DOCKER_API_VERSION" not in env:
        env["DOCKER_API_VERSION"] = (
            harness.docker("version", "--format", "{{.Server.APIVersion}}").stdout.decode().strip()
        )
    return env


def timed_s2i_build(s2i: str, source: Path, image: str, builder: str) -> float:
    """`s2i build`, with nothing pulled (no registry here)."""
    argv = [s2i, "build", str(source), builder, image, "--network", "host", "--pull-policy", "never"]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, env=s2i_environment())
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"s2i build of {source} failed:\n{result.stdout}{result.stderr}"
    return seconds


def image_size(image: str) -> int:
    return int(json.loads(harness.docker("image", "inspect", image).stdout)[0]["Size"])


def start_to_ready(*images: str) -> list[float]:
    """From `docker run` to the first 200 from /health/ping, asked every 10 ms (the tests' 0.25 s
    would round away differences of this size): the median of STARTS for each image, started in turns."""
    times: dict[str, list[float]] = {image: [] for image in images}
    for _ in range(STARTS):
        for image in images:
            started = time.monotonic()
            with harness.serve(image, poll=0.01):
                times[image].append(time.monotonic() - started)
    return [statistics.median(times[image]) for image in images]


def cpu_cgroups(container: str) -> list[Path]:
    """The cgroup directories that schedule and count a container's CPU, as the host sees them:
    cgroup v1's `cpu` and `cpuacct` ones, or v2's one."""
    pid = harness.docker("inspect", "--format", "{{.State.Pid}}", container).stdout.decode().strip()
    v1, v2 = [], []
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if {"cpu", "cpuacct"} & set(controllers.split(",")):
            v1.append(Path("/sys/fs/cgroup", controllers, path.lstrip("/")))
        elif not controllers:
            v2.append(Path("/sys/fs/cgroup", path.lstrip("/")))
    found = v1 or v2
    for cgroup in found:
        if not os.access(cgroup / "cgroup.procs", os.W_OK):
            raise SystemExit(f"make bench: cannot write {cgroup / 'cgroup.procs'}: the load generators "
                             "join the server container's CPU cgroup, which needs root")  # fmt: skip
    return found


def run_load(argv: list[str], beside: str | None) -> tuple[str, float]:
    """Runs a load generator (wrk, h2load): its output and the CPU time it used (µs).

    `beside`: the server's container, whose CPU cgroups the generator joins. The cores are shared,
    and the kernel schedules a container's cgroup as one entity against the host's processes: a
    generator outside it, one of few threads in its own group, was seen waiting 168 ms while its
    answers sat in its sockets, and counted that as the server's latency (docs/serving.md). In the
    cgroup, the generator's threads and the server's are scheduled as peers. Its CPU time is then
    the container's too: `with_container_cpu` takes it off."""
    cgroups = cpu_cgroups(beside) if beside else []

    def join() -> None:  # in the child, before it runs the generator
        for cgroup in cgroups:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, capture_output=True, text=True, check=True, preexec_fn=join).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return out, used * 1e6


def wrk(
    url: str,
    body: dict[str, Any] | bytes,
    seconds: int = LOAD_SECONDS,
    headers: dict[str, str] | None = None,
    beside: str | None = None,
) -> dict[str, float]:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    lua_body = "".join(f"\\{byte:03d}" for byte in raw)  # Lua's decimal escapes: any byte
    headers = headers or {"Content-Type": "application/json"}
    script.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{lua_body}'\n"
        + "".join(f"wrk.headers['{k}'] = '{v}'\n" for k, v in headers.items())
    )
    argv = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", str(script), url]
    out, client_cpu_us = run_load(argv, beside)

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: .*", out)
    assert rps and not errors and not socket_errors, out
    latencies = {"p50": latency("50%"), "p99": latency("99%")}
    return {"rps": float(rps[1]), **latencies, "client_cpu_us": client_cpu_us}


def seldon_rest(server: harness.Server, seconds: int = LOAD_SECONDS) -> dict[str, float]:
    body = {"data": {"ndarray": ROW}}
    return wrk(server.url("/api/v1.0/predictions"), body, seconds, beside=server.container)


def grpc_request(v2: bool) -> tuple[bytes, str]:
    """The gRPC loads' one request, serialized, and its method's path. v2: the Open Inference
    Protocol's ModelInfer (tritonclient's messages; `contents`, which MLServer reads too)."""
    if v2:
        from tritonclient.grpc import service_pb2

        request: Any = service_pb2.ModelInferRequest(model_name=V2_MODEL)
        request.inputs.add(name="predict", datatype="FP64", shape=[1, 4]).contents.fp64_contents.extend(
            ROW[0]
        )
        request.outputs.add(name="predict_proba")
        return request.SerializeToString(), "/inference.GRPCInferenceService/ModelInfer"
    from seldon_core.proto import prediction_pb2

    tensor = prediction_pb2.Tensor(shape=[1, 4], values=ROW[0])
    request = prediction_pb2.SeldonMessage(data=prediction_pb2.DefaultData(tensor=tensor))
    return request.SerializeToString(), "/seldon.protos.Model/Predict"


def grpc_load(server: harness.Server, seconds: int = LOAD_SECONDS, v2: bool = False) -> dict[str, float]:
    """A closed-loop gRPC load of 8 calls in flight, one per connection, from h2load (nghttp2's HTTP/2
    load generator, written in C like wrk: the load measures the server, not the client; the gRPC
    server's SO_REUSEPORT sockets share connections, not calls, between its processes)."""
    return grpc_port_load(server.grpc, seconds, v2, beside=server.container)


def grpc_one_connection_load(server: harness.Server, seconds: int = LOAD_SECONDS) -> dict[str, float]:
    """The same 8 calls in flight on one connection, as Seldon Core's executor sends a model's calls
    (one grpc-go ClientConn per host and port): one gRPC process serves them all."""
    return grpc_port_load(server.grpc, seconds, connections=1, beside=server.container)


def grpc_port_load(
    port: int, seconds: int = LOAD_SECONDS, v2: bool = False, connections: int = 8, beside: str | None = None
) -> dict[str, float]:
    """8 calls in flight over `connections`. h2load sends the request as a gRPC message (a 5-byte frame
    header: not compressed, length) and counts the DATA bytes it gets back. A gRPC error is an HTTP 200
    with no message, so the calls are checked by those bytes: exactly one frame as long as the answer
    grpcio gets for the same request, per call."""
    import grpc

    request, method = grpc_request(v2)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = channel.unary_unary(method)(request, timeout=30, wait_for_ready=True)  # bytes in, bytes out
    folder = Path(tempfile.mkdtemp(prefix="s2i-bench-h2load-"))
    try:
        (folder / "request").write_bytes(b"\0" + len(request).to_bytes(4, "big") + request)
        argv = ["h2load", f"--clients={connections}", f"--max-concurrent-streams={8 // connections}",
                "--threads=1", f"--duration={seconds}", f"--data={folder / 'request'}",
                "--header=content-type: application/grpc", "--header=te: trailers",
                f"--log-file={folder / 'calls'}", f"http://127.0.0.1:{port}{method}"]  # fmt: skip
        out, client_cpu_us = run_load(argv, beside)
        calls = [line.split("\t") for line in (folder / "calls").read_text().splitlines()]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    done = re.search(r"^requests: .* (\d+) done, (\d+) succeeded", out, re.M)
    data = re.search(r"^traffic: .*\((\d+)\) data$", out, re.M)
    assert done and data, out
    answered = int(done[2])
    if answered < int(done[1]) or int(data[1]) != answered * (5 + len(answer)):
        raise AssertionError(
            f"h2load: not every gRPC call got the answer ({5 + len(answer)} bytes each):\n{out}"
        )
    latencies = [int(duration_us) / 1000 for _, status, duration_us in calls if status == "200"]
    return {"rps": answered / seconds, **percentiles(latencies), "client_cpu_us": client_cpu_us}


def percentiles(latencies: list[float]) -> dict[str, float]:
    """The p50 and p99 of the calls' latencies (ms)."""
    latencies = sorted(latencies)
    return {"p50": latencies[len(latencies) // 2], "p99": latencies[int(len(latencies) * 0.99)]}


def _python_grpc_client(port: int, seconds: float, concurrency: int, results: Any) -> None:
    """One load process of the Python client row: `concurrency` asyncio loops, each on its own channel
    (so its own TCP connection), one Seldon Predict call at a time."""
    import asyncio

    import grpc

    request, method = grpc_request(v2=False)

    async def loop(deadline: float, latencies: list[float]) -> None:
        # grpc shares one connection among a process's channels to the same address unless each
        # channel has a subchannel pool of its own
        own_connection = [("grpc.use_local_subchannel_pool", 1)]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=own_connection) as channel:
            call = channel.unary_unary(method)
            await call(request, timeout=30, wait_for_ready=True)  # connected before the clock starts
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    await call(request, timeout=30)
                except grpc.aio.AioRpcError as e:  # counted, reported: never a latency
                    latencies.append(-1.0)
                    print(f"---> gRPC call failed: {e.code()}", file=sys.stderr, flush=True)
                    continue
                latencies.append((time.perf_counter() - started) * 1000)

    async def main() -> list[float]:
        latencies: list[float] = []
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(loop(deadline, latencies) for _ in range(concurrency)))
        return latencies

    results.put(asyncio.run(main()))


def python_grpc_load(server: harness.Server, seconds: int = LOAD_SECONDS) -> dict[str, float]:
    """The gRPC load as a Python client makes it: 2 processes of grpcio's asyncio client, 4 calls in
    flight each, each call loop on its own connection. One such process saturates a core before the
    server does, so on 2 cores this measures the client as much as the server."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    clients = [
        context.Process(target=_python_grpc_client, args=(server.grpc, seconds, 4, results)) for _ in range(2)
    ]
    for client in clients:
        client.start()
    everything = [x for _ in clients for x in results.get(timeout=seconds + 60)]
    for client in clients:
        client.join()
    latencies = [x for x in everything if x >= 0]
    if len(latencies) < len(everything):
        log(f"{len(everything) - len(latencies)} of {len(everything)} gRPC calls failed")
    return {"rps": len(latencies) / seconds, **percentiles(latencies)}


@contextlib.contextmanager
def mlserver(model: Path) -> Iterator[str]:
    """MLServer serving `model` (a joblib file) on 127.0.0.1; yields its inference URL (and sets
    MLSERVER_GRPC, its gRPC port)."""
    folder = Path(tempfile.mkdtemp(prefix="s2i-bench-mlserver-"))
    shutil.copy(model, folder / "model.joblib")
    settings = {
        "host": "127.0.0.1",
        "http_port": harness.free_port(),
        "grpc_port": harness.free_port(),
        "metrics_port": harness.free_port(),
        "parallel_workers": 0,
    }
    (folder / "settings.json").write_text(json.dumps(settings))
    MLSERVER_GRPC[0] = int(settings["grpc_port"])
    (folder / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "iris",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib"},
            }
        )
    )
    log_file = (folder / "mlserver.log").open("w")
    process = subprocess.Popen(
        [str(MLSERVER), "start", str(folder)], cwd=folder, stdout=log_file, stderr=subprocess.STDOUT
    )
    MLSERVER_PID[0] = process.pid
    base = f"http://127.0.0.1:{settings['http_port']}"
    try:
        for _ in range(240):
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/v2/models/iris/ready", timeout=2).status_code == 200:
                    break
            assert process.poll() is None, (folder / "mlserver.log").read_text()
            time.sleep(0.25)
        else:
            raise AssertionError("MLServer not ready:\n" + (folder / "mlserver.log").read_text())
        yield f"{base}/v2/models/iris/infer"
    finally:
        process.terminate()
        process.wait(30)
        log_file.close()
        shutil.rmtree(folder, ignore_errors=True)


MLSERVER_GRPC = [0]
MLSERVER_PID = [0]


def process_cpu_us(pid: int) -> float:
    """CPU time (user + system) of a process and its waited-for children so far, in µs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks * 1e6 / os.sysconf("SC_CLK_TCK")


def with_cpu(pid: int, load: Callable[[], dict[str, float]]) -> dict[str, float]:
    before = process_cpu_us(pid)
    result = load()
    return {**result, "cpu_us": (process_cpu_us(pid) - before) / (result["rps"] * LOAD_SECONDS)}


# The V2 request for the same row, asking for the same output as IrisClassifier.predict. Our images
# serve it as V2_MODEL too (SELDON_S2I_V2_MODEL_NAME), and name their one output as the request asks:
# the same bytes go to both.
V2_MODEL = "iris"
V2_ENV = {"SELDON_S2I_V2_MODEL_NAME": V2_MODEL}
MLSERVER_BODY = {
    "inputs": [{"name": "predict", "shape": [1, 4], "datatype": "FP64", "data": ROW[0]}],
    "outputs": [{"name": "predict_proba"}],
}


def v2_binary_body() -> tuple[bytes, dict[str, str]]:
    """The same request with the binary tensor data extension, both ways (tritonclient's default)."""
    import struct

    head = json.dumps({
        "inputs": [{"name": "predict", "shape": [1, 4], "datatype": "FP64",
                    "parameters": {"binary_data_size": 32}}],
        "outputs": [{"name": "predict_proba", "parameters": {"binary_data": True}}],
    }).encode()  # fmt: skip
    headers = {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(head))}
    return head + struct.pack("<4d", *ROW[0]), headers


def v2_rest(server: harness.Server, seconds: int = LOAD_SECONDS) -> dict[str, float]:
    return wrk(server.url(f"/v2/models/{V2_MODEL}/infer"), MLSERVER_BODY, seconds, beside=server.container)


def v2_rest_binary(server: harness.Server, seconds: int = LOAD_SECONDS) -> dict[str, float]:
    body, headers = v2_binary_body()
    return wrk(server.url(f"/v2/models/{V2_MODEL}/infer"), body, seconds, headers, server.container)


def v2_grpc(server: harness.Server, seconds: int = LOAD_SECONDS) -> dict[str, float]:
    return grpc_load(server, seconds, v2=True)


def mlserver_v2(source: Path) -> dict[str, dict[str, float]]:
    """MLServer's figures for the V2 rows, from one MLServer process: REST JSON, REST binary (where it
    answers the extension), gRPC."""
    with mlserver(source / "model.joblib") as url:
        pid = MLSERVER_PID[0]
        wrk(url, MLSERVER_BODY)  # warm-up
        found = {"json": with_cpu(pid, lambda: wrk(url, MLSERVER_BODY))}
        body, headers = v2_binary_body()
        answer = requests.post(url, data=body, headers=headers, timeout=10)
        if answer.status_code == 200:
            found["binary"] = with_cpu(pid, lambda: wrk(url, body, LOAD_SECONDS, headers))
        else:
            log(f"MLServer answers a binary tensor data request {answer.status_code}: no binary row for it")
        grpc_port_load(MLSERVER_GRPC[0], 2, v2=True)  # warm-up
        found["grpc"] = with_cpu(pid, lambda: grpc_port_load(MLSERVER_GRPC[0], LOAD_SECONDS, v2=True))
        return found


def container_cpu_us(container: str) -> float:
    """CPU time the container has used so far (cgroup v2 `cpu.stat`, or v1 `cpuacct.usage`), in µs."""
    v2 = harness.docker("exec", container, "cat", "/sys/fs/cgroup/cpu.stat", check=False)
    if v2.returncode == 0:
        match = re.search(rb"usage_usec (\d+)", v2.stdout)
        assert match, v2.stdout
        return float(match[1])
    v1 = harness.docker("exec", container, "cat", "/sys/fs/cgroup/cpuacct/cpuacct.usage")
    return int(v1.stdout) / 1000


def serving(
    image: str, env: dict[str, str] | None, load: Callable[[harness.Server], dict[str, float]]
) -> dict[str, float]:
    """`load`'s figures on the image, plus its server CPU time per request (`with_container_cpu`)."""
    with harness.serve(image, env=env) as server:
        return with_container_cpu(server, load)


def with_container_cpu(
    server: harness.Server, load: Callable[[harness.Server], dict[str, float]]
) -> dict[str, float]:
    """The load's figures after a warm-up (imports, first connections), plus `cpu_us`: the server's
    CPU time per request, all its processes (less the load generator's, where it ran in the
    container's cgroup). On a shared machine throughput follows whatever else runs; CPU per
    request barely does."""
    load(server)
    before = container_cpu_us(server.container)
    result = load(server)
    used = container_cpu_us(server.container) - before - result.get("client_cpu_us", 0.0)
    return {**result, "cpu_us": used / (result["rps"] * LOAD_SECONDS)}


# A plain Flask app, the framework ceiling: what the wrapper's REST path costs on top of Flask itself.
CEILING_APP = """
from flask import Flask, jsonify, request
app = Flask(__name__)
@app.post("/api/v1.0/predictions")
def predict():
    return jsonify({"data": {"ndarray": request.get_json()["data"]["ndarray"]}})
@app.get("/health/ping")
def ping():
    return "pong"
"""
CEILING_SERVERS = {
    "gunicorn": "exec python -m gunicorn --workers 2 --bind 127.0.0.1:$PORT ceiling:app",
    "granian": "exec python -m granian --interface wsgi --workers 2 --blocking-threads 1 --host 127.0.0.1 "
    "--port $PORT --no-ws ceiling:app",
}


@contextlib.contextmanager
def ceiling_server(image: str, server: str) -> Iterator[harness.Server]:
    """The plain Flask app on `server`, run from our image's application environment."""
    port = harness.free_port()
    name = f"s2i-bench-ceiling-{uuid.uuid4().hex[:8]}"
    script = 'cd /tmp && printf %s "$APP" > ceiling.py && export PATH=/opt/app-root/bin:$PATH && '
    script += CEILING_SERVERS[server]
    harness.docker(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "host",
        "-e",
        f"PORT={port}",
        "-e",
        f"APP={CEILING_APP}",
        image,
        "sh",
        "-c",
        script,
    )
    found = harness.Server(name, port, 0, 0)
    try:
        harness.wait_ready(found, 60)
        yield found
    finally:
        harness.docker("rm", "--force", name, check=False)


def ceiling_rest(image: str, server: str) -> dict[str, float]:
    with ceiling_server(image, server) as found:
        return with_container_cpu(found, seldon_rest)


def ceiling_rows(ours_image: str, ours: dict[str, float]) -> list[Row]:
    log(f"framework ceiling: a plain Flask app on gunicorn and on granian, {LOAD_SECONDS}s each, best of 3")
    plain = best_of(
        {server: (lambda server=server: ceiling_rest(ours_image, server)) for server in CEILING_SERVERS}
    )
    flask_granian, flask_gunicorn = plain["granian"], plain["gunicorn"]
    rows = [
        (
            "REST framework ceiling: plain Flask app, granian vs gunicorn, 2 workers each (req/s (p99 ms))",
            f"{flask_granian['rps']:.0f} ({flask_granian['p99']:.1f})",
            f"{flask_gunicorn['rps']:.0f} ({flask_gunicorn['p99']:.1f})",
            ratio(flask_granian["rps"], flask_gunicorn["rps"]),
        )
    ]
    rows.append(
        (
            "REST, our image at its defaults vs the plain Flask app on granian (req/s (p99 ms))",
            f"{ours['rps']:.0f} ({ours['p99']:.1f})",
            f"{flask_granian['rps']:.0f} ({flask_granian['p99']:.1f})",
            ratio(ours["rps"], flask_granian["rps"]),
        )
    )
    rows.append(
        (
            "REST server CPU per request, our image vs the plain Flask app on granian (µs)",
            f"{ours['cpu_us']:.0f}",
            f"{flask_granian['cpu_us']:.0f}",
            ratio(ours["cpu_us"], flask_granian["cpu_us"]),
        )
    )
    return rows


def mlserver_rest(source: Path) -> dict[str, float]:
    with mlserver(source / "model.joblib") as url:
        wrk(url, MLSERVER_BODY)  # warm-up
        return wrk(url, MLSERVER_BODY)


def best_of(
    measures: dict[str, Callable[[], dict[str, float]]], rounds: int = 3
) -> dict[str, dict[str, float]]:
    """Each measure `rounds` times, taking turns (a machine shared with other work drifts over minutes:
    turns spread that over every contender), keeping each one's best throughput."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(rounds):
        for name, measure in measures.items():
            result = measure()
            if name not in best or result["rps"] > best[name]["rps"]:
                best[name] = result
    return best


def comparison_rows(
    label: str, ours: dict[str, float], theirs: dict[str, float], name: str, cpu: bool = False
) -> list[Row]:
    rows = [(f"{label} throughput (req/s), vs {name}", f"{ours['rps']:.0f}", f"{theirs['rps']:.0f}",
             ratio(ours["rps"], theirs["rps"]))]  # fmt: skip
    for pct in ("p50", "p99"):
        rows.append((f"{label} {pct} latency (ms), vs {name}", f"{ours[pct]:.1f}", f"{theirs[pct]:.1f}",
                     ratio(ours[pct], theirs[pct])))  # fmt: skip
    if cpu:  # CPU time per request barely moves with a shared machine's load; throughput does
        rows.append((f"{label} server CPU per request (µs), vs {name}", f"{ours['cpu_us']:.0f}",
                     f"{theirs['cpu_us']:.0f}", ratio(ours["cpu_us"], theirs["cpu_us"])))  # fmt: skip
    return rows


def serving_rows(ours_image: str, base_image: str, source: Path) -> list[Row]:
    log(f"REST load, {LOAD_SECONDS}s each, best of 3 in turns: ours, stock, MLServer, ours on gunicorn")
    rest = best_of({
        "ours": lambda: serving(ours_image, None, seldon_rest),
        "stock": lambda: serving(base_image, None, seldon_rest),
        "MLServer": lambda: mlserver_rest(source),
        "gunicorn": lambda: serving(ours_image, {"SELDON_S2I_SERVER": "gunicorn"}, seldon_rest),
        "V2 off": lambda: serving(ours_image, V2_OFF, seldon_rest),
    })  # fmt: skip
    rows = comparison_rows("REST", rest["ours"], rest["stock"], "stock")
    rows += comparison_rows("REST", rest["ours"], rest["MLServer"], "MLServer")
    gunicorn = rest["gunicorn"]
    rows.append(
        (
            "REST req/s (p99 ms), granian (default) vs SELDON_S2I_SERVER=gunicorn, our image",
            f"{rest['ours']['rps']:.0f} ({rest['ours']['p99']:.1f})",
            f"{gunicorn['rps']:.0f} ({gunicorn['p99']:.1f})",
            ratio(rest["ours"]["rps"], gunicorn["rps"]),
        )
    )
    rows.append(
        (
            "REST server CPU per request, granian vs gunicorn, our image (µs)",
            f"{rest['ours']['cpu_us']:.0f}",
            f"{gunicorn['cpu_us']:.0f}",
            ratio(rest["ours"]["cpu_us"], gunicorn["cpu_us"]),
        )
    )
    rows += ceiling_rows(ours_image, rest["ours"])
    log(f"gRPC load, {LOAD_SECONDS}s each, best of 3 in turns: our defaults, stock, ours with V2 off")
    calls = best_of({
        "ours": lambda: serving(ours_image, None, grpc_load),
        "stock": lambda: serving(base_image, None, grpc_load),
        "V2 off": lambda: serving(ours_image, V2_OFF, grpc_load),
    })  # fmt: skip
    rows += comparison_rows("gRPC", calls["ours"], calls["stock"], "stock", cpu=True)
    for label, load, cpu in (
        ("gRPC from a Python client (grpcio)", python_grpc_load, False),
        ("gRPC on one connection (8 calls in flight)", grpc_one_connection_load, True),
    ):
        log(f"{label}, {LOAD_SECONDS}s each, best of 3 in turns: ours, stock")
        best = best_of({name: (lambda image=image, load=load: serving(image, None, load))
                        for name, image in (("ours", ours_image), ("stock", base_image))})  # fmt: skip
        rows += comparison_rows(label, best["ours"], best["stock"], "stock", cpu=cpu)
    # What serving the Open Inference Protocol beside the Seldon protocol costs the Seldon routes
    for name, measured in (("REST", rest), ("gRPC", calls)):
        ours, off = measured["ours"], measured["V2 off"]
        rows.append((f"Seldon {name} req/s (p99 ms), V2 served beside it (default) vs SELDON_S2I_V2=off",
                     f"{ours['rps']:.0f} ({ours['p99']:.1f})", f"{off['rps']:.0f} ({off['p99']:.1f})",
                     ratio(ours["rps"], off["rps"])))  # fmt: skip
    return rows


def v2_rows(ours_image: str, source: Path) -> list[Row]:
    """The Open Inference Protocol: our image (same defaults, V2 routes) against MLServer 1.7.1's
    scikit-learn runtime on the same joblib file, best of 3 in turns."""
    log(f"V2 load, {LOAD_SECONDS}s each, best of 3 in turns: ours (REST JSON, binary, gRPC), MLServer")
    best: dict[str, dict[str, float]] = {}
    for _ in range(3):
        measured = {
            "ours json": serving(ours_image, V2_ENV, v2_rest),
            "ours binary": serving(ours_image, V2_ENV, v2_rest_binary),
            "ours grpc": serving(ours_image, V2_ENV, v2_grpc),
            **{f"MLServer {k}": v for k, v in mlserver_v2(source).items()},
        }
        for name, result in measured.items():
            if name not in best or result["rps"] > best[name]["rps"]:
                best[name] = result
    rows = comparison_rows("V2 REST JSON", best["ours json"], best["MLServer json"], "MLServer", cpu=True)
    theirs = "binary" if "MLServer binary" in best else "json"
    rows += comparison_rows(
        "V2 REST binary", best["ours binary"], best[f"MLServer {theirs}"], f"MLServer ({theirs})", cpu=True
    )
    return rows + comparison_rows("V2 gRPC", best["ours grpc"], best["MLServer grpc"], "MLServer", cpu=True)


def grpc_sizing_rows(ours_image: str) -> list[Row]:
    """gRPC processes and threads on our image: the measurement behind builders/sizing.py's defaults."""
    rows: list[Row] = []
    log("gRPC processes and threads, best of 2 in turns")
    grid = [(1, 1), (1, 4), (2, 1), (2, 2), (2, 4)]

    def grpc_at(workers: int, threads: int) -> Callable[[], dict[str, float]]:
        env = {"GRPC_WORKERS": str(workers), "GRPC_THREADS": str(threads)}
        return lambda: serving(ours_image, env, grpc_load)

    measures = {f"{w} {t}": grpc_at(w, t) for w, t in grid}
    results = best_of(measures, rounds=2)
    reference = results["1 1"]
    for workers, threads in grid[1:]:
        result = results[f"{workers} {threads}"]
        label = f"gRPC req/s (p99 ms) at GRPC_WORKERS={workers} GRPC_THREADS={threads}, vs 1 and 1"
        ours, ref = (
            f"{result['rps']:.0f} ({result['p99']:.1f})",
            f"{reference['rps']:.0f} ({reference['p99']:.1f})",
        )
        rows.append((label, ours, ref, ratio(result["rps"], reference["rps"])))
    return rows


def rest_worker_memory(image: str, env: dict[str, str]) -> dict[str, float]:
    """Mean PSS and USS (MiB) of the REST worker processes after 10 s of load: the main process's
    children that have no children themselves (the gRPC and metrics processes have theirs); and the
    PSS of all the container's processes together, where shared pages count once. Read from the
    host's /proc, where the container's processes are."""
    with harness.serve(image, env={**env, "GUNICORN_WORKERS": "2"}) as server:
        seldon_rest(server)
        table = (
            harness.docker("top", server.container, "-eo", "pid,ppid,args").stdout.decode().splitlines()[1:]
        )
        rows = [(int(pid), int(ppid), args) for pid, ppid, args in (line.split(None, 2) for line in table)]
        main = min(pid for pid, _, args in rows if "seldon_s2i_serve.py" in args)
        parents = {ppid for _, ppid, _ in rows}
        workers = [pid for pid, ppid, _ in rows if ppid == main and pid not in parents]
        kib = {pid: smaps_rollup(pid) for pid, _, _ in rows}
        assert len(workers) == 2, rows
        unshared = [kib[pid]["Private_Clean"] + kib[pid]["Private_Dirty"] for pid in workers]
        return {
            "pss": statistics.mean(kib[pid]["Pss"] for pid in workers) / 1024,
            "uss": statistics.mean(unshared) / 1024,
            "container": sum(figures["Pss"] for figures in kib.values()) / 1024,
        }


def smaps_rollup(pid: int) -> dict[str, int]:
    """A process's memory totals (kB) by kind."""
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    return {key: int(value.split()[0]) for key, value in (line.split(":", 1) for line in lines)}


def memory_rows(ours_image: str) -> list[Row]:
    log("REST worker memory, granian then gunicorn, 2 workers each")
    granian = rest_worker_memory(ours_image, {})
    gunicorn = rest_worker_memory(ours_image, {"SELDON_S2I_SERVER": "gunicorn"})
    labels = {
        "pss": "REST worker PSS (MiB, mean of 2 workers)",
        "uss": "REST worker USS (MiB, mean of 2 workers)",
        "container": "PSS of all the container's processes (MiB, 2 REST workers)",
    }
    return [
        (f"{label}, granian vs gunicorn, our image",
         f"{granian[kind]:.1f}", f"{gunicorn[kind]:.1f}", ratio(granian[kind], gunicorn[kind]))
        for kind, label in labels.items()
    ]  # fmt: skip


def recycling_rows(ours_image: str) -> list[Row]:
    """REST throughput with workers recycled (GUNICORN_MAX_REQUESTS) by a model whose load() takes seconds."""
    from builders import sizing

    rows: list[Row] = []
    log(f"worker recycling with a load() of {MODEL_LOAD_SECONDS:g}s, 30s of REST load each")
    parameters = json.dumps([{"name": "load_seconds", "value": str(MODEL_LOAD_SECONDS), "type": "FLOAT"}])
    recycled = {}
    for max_requests in (0, 5000, 20000):
        env = {
            "PREDICTIVE_UNIT_PARAMETERS": parameters,
            "GUNICORN_MAX_REQUESTS": str(max_requests),
            "GUNICORN_MAX_REQUESTS_JITTER": str(max_requests // 10),
        }
        with harness.serve(ours_image, env=env, timeout=120) as server:
            seldon_rest(server, 5)  # warm-up
            recycled[max_requests] = seldon_rest(server, 30)
    never = recycled[0]
    for max_requests in (5000, 20000):
        result = recycled[max_requests]
        rows.append(
            (
                f"REST req/s (p99 ms), workers recycled every {max_requests} requests, vs never",
                f"{result['rps']:.0f} ({result['p99']:.1f})",
                f"{never['rps']:.0f} ({never['p99']:.1f})",
                ratio(result["rps"], never["rps"]),
            )
        )
    per_worker = never["rps"] / int(sizing.defaults(sizing.detect())["GUNICORN_WORKERS"])
    default = sizing.MAX_REQUESTS
    every = default / per_worker
    label = (
        f"At our default GUNICORN_MAX_REQUESTS={default}, full load: a worker is replaced every (s); "
        "its replacement loads (s) while it still serves"
    )
    share = f"one process more {MODEL_LOAD_SECONDS / every:.1%} of the time"
    rows.append((label, f"{every:.0f}", f"{MODEL_LOAD_SECONDS:g}", share))
    return rows


# scikit-learn 1.5.2 (the iris source's) has no wheels for Python 3.14: the builders of every Python
# build the same source with the first release that has wheels for all of them.
PYTHONS_IRIS_REQUIREMENTS = "scikit-learn==1.7.2\njoblib==1.4.2\n"


def python_rows(iris: Path, work: Path) -> list[Row]:
    """One row per builder image (a Python each): its size, and the iris cold build with it, against
    the python3 image (the default Python's) in the same run, builds taken in turns."""
    from builders import python_version

    source = work / "iris-every-python"
    shutil.copytree(iris, source)
    (source / "requirements.txt").write_text(PYTHONS_IRIS_REQUIREMENTS)
    builders = {minor: harness.builder_image(minor) for minor in python_version.PYTHONS}
    builders["3"] = harness.PYTHON3_BUILDER
    times: dict[str, list[float]] = {minor: [] for minor in builders}
    for attempt in range(ROUNDS):
        log(f"cold builds of the iris source with each Python's builder, round {attempt + 1}")
        for minor, builder in builders.items():
            image = f"s2i-bench-iris:python{minor.replace('.', '')}-{TAG}"
            harness.docker("rmi", "--force", image, check=False)
            times[minor].append(timed_build(source, image, builder))
            harness.docker("rmi", "--force", image, check=False)
    reference, size_reference = min(times["3"]), image_size(harness.PYTHON3_BUILDER)
    rows: list[Row] = []
    for minor in python_version.PYTHONS:
        name, size, cold = builders[minor].rsplit("/", 1)[-1], image_size(builders[minor]), min(times[minor])
        rows.append((f"Builder {name} (Python {minor}): size (MB), vs python3", f"{size / 1e6:.0f}",
                     f"{size_reference / 1e6:.0f}", ratio(size, size_reference)))  # fmt: skip
        rows.append((f"Cold build, iris (scikit-learn 1.7.2), {name} (s, best of {ROUNDS}), vs python3",
                     f"{cold:.1f}", f"{reference:.1f}", ratio(cold, reference)))  # fmt: skip
    return rows


def reported(section: Callable[[str], list[Row]], image: str) -> list[Row]:
    """A section's rows; one that fails (a failed request counts) gives a row saying so, and the
    rows measured before it are still written."""
    try:
        return section(image)
    except AssertionError as e:
        first = next((line for line in str(e).splitlines() if "errors" in line), str(e).splitlines()[0])
        return [(f"{section.__name__}: FAILED", first.strip()[:120], "", "")]


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "n/a"


def build_rows(source: Path, ours_image: str, base_image: str, s2i: str | None, work: Path) -> list[Row]:
    """Cold builds by each build tool against the baseline, then --incremental against a cold build."""
    rows: list[Row] = []
    # Cold builds: each builder with each build tool, best of ROUNDS, interleaved so that the load of a
    # shared machine falls on both sides alike.
    routes: list[tuple[str, Callable[[str, str], float]]] = [
        ("own build command", lambda image, builder: timed_build(source, image, builder))
    ]
    if s2i:
        routes.append(("s2i CLI", lambda image, builder: timed_s2i_build(s2i, source, image, builder)))
    for route, build in routes:
        times: dict[str, list[float]] = {ours_image: [], base_image: []}
        for attempt in range(ROUNDS):
            log(f"cold builds with the {route}, round {attempt + 1}")
            for image, builder in ((ours_image, harness.PYTHON3_BUILDER), (base_image, BASELINE_BUILDER)):
                harness.docker("rmi", "--force", image, check=False)
                times[image].append(build(image, builder))
        ours, base = min(times[ours_image]), min(times[base_image])
        rows.append((f"Cold build, iris, {route} (s, best of {ROUNDS})", f"{ours:.1f}", f"{base:.1f}",
                     ratio(ours, base)))  # fmt: skip

    # --incremental against a cold build: iris and a heavy application, both tools, two indexes
    from tests import bench_incremental  # it uses this module's helpers

    return rows + bench_incremental.rows(work, source)


def main() -> None:
    load_before = os.getloadavg()[1]
    work = Path(tempfile.mkdtemp(prefix="s2i-bench-"))
    ours_image, base_image = f"s2i-bench-iris:ours-{TAG}", f"s2i-bench-iris:baseline-{TAG}"
    s2i = s2i_cli()
    notes = [f"s2i CLI: {s2i} ({s2i_version(s2i)})" if s2i else "s2i CLI: none on PATH and S2I unset, "
             "so only the project's own build command was measured"]  # fmt: skip
    if not s2i:
        log("no s2i CLI on PATH and S2I is not set: measuring the project's own build command only")
    notes.append(
        f"Docker daemon {docker_info('ServerVersion')}, default log driver {docker_info('LoggingDriver')}"
    )
    if not BUILDS:
        notes.append("BENCH_BUILDS=0: a serving-only run, no build timings (each image was built once)")
    try:
        log("building the baseline builder")
        build_baseline_builder(work)
        source = make_iris_source(work)
        rows: list[Row] = []

        if BUILDS:
            rows += build_rows(source, ours_image, base_image, s2i, work)
        else:
            timed_build(source, base_image, BASELINE_BUILDER)

        # the remaining rows compare images built by the own command: rebuild ours cold
        harness.docker("rmi", "--force", ours_image, check=False)
        timed_build(source, ours_image, harness.PYTHON3_BUILDER)

        size_ours, size_base = image_size(ours_image), image_size(base_image)
        rows.append(
            (
                "Image size (MB)",
                f"{size_ours / 1e6:.0f}",
                f"{size_base / 1e6:.0f}",
                ratio(size_ours, size_base),
            )
        )

        # What a build adds on top of its builder: the builders differ by this builder's own tools
        # (uv, py-rattler), which every image built with it shares as one layer set.
        layer_ours = size_ours - image_size(harness.PYTHON3_BUILDER)
        layer_base = size_base - image_size(BASELINE_BUILDER)
        rows.append(("Application layers on the builder (MB)", f"{layer_ours / 1e6:.0f}",
                     f"{layer_base / 1e6:.0f}", ratio(layer_ours, layer_base)))  # fmt: skip

        log("start to ready")
        ready_ours, ready_base = start_to_ready(ours_image, base_image)
        rows.append((f"Start to ready, median of {STARTS} in turns (s)", f"{ready_ours:.2f}",
                     f"{ready_base:.2f}", ratio(ready_ours, ready_base)))  # fmt: skip

        rows += serving_rows(ours_image, base_image, source)
        rows += v2_rows(ours_image, source)

        # The stack itself: the same wrapper code and the same model served by the new stack (gunicorn
        # 27, numpy 2, protobuf 7) and by stock seldon-core 1.17.1's own pins (the baseline image: gunicorn
        # 20.1, numpy 1, protobuf 3), both at the wrapper's stock defaults.
        for name, load in (("REST", seldon_rest), ("gRPC", grpc_load)):
            log(f"{name} load, {LOAD_SECONDS}s each, new stack then old pins, stock defaults")
            new = serving(ours_image, STOCK, load)
            old = serving(base_image, STOCK, load)
            label = f"{name} %s, new stack vs old pins, stock defaults"
            rows.append((label % "throughput" + " (req/s)", f"{new['rps']:.0f}", f"{old['rps']:.0f}",
                         ratio(new["rps"], old["rps"])))  # fmt: skip
            rows.append((label % "p99 latency" + " (ms)", f"{new['p99']:.1f}", f"{old['p99']:.1f}",
                         ratio(new["p99"], old["p99"])))  # fmt: skip
            rows.append((label % "server CPU per request" + " (µs)", f"{new['cpu_us']:.0f}",
                         f"{old['cpu_us']:.0f}", ratio(new["cpu_us"], old["cpu_us"])))  # fmt: skip

        for section in (grpc_sizing_rows, memory_rows, recycling_rows):
            rows += reported(section, ours_image)
        if BUILDS:
            rows += python_rows(source, work)

        report(rows, notes, (load_before, os.getloadavg()[1]))
    finally:
        for image in (ours_image, base_image):
            harness.docker("rmi", "--force", image, check=False)
        shutil.rmtree(work, ignore_errors=True)


def s2i_version(s2i: str) -> str:
    result = subprocess.run([s2i, "version"], capture_output=True, text=True)
    return result.stdout.strip() or "version unknown"


def docker_info(field: str) -> str:
    return harness.docker("info", "--format", "{{." + field + "}}").stdout.decode().strip()


def report(rows: list[Row], notes: list[str], load: tuple[float, float]) -> None:
    """`load`: the machine's 5-minute load average when the run started and ended. Other work on the
    machine slows both sides of a row, but not equally (more workers suffer more): above the core
    count, read the ratios with care."""
    today = datetime.date.today().isoformat()
    cores = os.cpu_count()
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {today}, on a machine with {cores} cores, in one run. Builds: this",
        "builder against the baseline (Seldon's original assemble: `pip install --no-cache-dir -r",
        "requirements.txt` into the same base image, no checks), for a scikit-learn iris model with a",
        "joblib file. Serving: our image at this builder's defaults against the baseline's image, the",
        "stock wrapper at its defaults (1 gunicorn worker, 1 thread, 1 gRPC worker, metrics in a Manager",
        "process), and against MLServer 1.7.1 (scikit-learn runtime, the same joblib file, run from a",
        "virtualenv on the host with `parallel_workers: 0`: its parallel inference pool does not start",
        f"here). {LOAD_SECONDS}s of load from 127.0.0.1 each after a warm-up, the best of 3 runs taken in",
        "turns (the machine is shared: turns spread its drift over every contender). REST: wrk, 2",
        "threads, 8 connections; gRPC: h2load (nghttp2's HTTP/2 load generator, in C like wrk), 8",
        "connections with one call in flight each, every answer's length checked; the `from a",
        "Python client` rows make the same 8 connections from 2 processes of grpcio's asyncio client,",
        "which take about a core themselves; the `on one connection` rows send the 8 calls on one",
        "connection, as Seldon Core's executor does. Clients share the machine's cores with the server;",
        "wrk and h2load run in the server container's CPU cgroup (MLServer: beside them on the host),",
        "so the kernel schedules them as the server's peers, and their CPU time is taken off the",
        "server's; the Python client runs on the host.",
        "The sizing rows measure the defaults of builders/sizing.py on our image. The baseline runs stock",
        "seldon-core 1.17.1 on its own pins (tests/fixtures/baseline_builder/wrapper-lock-1.17.1.txt:",
        "gunicorn 20.1, numpy 1, protobuf 3); ours on the current stack (builders/wrapper-lock.txt), so",
        "sizes and the `new stack vs old pins` rows compare the stacks. Incremental rebuilds are",
        "compared with a cold build by the same tool (tests/bench_incremental.py). Our image serves REST",
        "with granian (its default); the `SELDON_S2I_SERVER=gunicorn` rows serve the same image with",
        "gunicorn, and the framework-ceiling rows a plain Flask app (no wrapper, no model) on each",
        "server: the choice of server and the wrapper's own cost, side by side (docs/serving.md). The",
        "`SELDON_S2I_V2=off` rows serve the same image without the Open Inference Protocol: what V2",
        "costs the Seldon routes.",
        "Ratios are ours / theirs.",
        f"Load average (5 min) at start and end: {load[0]:.1f} and {load[1]:.1f}.",
        "",
        *[f"- {note}" for note in notes],
        "",
        "| Measure | Ours | Baseline / stock | Ratio |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
    ]
    text = "\n".join(lines)
    # measurements of code that is gone stay, with the decision they made (docs/incremental.md)
    previous = (harness.ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    if EARLIER in previous:
        text += "\n" + EARLIER + previous.split(EARLIER, 1)[1]
    (harness.ROOT / "BENCHMARKS.md").write_text(text)
    print(text)


def serving_only(reference_builder: str | None) -> None:
    """`python -m tests.bench serving [BUILDER]`: only the serving rows, printed, BENCHMARKS.md left as
    it is: the V2 rows against MLServer, and the Seldon protocol's rows of this builder's image against
    those of an image built by BUILDER (another revision's builder: the same model, the same load)."""
    work = Path(tempfile.mkdtemp(prefix="s2i-bench-"))
    images = {"ours": f"s2i-bench-iris:ours-{TAG}"}
    if reference_builder:
        images["reference"] = f"s2i-bench-iris:reference-{TAG}"
    try:
        source = make_iris_source(work)
        harness.build_ok(source, images["ours"])
        if reference_builder:
            harness.build_ok(source, images["reference"], builder=reference_builder)
        rows = v2_rows(images["ours"], source)
        if reference_builder:
            for name, load in (("Seldon REST", seldon_rest), ("Seldon gRPC", grpc_load)):
                best = best_of({k: (lambda image=image, load=load: serving(image, None, load))
                                for k, image in images.items()})  # fmt: skip
                rows += comparison_rows(name, best["ours"], best["reference"], reference_builder)
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        for row in rows:
            print(" | ".join(row))
    finally:
        harness.docker("rmi", "--force", *images.values(), check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serving"]:
        serving_only(sys.argv[2] if len(sys.argv) > 2 else None)
    else:
        main()
