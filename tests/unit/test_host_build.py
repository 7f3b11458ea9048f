"""The host-side build command: upload stream, arguments, the in-place decision, credentials in
build variables (the Docker parts are in tests/docker)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from builders.errors import ConfigError
from builders.host import build as host_build
from builders.host import secrets, upload
from builders.host.docker import Docker


def test_upload_stream_is_owned_by_1001_and_skips_git(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / ".git").mkdir(parents=True)
    (source / ".git" / "HEAD").write_text("ref")
    (source / ".s2i").mkdir()
    (source / ".s2i" / "environment").write_text("MODEL_NAME=M\n")
    (source / "M.py").write_text("class M: ...\n")
    stream = io.BytesIO()
    upload.write(stream, source)
    stream.seek(0)
    with tarfile.open(fileobj=stream) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["src", "src/.s2i", "src/.s2i/environment", "src/M.py"]
    assert {(m.uid, m.gid) for m in members.values()} == {(1001, 0)}
    assert members["src/M.py"].mode & 0o060 == 0o060


def test_builder_labels_name_scripts_and_destination() -> None:
    labels = {
        host_build.SCRIPTS_LABEL: "image:///usr/libexec/s2i",
        host_build.DESTINATION_LABEL: "/in/",
    }
    builder = host_build.Builder.of({"Config": {"Labels": labels}})
    assert (builder.scripts, builder.destination) == ("/usr/libexec/s2i", "/in")
    plain = host_build.Builder.of({"Config": {"Labels": None}})
    assert (plain.scripts, plain.destination) == ("/usr/libexec/s2i", "/tmp")
    with pytest.raises(ConfigError, match="is not an image:// URL"):
        host_build.Builder.of({"Config": {"Labels": {host_build.SCRIPTS_LABEL: "https://x/s2i"}}})


def test_parse_arguments(tmp_path: Path) -> None:
    assert host_build.parse_env_args(["A=1", "B=x=y", "C="]) == (("A", "1"), ("B", "x=y"), ("C", ""))
    assert host_build.parse_injections([f"{tmp_path}:/whl"]) == ((tmp_path, "/whl"),)
    with pytest.raises(ConfigError, match="not KEY=VALUE"):
        host_build.parse_env_args(["MODEL_NAME"])
    with pytest.raises(ConfigError, match="is not a folder"):
        host_build.parse_injections([f"{tmp_path}/missing:/whl"])
    with pytest.raises(ConfigError, match="HOST_DIR:/absolute/destination"):
        host_build.parse_injections([f"{tmp_path}:whl"])


def _image(image_id: str, env: list[str], layers: int, builder_id: str = "") -> dict[str, object]:
    labels = {host_build.BUILDER_ID_LABEL: builder_id} if builder_id else {}
    return {
        "Id": image_id,
        "Config": {"Env": env, "Labels": labels},
        "RootFS": {"Layers": [f"sha256:{n}" for n in range(layers)]},
    }


def test_in_place_rebuild_only_on_the_same_builder_and_environment() -> None:
    builder = _image("sha256:b", ["PATH=/bin", "HOME=/opt/app-root/src"], layers=5)
    env = {"MODEL_NAME": "MyModel"}
    same = _image("sha256:p", ["PATH=/bin", "HOME=/opt/app-root/src", "MODEL_NAME=MyModel"], 6, "sha256:b")
    assert host_build.why_not_in_place(same, builder, env) is None
    other_builder = {**same, "Config": {**same["Config"], "Labels": {}}}  # type: ignore[dict-item]
    assert "another builder" in str(host_build.why_not_in_place(other_builder, builder, env))
    assert "environment" in str(host_build.why_not_in_place(same, builder, {**env, "FOO": "1"}))
    deep = _image("sha256:p", same["Config"]["Env"], 5 + host_build.MAX_STACKED_LAYERS, "sha256:b")  # type: ignore[index]
    assert "stacked" in str(host_build.why_not_in_place(deep, builder, env))


def test_secrets_folder_merges_the_users_netrc_and_is_private(tmp_path: Path) -> None:
    mine, folder = tmp_path / "mine", tmp_path / "folder"
    mine.mkdir()
    folder.mkdir()
    (mine / ".netrc").write_text("machine other login u password p")
    (mine / "pip.conf").write_text("[global]\n")
    injections = ((mine, "/opt/s2i/secrets/"), (tmp_path, "/whl"))
    merged = secrets.folder(injections, folder, "machine h login a password b\n")
    assert merged == ((tmp_path, "/whl"), (folder, "/opt/s2i/secrets"))
    assert (
        folder / "netrc"
    ).read_text() == "machine other login u password p\nmachine h login a password b\n"
    assert (folder / "pip.conf").is_file()
    assert folder.stat().st_mode & 0o777 == 0o700  # run as root, as here and in CI
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o600}
    assert {(p.stat().st_uid, p.stat().st_gid) for p in folder.iterdir()} == {(1001, 0)}


def test_a_cleanup_failure_is_logged_and_never_raised(capsys: pytest.CaptureFixture[str]) -> None:
    """`docker rm` failing in a `finally` must not replace the error that got us there."""
    Docker(command="false").remove("abc123")  # `false` exits 1, as a daemon that went away would
    assert "WARNING could not remove container abc123: `false rm --force --volumes abc123` exited" in (
        capsys.readouterr().err
    )


def test_a_stopped_docker_engine_is_reported_as_such_not_as_a_missing_builder(tmp_path: Path) -> None:
    # The real docker CLI, pointed at a socket nobody listens on: what a stopped dockerd looks like.
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI on this machine")
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path / 'no-daemon.sock'}"}
    source = tmp_path / "src"
    source.mkdir()
    argv = [sys.executable, "-m", "builders.host", str(source), "some/builder:1", "out:1"]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=Path(__file__).parents[2])
    assert result.returncode == 1
    assert "ERROR the Docker engine does not answer `docker version`" in result.stderr
    assert "TIP Start dockerd" in result.stderr
    assert "is not present" not in result.stderr


def test_the_build_containers_use_dockers_default_network_unless_one_is_named() -> None:
    request = host_build.BuildRequest(source=Path("."), builder="b", image="i")
    assert request.network is None
    assert host_build._network(request) == []
    assert host_build._network(replace(request, network="host")) == ["--network", "host"]
