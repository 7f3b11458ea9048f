"""`make bench`: this builder against a baseline, measured in one run on this machine.

Not a test: it asserts nothing about timings. It prints a Markdown table of absolute figures and
ratios and writes it to BENCHMARKS.md. The baseline builder (tests/fixtures/baseline_builder) does
what Seldon's original assemble did: `pip install --no-cache-dir -r requirements.txt` into the same
base image, no checks. Serving is compared on the same image: our defaults against the wrapper's
stock ones (one gunicorn worker, one thread, one gRPC worker).
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

BASELINE_BUILDER = "s2i-bench-baseline-builder:latest"
BASE_IMAGE = os.environ.get("BASE_IMAGE", "seldon-s2i-base:bookworm")
STOCK = {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "1", "GRPC_WORKERS": "1", "GRPC_THREADS": "1"}
LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "10"))
STARTS = 5
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


def serving(
    image: str, env: dict[str, str] | None, load: Callable[[harness.Server], dict[str, float]]
) -> dict[str, float]:
    with harness.serve(image, env=env) as server:
        load(server)  # warm-up: imports, first connections
        return load(server)


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "n/a"


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="s2i-bench-"))
    ours_image, base_image = "s2i-bench-iris:ours", "s2i-bench-iris:baseline"
    try:
        log("building the baseline builder")
        build_baseline_builder(work)
        source = make_iris_source(work)
        rows: list[tuple[str, str, str, str]] = []

        cold_ours, cold_base = [], []
        for attempt in range(2):
            for image in (ours_image, base_image):
                harness.docker("rmi", "--force", image, check=False)
            log(f"cold builds, round {attempt + 1}")
            cold_ours.append(timed_build(source, ours_image, harness.PYTHON3_BUILDER))
            cold_base.append(timed_build(source, base_image, BASELINE_BUILDER))
        ours, base = min(cold_ours), min(cold_base)
        rows.append(("Cold build, iris (s, best of 2)", f"{ours:.1f}", f"{base:.1f}", ratio(ours, base)))

        # Two routes for a code-only change. The build command's in-place path (assemble runs in the
        # previous image); and s2i's own route, save-artifacts from the previous image restored by a new
        # assemble, which the build command takes when a build variable changed (here BENCH_ROUND).
        for label, vary_env in (("in place", False), ("save-artifacts, as s2i", True)):
            timings = []
            for attempt in range(2):
                log(f"incremental rebuild after a code-only change ({label}), round {attempt + 1}")
                with (source / "IrisClassifier.py").open("a") as handle:
                    handle.write(f"# edit {label} {attempt}\n")
                env = {"BENCH_ROUND": f"{label}-{attempt}"} if vary_env else None
                timings.append(
                    timed_build(source, ours_image, harness.PYTHON3_BUILDER, incremental=True, env=env)
                )
            inc = min(timings)
            rows.append((f"Rebuild after a code-only change, {label} (s), vs our cold build", f"{inc:.1f}",
                         f"{ours:.1f}", ratio(inc, ours)))  # fmt: skip

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

        report(rows)
    finally:
        for image in (ours_image, base_image):
            harness.docker("rmi", "--force", image, check=False)
        shutil.rmtree(work, ignore_errors=True)


def report(rows: list[tuple[str, str, str, str]]) -> None:
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
        "machine's cores with the server). Ratios are ours / theirs.",
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
