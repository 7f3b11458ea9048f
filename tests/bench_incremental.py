"""`make bench`, incremental part: what `--incremental` costs against a cold build, on a light and a
heavy application, with the public index and with an index on 127.0.0.1.

The light case is the iris model of tests/bench.py (scikit-learn, joblib). The heavy case adds
pandas, scipy, pyarrow, xgboost and lightgbm: an application environment of over a gigabyte. Each
case is built cold, then rebuilt with `--incremental` after a code-only change, in turns, by:
- the real s2i CLI (`s2i build --incremental`), when it is on PATH or named by S2I;
- the project's own command (`python -m builders.host --incremental`), whose in-place route runs
  assemble in the previous image when the dependencies are unchanged.

The local index serves the heavy case's wheels (downloaded once for the builder's Python) over HTTP
on 127.0.0.1, with credentials injected as a pip.conf, as a private index would be.

Run alone with `python -m tests.bench_incremental` (it prints its rows); `make bench` adds them to
BENCHMARKS.md.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests import bench, harness

HEAVY_REQUIREMENTS = ["scikit-learn", "pandas", "scipy", "pyarrow", "xgboost", "lightgbm"]
HEAVY_MODEL = """import numpy as np


class HeavyModel:
    def load(self):
        import lightgbm, pandas, pyarrow, scipy, sklearn, xgboost  # noqa: F401

    def predict(self, X, features_names=None):
        return np.asarray(X) * 2
"""
ROUNDS = 2
Build = Callable[[bool], float]  # incremental? -> seconds


def make_heavy_source(directory: Path) -> Path:
    source = directory / "heavy"
    (source / ".s2i").mkdir(parents=True)
    (source / ".s2i" / "environment").write_text("MODEL_NAME=HeavyModel\nSERVICE_TYPE=MODEL\n")
    (source / "requirements.txt").write_text("\n".join(HEAVY_REQUIREMENTS) + "\n")
    (source / "HeavyModel.py").write_text(HEAVY_MODEL)
    return source


def builder_python(builder: str) -> str:
    argv = ["run", "--rm", "--entrypoint", "/opt/app-root/bin/python", builder, "-c"]
    code = "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
    return harness.docker(*argv, code).stdout.decode().strip()


def download_wheels(source: Path, python: str, target: Path) -> None:
    """Every wheel the heavy case installs, for the builder's Python, into `target` (done once)."""
    platforms = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "any"]
    requirements = str(source / "requirements.txt")
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:",
            "--python-version", python, "--dest", str(target), "-r", requirements]  # fmt: skip
    for platform in platforms:
        argv += ["--platform", platform]
    subprocess.run(argv, check=True)


@contextlib.contextmanager
def local_index(wheels: Path, scratch: Path) -> Iterator[Path]:
    """A private index on 127.0.0.1 serving `wheels`; yields a folder holding the pip.conf that makes
    it the build's only index (inject it at /opt/s2i/secrets)."""
    with harness.private_index(wheels) as index:
        secrets = scratch / "secrets"
        secrets.mkdir(exist_ok=True)
        (secrets / "pip.conf").write_text(f"[global]\nindex-url = {index.url_with_credentials()}\n")
        secrets.chmod(0o755)
        (secrets / "pip.conf").chmod(0o644)
        yield secrets


def s2i_build(s2i: str, source: Path, image: str, inject: list[str]) -> Build:
    def build(incremental: bool) -> float:
        argv = [s2i, "build", str(source), harness.PYTHON3_BUILDER, image, "--network", "host",
                "--pull-policy", "never"]  # fmt: skip
        for item in inject:
            argv += ["--inject", item]
        previous = None
        if incremental:
            argv += ["--incremental", "--incremental-pull-policy", "never"]
            previous = json.loads(harness.docker("image", "inspect", image).stdout)[0]["Id"]
        started = time.monotonic()
        result = subprocess.run(argv, capture_output=True, text=True, env=bench.s2i_environment())
        seconds = time.monotonic() - started
        assert result.returncode == 0, f"s2i build failed:\n{result.stdout}{result.stderr}"
        if previous:  # s2i leaves the previous image untagged
            harness.docker("rmi", previous, check=False)
        return seconds

    return build


def own_build(source: Path, image: str, inject: list[str]) -> Build:
    def build(incremental: bool) -> float:
        return harness.build_ok(
            source, image, builder=harness.PYTHON3_BUILDER, incremental=incremental, inject=inject
        ).seconds

    return build


def cold_and_incremental(source: Path, image: str, build: Build) -> tuple[float, float]:
    """Best of ROUNDS, in turns: a cold build (no previous image), then a code-only change rebuilt
    with --incremental on top of it."""
    cold, incremental = [], []
    for attempt in range(ROUNDS):
        harness.docker("rmi", "--force", image, check=False)
        cold.append(build(False))
        environment = (source / ".s2i" / "environment").read_text()
        model = environment.split("MODEL_NAME=", 1)[1].split()[0]
        with (source / f"{model}.py").open("a") as handle:
            handle.write(f"# edit {attempt}\n")
        incremental.append(build(True))
    harness.docker("rmi", "--force", image, check=False)
    return min(cold), min(incremental)


def rows(work: Path, iris: Path) -> list[bench.Row]:
    s2i = bench.s2i_cli()
    heavy = make_heavy_source(work)
    wheels = work / "wheels"
    bench.log(f"downloading the heavy case's wheels for the local index ({', '.join(HEAVY_REQUIREMENTS)})")
    download_wheels(heavy, builder_python(harness.PYTHON3_BUILDER), wheels)
    found: list[bench.Row] = []
    with local_index(wheels, work) as secrets:
        cases = [
            ("iris, public index", iris, []),
            ("heavy, public index", heavy, []),
            ("heavy, index on 127.0.0.1", heavy, [f"{secrets}:/opt/s2i/secrets"]),
        ]
        for label, source, inject in cases:
            image = harness.unique_tag(f"bench-inc-{source.name}")
            tools: list[tuple[str, Build]] = [("own build command", own_build(source, image, inject))]
            if s2i:
                tools.insert(0, ("s2i CLI", s2i_build(s2i, source, image, inject)))
            for tool, build in tools:
                bench.log(f"--incremental against cold, {label}, {tool}")
                cold, incremental = cold_and_incremental(source, image, build)
                found.append((f"Code-only rebuild --incremental, {label}, {tool} (s, best of {ROUNDS}), "
                              "vs its cold build", f"{incremental:.1f}", f"{cold:.1f}",
                              bench.ratio(incremental, cold)))  # fmt: skip
    return found


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="s2i-bench-inc-"))
    try:
        found = rows(work, bench.make_iris_source(work))
        print("| Measure | --incremental | Cold | Ratio |\n|---|---|---|---|")
        for row in found:
            print("| " + " | ".join(row) + " |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
