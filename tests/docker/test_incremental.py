"""`--incremental`: the own command's in-place fast path, a changed build environment and a
dependency change, one source edited step by step and rebuilt under the same image name; and s2i's
route (save-artifacts, then assemble with /tmp/artifacts), driven the way the s2i CLI drives it."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from tests import harness

pytestmark = pytest.mark.docker

MODEL = """import tabulate


class MyModel:
    def predict(self, X, features_names=None):
        return [[{answer}]]

    def tags(self):
        return {{"tabulate": tabulate.__version__}}
"""


def predict(image: str) -> tuple[object, dict[str, str]]:
    with harness.serve(image) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        return body["data"]["ndarray"], body["meta"]["tags"]


def files_in(image: str, folder: str) -> list[str]:
    listing = harness.docker("run", "--rm", "--entrypoint", "ls", image, "-A", folder)
    return listing.stdout.decode().split()


# Every file of the environment with its size, mode and modification time (whole seconds: what
# bytecode is checked against).
LIST_ENVIRONMENT = """
import os
for top in ("/opt/app-root/lib", "/opt/app-root/bin"):
    for folder, _, names in os.walk(top):
        for name in names:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            print(path, info.st_size, oct(info.st_mode), int(info.st_mtime))
"""


def environment_of(image: str) -> list[str]:
    listing = harness.docker(
        "run", "--rm", "--entrypoint", "/opt/app-root/bin/python", image, "-c", LIST_ENVIRONMENT
    )
    return sorted(listing.stdout.decode().splitlines())


def test_incremental_rebuilds(python3_builder: str, tmp_path: Path) -> None:
    source = tmp_path / "app"
    shutil.copytree(harness.FIXTURES / "requirements_basic", source)
    (source / "MyModel.py").write_text(MODEL.format(answer=1))
    (source / "notes.txt").write_text("only in the first build\n")
    image = harness.unique_tag("incremental")
    try:
        harness.build_ok(source, image, incremental=True)  # no previous image: a cold build
        assert predict(image) == ([[1]], {"tabulate": "0.9.0"})
        cold_environment = environment_of(image)

        # A code-only change: assemble runs in the previous image and replaces only the code.
        (source / "MyModel.py").write_text(MODEL.format(answer=2))
        (source / "notes.txt").unlink()
        fast = harness.build_ok(source, image, incremental=True)
        assert "in place" in fast.log and "replacing the code only" in fast.log, fast.log
        assert "Installing" not in fast.log
        assert predict(image) == ([[2]], {"tabulate": "0.9.0"})
        assert environment_of(image) == cold_environment  # kept as it was, file for file
        assert "notes.txt" not in files_in(image, "/opt/app-root/src")

        # A new build variable: not the previous image's environment, so a cold build.
        env = {"SELDON_LOG_LEVEL": "WARNING"}
        (source / "MyModel.py").write_text(MODEL.format(answer=3))
        cold = harness.build_ok(source, image, env=env, incremental=True)
        assert "Not rebuilding in place: the build environment" in cold.log, cold.log
        assert "Installing requirements.txt" in cold.log
        assert predict(image) == ([[3]], {"tabulate": "0.9.0"})

        # A dependency change: the in-place attempt declines and the environment is installed afresh.
        (source / "requirements.txt").write_text("tabulate==0.8.10\n")
        changed = harness.build_ok(source, image, env=env, incremental=True)
        assert "dependency inputs changed" in changed.log, changed.log
        assert "Installing requirements.txt" in changed.log
        assert predict(image) == ([[3]], {"tabulate": "0.8.10"})

        # No installer cache in any layer of the result.
        caches = [
            path
            for paths in harness.layer_paths(image).values()
            for path in paths
            if "uv-cache" in path or "/.cache/pip" in path or "/.cache/uv" in path
        ]
        assert caches == []
    finally:
        harness.docker("rmi", "--force", image, check=False)


def test_s2i_incremental_route_installs_afresh_saying_so(
    python3_builder: str, model_template_image: str
) -> None:
    """What `s2i build --incremental` does: save-artifacts runs in the previous image, its stream is
    unpacked at /tmp/artifacts of a new builder container beside the source, then assemble runs."""
    saved = harness.docker("run", "--rm", model_template_image, "/usr/libexec/s2i/save-artifacts").stdout
    upload = io.BytesIO()

    def owned(member: tarfile.TarInfo) -> tarfile.TarInfo:
        member.uid, member.gid = 1001, 0  # s2i uploads as the assemble user
        return member

    with tarfile.open(fileobj=upload, mode="w") as tar:
        tar.add(harness.TEMPLATES / "model-template-app", arcname="src", filter=owned)
        folder = tarfile.TarInfo("artifacts")  # s2i uploads the folder it unpacked the stream into
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(owned(folder))
        with tarfile.open(fileobj=io.BytesIO(saved)) as stream:
            for member in stream.getmembers():
                content = stream.extractfile(member)
                member.name = f"artifacts/{member.name}"
                tar.addfile(owned(member), content)
    container = (
        harness.docker(
            "create", "--network", "host", "--user", "1001", python3_builder, "/usr/libexec/s2i/assemble"
        )
        .stdout.decode()
        .strip()
    )
    try:
        harness.docker("cp", "-", f"{container}:/tmp", input=upload.getvalue())
        run = harness.docker("start", "--attach", container, check=False)
        log = run.stdout.decode() + run.stderr.decode()
        assert run.returncode == 0, log
        assert "--incremental: installing the dependencies afresh" in log
        assert "Installing requirements.txt" in log
        left = harness.docker("diff", container).stdout.decode()
        assert "/tmp/artifacts" not in left  # nothing of the stream is committed with the image
    finally:
        harness.docker("rm", "--force", container, check=False)
