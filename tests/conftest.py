"""Shared fixtures. Docker tests skip (with the reason) where no engine runs, except in CI
(CI=true), where a missing engine is a failure."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from builders import python_version
from tests import harness


@pytest.fixture(autouse=True)
def _no_pip_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own PIP_*/UV_* settings must not leak into what the tests run.
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_")):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    """tools(name, release): the bin folder of a throwaway environment with that release of a lock
    writer (tests/lockfiles.py), installed once per session."""
    from tests import lockfiles

    root = tmp_path_factory.mktemp("tools")
    return lambda name, release: lockfiles.tool(name, release, root)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    problem = harness.docker_available()
    if problem is None:
        return
    message = f"Docker engine unavailable ({problem}); `make docker` installs and starts one"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def python3_builder(docker_engine: None) -> str:
    """The builder image, built once per session (`make images` is a cached no-op when current)."""
    if not harness.image_exists(harness.PYTHON3_BUILDER):
        subprocess.run(["make", "images"], cwd=harness.ROOT, check=True)
    return harness.PYTHON3_BUILDER


@pytest.fixture(scope="session")
def onnx_builder(python3_builder: str) -> str:
    """The ngraph-onnx builder, FROM the python3 one; `make images` builds both."""
    if not harness.image_exists(harness.ONNX_BUILDER):
        subprocess.run(["make", "images"], cwd=harness.ROOT, check=True)
    return harness.ONNX_BUILDER


@pytest.fixture(scope="session", params=[p for p in python_version.PYTHONS if p != python_version.DEFAULT])
def other_builder(request: pytest.FixtureRequest, python3_builder: str) -> str:
    """Each builder of another Python than the default's (`make images` builds them all)."""
    image = harness.builder_image(request.param)
    if not harness.image_exists(image):
        subprocess.run(["make", "images"], cwd=harness.ROOT, check=True)
    return image


@pytest.fixture(scope="session")
def built(python3_builder: str) -> Iterator[Callable[[Path], str]]:
    """Build a source folder with the python3 builder once per session; the images go at the end."""
    images: dict[Path, str] = {}

    def build(source: Path) -> str:
        if source not in images:
            image = harness.unique_tag(source.name)
            harness.build_ok(source, image, builder=python3_builder)
            images[source] = image
        return images[source]

    yield build
    if images:
        harness.docker("rmi", "--force", *images.values(), check=False)


@pytest.fixture(scope="session")
def model_template_image(built: Callable[[Path], str]) -> str:
    return built(harness.TEMPLATES / "model-template-app")
