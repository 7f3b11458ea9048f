"""seldon-core's own unit tests guard the rebuilt wrapper.

The tests/ folder of the seldon-core sdist (builders/wrapper.py names it and its sha256; fetched from
the package index by name at test time, never kept in this repository) runs twice, each time in a
throwaway environment of its own: against stock seldon-core on its own published pins
(tests/fixtures/baseline_builder/wrapper-lock-1.17.1.txt), and against the wheel builders/wrapperwheel.py
rebuilds, on the builder's stack (builders/wrapper-lock.txt). Every test that passes on stock must pass
on the rebuilt wheel; the few that fail on stock too are listed below, with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from builders import wrapper, wrapperwheel

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".venv" / "bin" / "uv"
SUITE_REQUIREMENTS = ROOT / "tests" / "upstream-suite-requirements.txt"
STOCK_PINS = ROOT / "tests" / "fixtures" / "baseline_builder" / "wrapper-lock-1.17.1.txt"

# Tests that fail on stock seldon-core 1.17.1 on its own pins too: faults of the suite, not the wrapper.
STOCK_FAILURES = {
    # reads version.txt two folders up: the root of seldon-core's monorepo, which the sdist does not ship
    "tests.test_microservice::test_microservice_version": "version.txt",
    # build a ragged array (np.array([[1, 2], [3]])) in the test itself: numpy >= 1.24 refuses that
    "tests.test_utils::test_create_rest_response_text_ndarray": "ragged",
    "tests.test_utils::test_create_grpc_response_text_ndarray": "ragged",
}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("upstream")


@pytest.fixture(scope="module")
def suite(work: Path) -> Path:
    """The sdist's tests/ folder (and nothing else of it: its setup.cfg asks for pytest-cov)."""
    sdist = wrapperwheel.download(work / "sdist", wrapper.SDIST)
    root = work / "suite"
    prefix = sdist.name.removesuffix(".tar.gz") + "/tests/"
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        for member in members:
            member.name = member.name.removeprefix(prefix.removesuffix("tests/"))
        archive.extractall(root, members=members, filter="data")
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    return root


def environment(folder: Path, *install: str) -> Path:
    env = {**os.environ, "UV_LINK_MODE": "copy"}
    subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(folder)], check=True, env=env)
    python = folder / "bin" / "python"
    argv = [str(UV), "pip", "install", "--quiet", "--python", str(python), "-r", str(SUITE_REQUIREMENTS)]
    subprocess.run([*argv, *install], check=True, env=env)
    return python


def run(python: Path, suite: Path, report: Path) -> dict[str, str]:
    """pytest over the suite: {test id: passed, failed or skipped}. A test outside STOCK_FAILURES that
    fails is run once more on its own: the suite's servers get a fixed time to start, which a loaded
    2-core machine sometimes exceeds."""
    outcomes = _pytest(python, suite, report, ["tests"])
    again = sorted(failed(outcomes) - set(STOCK_FAILURES))
    if again:
        ids = [f"{name.replace('.', '/', 1).replace('::', '.py::', 1)}" for name in again]
        outcomes |= _pytest(python, suite, report.with_suffix(".again.xml"), ids)
    return outcomes


def _pytest(python: Path, suite: Path, report: Path, targets: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PREDICTIVE_UNIT_"))}
    # helpers.MicroserviceWrapper starts `seldon-core-microservice` by name (on fixed ports 9000, 5000
    # and 6005 of 127.0.0.1)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    argv = [str(python), "-m", "pytest", "-q", "-W", "ignore", f"--junitxml={report}"]
    subprocess.run([*argv, *targets], cwd=suite, env=env, capture_output=True, timeout=900)
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[name] = "failed" if failed else "skipped" if case.find("skipped") is not None else "passed"
    return outcomes


@pytest.fixture(scope="module")
def stock(work: Path, suite: Path) -> dict[str, str]:
    wheel = wrapperwheel.download(work / "wheel")
    python = environment(work / "stock", "-c", str(STOCK_PINS), str(wheel))
    return run(python, suite, work / "stock.xml")


@pytest.fixture(scope="module")
def rebuilt(work: Path, suite: Path) -> dict[str, str]:
    original = wrapperwheel.download(work / "original")
    wheel = wrapperwheel.rebuild(original, ROOT / "builders" / "wrapper-requirements.txt", work / "rebuilt")
    python = environment(work / "current", "-c", str(ROOT / "builders" / "wrapper-lock.txt"), str(wheel))
    return run(python, suite, work / "rebuilt.xml")


def failed(outcomes: dict[str, str]) -> set[str]:
    return {name for name, outcome in outcomes.items() if outcome == "failed"}


def test_the_listed_failures_are_the_ones_stock_has(stock: dict[str, str]) -> None:
    assert len(stock) > 400, "the suite did not run"
    assert failed(stock) == set(STOCK_FAILURES)


def test_the_rebuilt_wheel_passes_what_stock_passes(stock: dict[str, str], rebuilt: dict[str, str]) -> None:
    assert set(rebuilt) == set(stock)
    assert failed(rebuilt) - set(STOCK_FAILURES) == set()
