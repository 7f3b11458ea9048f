"""docs/ci.md's commands, run here: `s2i build --as-dockerfile`, then buildah builds the Dockerfile,
and the image serves. The s2i CLI is not installable from the registries the CI machines reach, so
this runs where a developer has it on PATH (or names it with S2I=) and says why it skips elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import harness

pytestmark = pytest.mark.docker


def _tools() -> tuple[str, str]:
    s2i = os.environ.get("S2I") or shutil.which("s2i")
    buildah = shutil.which("buildah")
    if not s2i or not buildah:
        pytest.skip("docs/ci.md's recipe needs the s2i CLI and buildah on PATH (S2I= names the CLI)")
    return s2i, buildah


def test_as_dockerfile_then_buildah_builds_an_image_that_serves(python3_builder: str, tmp_path: Path) -> None:
    s2i, buildah = _tools()
    version = harness.docker("version", "--format", "{{.Server.APIVersion}}").stdout.decode().strip()
    env = {**os.environ, "DOCKER_API_VERSION": version}
    context = tmp_path / "build"
    source = harness.TEMPLATES / "model-template-app"
    generate = [s2i, "build", str(source), python3_builder, "--as-dockerfile", str(context / "Dockerfile")]
    subprocess.run(generate, check=True, env=env, capture_output=True)
    dockerfile = (context / "Dockerfile").read_text()
    first = dockerfile.splitlines()[0]  # s2i names the builder in full: FROM <registry>/<name>
    assert first.startswith("FROM ") and first.endswith(python3_builder), first
    assert "/usr/libexec/s2i/assemble" in dockerfile
    image = harness.unique_tag("buildah")
    storage = [
        "--root",
        str(tmp_path / "storage"),
        "--runroot",
        str(tmp_path / "run"),
        "--storage-driver",
        "vfs",
    ]
    # buildah has its own image store: the builder comes from this machine's Docker engine
    subprocess.run(
        [buildah, *storage, "pull", f"docker-daemon:{python3_builder}"], check=True, capture_output=True
    )
    built = subprocess.run(
        [buildah, *storage, "bud", "--network", "host", "--pull-never", "-t", image, str(context)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Build of MyModel complete" in built.stdout + built.stderr
    subprocess.run(
        [buildah, *storage, "push", image, f"docker-daemon:{image}"], check=True, capture_output=True
    )
    try:
        with harness.serve(image) as server:
            reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1.0, 2.0, 3.0]]}})
            assert reply.status_code == 200, reply.text
            assert harness.flat(reply.json()["data"]["ndarray"]) == pytest.approx([3.1])
    finally:
        harness.docker("rmi", "--force", image, check=False)
        subprocess.run([buildah, *storage, "rm", "--all"], capture_output=True)
        shutil.rmtree(tmp_path / "storage", ignore_errors=True)
