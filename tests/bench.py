"""`make bench`: this builder against a baseline, measured in one run on this machine.

Not a test: it asserts nothing about timings. It prints a Markdown table of absolute figures and
ratios and writes it to BENCHMARKS.md. The baseline builder (tests/fixtures/baseline_builder) does
what Seldon's original assemble did: `pip install --no-cache-dir -r requirements.txt` into the same
base image, no checks, with seldon-core 1.18.2's old pins (wrapper-lock-1.18.2.txt). Serving is
compared on the same image (our defaults against the wrapper's stock ones: one gunicorn worker, one
thread, one gRPC worker), and between stacks (our image against the baseline's, both at stock defaults).

Builds are measured with the project's own build command and, when the real s2i CLI is on PATH or
named by S2I=/path/to/s2i, with it too: cold builds of both builders, `s2i build --incremental`
after a code-only change, and the own command's two incremental routes. Without the CLI it says so
and measures the rest.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests import harness

# Tagged after the builder under test, so benchmarks of different builders on one engine never share an image.
TAG = harness.PYTHON3_BUILDER.rsplit(":", 1)[-1]
BASELINE_BUILDER = f"s2i-bench-baseline-builder:{TAG}"
BASE_IMAGE = os.environ.get("BASE_IMAGE", "seldon-s2i-base:bookworm")
STOCK = {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "1", "GRPC_WORKERS": "1", "GRPC_THREADS": "1"}
LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "10"))
STARTS = 5
ROUNDS = 3  # builds are timed this many times, the best kept: a shared machine's load comes and goes
ROW = [[5.1, 3.5, 1.4, 0.2]]

MODEL = '''"""The benchmark model: a scikit-learn iris classifier loaded from a joblib file."""

import joblib


class IrisClassifier:
    def __init__(self):
        self.model = joblib.load("model.joblib")

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


def timed_build(
    source: Path, image: str, builder: str, incremental: bool = False, env: dict[str, str] | None = None
) -> float:
    result = harness.build_ok(source, image, builder=builder, incremental=incremental, env=env)
    return result.seconds


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


def timed_s2i_build(s2i: str, source: Path, image: str, builder: str, incremental: bool = False) -> float:
    """`s2i build`, with nothing pulled (no registry here); an incremental build's previous image, left
    untagged by s2i, is removed afterwards (not timed)."""
    argv = [s2i, "build", str(source), builder, image, "--network", "host", "--pull-policy", "never"]
    previous = None
    if incremental:
        argv += ["--incremental", "--incremental-pull-policy", "never"]
        previous = json.loads(harness.docker("image", "inspect", image).stdout)[0]["Id"]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, env=s2i_environment())
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"s2i build of {source} failed:\n{result.stdout}{result.stderr}"
    if previous:
        harness.docker("rmi", previous, check=False)
    return seconds


def save_artifacts_seconds(image: str, log_driver: str) -> float:
    """save-artifacts' stream read through `docker run`'s attach, as s2i reads it, with a log driver."""
    started = time.monotonic()
    harness.docker("run", "--rm", "--network", "host", "--log-driver", log_driver, image,
                   "/usr/libexec/s2i/save-artifacts")  # fmt: skip
    return time.monotonic() - started


def image_size(image: str) -> int:
    return int(json.loads(harness.docker("image", "inspect", image).stdout)[0]["Size"])


def start_to_ready(image: str, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(STARTS):
        started = time.monotonic()
        with harness.serve(image, env=env):
            times.append(time.monotonic() - started)
    return statistics.median(times)


def wrk(server: harness.Server) -> dict[str, float]:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    body = json.dumps({"data": {"ndarray": ROW}})
    script.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{body}'\nwrk.headers['Content-Type'] = 'application/json'\n"
    )
    url = server.url("/api/v1.0/predictions")
    argv = ["wrk", "-t2", "-c8", f"-d{LOAD_SECONDS}s", "--latency", "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert rps and not errors, out
    return {"rps": float(rps[1]), "p50": latency("50%"), "p99": latency("99%")}


def grpc_load(server: harness.Server, concurrency: int = 8) -> dict[str, float]:
    """A bounded closed-loop gRPC load: `concurrency` threads, each one request at a time."""
    import grpc
    from seldon_core.proto import prediction_pb2, prediction_pb2_grpc

    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc}")
    grpc.channel_ready_future(channel).result(timeout=30)
    request = prediction_pb2.SeldonMessage(
        data=prediction_pb2.DefaultData(tensor=prediction_pb2.Tensor(shape=[1, 4], values=ROW[0]))
    )
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + LOAD_SECONDS

    def worker() -> None:
        stub = prediction_pb2_grpc.ModelStub(grpc.insecure_channel(f"127.0.0.1:{server.grpc}"))
        mine = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            stub.Predict(request, timeout=30)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rps": len(latencies) / LOAD_SECONDS,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
    }


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
    """The load's figures, plus `cpu_us`: the server's CPU time per request (all its processes). On a
    shared machine throughput follows whatever else runs; CPU per request barely does."""
    with harness.serve(image, env=env) as server:
        load(server)  # warm-up: imports, first connections
        before = container_cpu_us(server.container)
        result = load(server)
        used = container_cpu_us(server.container) - before
        return {**result, "cpu_us": used / (result["rps"] * LOAD_SECONDS)}


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "n/a"


def code_edit(source: Path, label: str) -> None:
    with (source / "IrisClassifier.py").open("a") as handle:
        handle.write(f"# edit: {label}\n")


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
    try:
        log("building the baseline builder")
        build_baseline_builder(work)
        source = make_iris_source(work)
        rows: list[tuple[str, str, str, str]] = []

        # Cold builds: each builder with each build tool, best of ROUNDS, interleaved so that the load of a
        # shared machine falls on both sides alike.
        routes: list[tuple[str, Callable[[str, str], float]]] = [
            ("own build command", lambda image, builder: timed_build(source, image, builder))
        ]
        if s2i:
            routes.append(("s2i CLI", lambda image, builder: timed_s2i_build(s2i, source, image, builder)))
        cold: dict[str, float] = {}
        for route, build in routes:
            times: dict[str, list[float]] = {ours_image: [], base_image: []}
            for attempt in range(ROUNDS):
                log(f"cold builds with the {route}, round {attempt + 1}")
                for image, builder in ((ours_image, harness.PYTHON3_BUILDER), (base_image, BASELINE_BUILDER)):
                    harness.docker("rmi", "--force", image, check=False)
                    times[image].append(build(image, builder))
            ours, base = min(times[ours_image]), min(times[base_image])
            cold[route] = ours
            rows.append((f"Cold build, iris, {route} (s, best of {ROUNDS})", f"{ours:.1f}", f"{base:.1f}",
                         ratio(ours, base)))  # fmt: skip

        # A code-only change, rebuilt with --incremental, compared with a cold build by the same tool.
        # The own command: in place (assemble runs in the previous image), and s2i's route
        # (save-artifacts restored by a new assemble), which it takes when a build variable changed
        # (here BENCH_ROUND). The s2i CLI: always save-artifacts.
        incremental: list[tuple[str, str, Callable[[int], float]]] = [
            ("own build command, in place", "own build command",
             lambda n: timed_build(source, ours_image, harness.PYTHON3_BUILDER, incremental=True)),
            ("own build command, save-artifacts", "own build command",
             lambda n: timed_build(source, ours_image, harness.PYTHON3_BUILDER, incremental=True,
                                   env={"BENCH_ROUND": str(n)})),
        ]  # fmt: skip
        if s2i:
            incremental.append(("s2i CLI, save-artifacts", "s2i CLI",
                                lambda n: timed_s2i_build(s2i, source, ours_image, harness.PYTHON3_BUILDER,
                                                          incremental=True)))  # fmt: skip
        for label, route, rebuild in incremental:
            if label.endswith("in place") or route == "s2i CLI":
                # start from a cold build by the same tool, with no build variable set
                harness.docker("rmi", "--force", ours_image, check=False)
                dict(routes)[route](ours_image, harness.PYTHON3_BUILDER)
            timings = []
            for attempt in range(ROUNDS):
                log(f"rebuild after a code-only change ({label}), round {attempt + 1}")
                code_edit(source, f"{label} {attempt}")
                timings.append(rebuild(attempt))
            inc = min(timings)
            rows.append((f"Code-only rebuild --incremental, {label} (s, best of {ROUNDS}), vs its cold build",
                         f"{inc:.1f}", f"{cold[route]:.1f}", ratio(inc, cold[route])))  # fmt: skip

        log("save-artifacts through docker attach, json-file log then none")
        by_driver = {
            d: min(save_artifacts_seconds(ours_image, d) for _ in range(ROUNDS))
            for d in ("json-file", "none")
        }
        rows.append((f"save-artifacts stream through attach, json-file log vs none (s, best of {ROUNDS})",
                     f"{by_driver['json-file']:.1f}", f"{by_driver['none']:.1f}",
                     ratio(by_driver["json-file"], by_driver["none"])))  # fmt: skip

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
        ready_ours, ready_base = start_to_ready(ours_image), start_to_ready(base_image)
        rows.append((f"Start to ready, median of {STARTS} (s)", f"{ready_ours:.2f}", f"{ready_base:.2f}",
                     ratio(ready_ours, ready_base)))  # fmt: skip

        for name, load in (("REST", wrk), ("gRPC", grpc_load)):
            log(f"{name} load, {LOAD_SECONDS}s each, our defaults then stock wrapper defaults")
            tuned = serving(ours_image, None, load)
            stock = serving(ours_image, STOCK, load)
            rows.append((f"{name} throughput (req/s)", f"{tuned['rps']:.0f}", f"{stock['rps']:.0f}",
                         ratio(tuned["rps"], stock["rps"])))  # fmt: skip
            for pct in ("p50", "p99"):
                rows.append((f"{name} {pct} latency (ms)", f"{tuned[pct]:.1f}", f"{stock[pct]:.1f}",
                             ratio(tuned[pct], stock[pct])))  # fmt: skip

        # The stack itself: the same wrapper code and the same model served by the new stack (gunicorn
        # 27, numpy 2, protobuf 7) and by seldon-core 1.18.2's old pins (the baseline image: gunicorn
        # 20.1, numpy 1, protobuf 3), both at the wrapper's stock defaults.
        for name, load in (("REST", wrk), ("gRPC", grpc_load)):
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


def report(rows: list[tuple[str, str, str, str]], notes: list[str], load: tuple[float, float]) -> None:
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
        "joblib file. Serving: the same image at this builder's defaults against the wrapper's stock",
        f"defaults (1 gunicorn worker, 1 thread, 1 gRPC worker), {LOAD_SECONDS}s of load from 127.0.0.1",
        "each (REST: wrk, 2 threads, 8 connections; gRPC: 8 Python client threads, which share the",
        "machine's cores with the server). The baseline runs seldon-core 1.18.2 on its old pins",
        "(tests/fixtures/baseline_builder/wrapper-lock-1.18.2.txt: gunicorn 20.1, numpy 1, protobuf 3);",
        "ours on the current stack (builders/wrapper-lock.txt), so sizes and the `new stack vs old pins`",
        "rows compare the stacks. Incremental rebuilds are compared with a cold build by the same tool;",
        "the save-artifacts row compares the two log drivers. Ratios are ours / theirs. Load average",
        f"(5 min) at start and end: {load[0]:.1f} and {load[1]:.1f}.",
        "",
        *[f"- {note}" for note in notes],
        "",
        "| Measure | Ours | Baseline / stock | Ratio |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
    ]
    text = "\n".join(lines)
    (harness.ROOT / "BENCHMARKS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
