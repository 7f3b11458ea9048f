"""The upload tar and argument parsing of the build command (the Docker parts are in tests/docker)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from builders import dockerbuild
from builders.errors import ConfigError


def test_source_tar_is_owned_by_1001_and_skips_git(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (tmp_path / ".s2i").mkdir()
    (tmp_path / ".s2i" / "environment").write_text("MODEL_NAME=M\n")
    (tmp_path / "M.py").write_text("class M: ...\n")
    previous = io.BytesIO()
    with tarfile.open(fileobj=previous, mode="w") as tar:
        data = b"{}"
        info = tarfile.TarInfo("./s2i-manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    upload = dockerbuild.source_tar(tmp_path, previous.getvalue())
    with tarfile.open(fileobj=io.BytesIO(upload)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("s2i-artifacts.tar").read() == previous.getvalue()  # type: ignore[union-attr]
    assert sorted(members) == ["s2i-artifacts.tar", "src", "src/.s2i", "src/.s2i/environment", "src/M.py"]
    assert {(m.uid, m.gid) for m in members.values()} == {(1001, 0)}
    assert members["src/M.py"].mode & 0o060 == 0o060


def test_parse_arguments(tmp_path: Path) -> None:
    assert dockerbuild.parse_env_args(["A=1", "B=x=y", "C="]) == (("A", "1"), ("B", "x=y"), ("C", ""))
    assert dockerbuild.parse_injections([f"{tmp_path}:/whl"]) == ((tmp_path, "/whl"),)
    with pytest.raises(ConfigError, match="not KEY=VALUE"):
        dockerbuild.parse_env_args(["MODEL_NAME"])
    with pytest.raises(ConfigError, match="is not a folder"):
        dockerbuild.parse_injections([f"{tmp_path}/missing:/whl"])
    with pytest.raises(ConfigError, match="HOST_DIR:/absolute/destination"):
        dockerbuild.parse_injections([f"{tmp_path}:whl"])


def _image(image_id: str, env: list[str], layers: int, builder_id: str = "") -> dict[str, object]:
    labels = {dockerbuild.BUILDER_ID_LABEL: builder_id} if builder_id else {}
    return {
        "Id": image_id,
        "Config": {"Env": env, "Labels": labels},
        "RootFS": {"Layers": [f"sha256:{n}" for n in range(layers)]},
    }


def test_in_place_rebuild_only_on_the_same_builder_and_environment() -> None:
    builder = _image("sha256:b", ["PATH=/bin", "HOME=/opt/app-root/src"], layers=5)
    env = {"MODEL_NAME": "MyModel"}
    same = _image("sha256:p", ["PATH=/bin", "HOME=/opt/app-root/src", "MODEL_NAME=MyModel"], 6, "sha256:b")
    assert dockerbuild._why_not_in_place(same, builder, env) is None
    other_builder = {**same, "Config": {**same["Config"], "Labels": {}}}  # type: ignore[dict-item]
    assert "another builder" in str(dockerbuild._why_not_in_place(other_builder, builder, env))
    assert "environment" in str(dockerbuild._why_not_in_place(same, builder, {**env, "FOO": "1"}))
    deep = _image("sha256:p", same["Config"]["Env"], 5 + dockerbuild.MAX_STACKED_LAYERS, "sha256:b")  # type: ignore[index]
    assert "stacked" in str(dockerbuild._why_not_in_place(deep, builder, env))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://ci:t0k3n@127.0.0.1:8080/simple", "http://127.0.0.1:8080/simple"),
        (
            "https://a.example/simple https://u:p%40ss@b.example/s",
            "https://a.example/simple https://b.example/s",
        ),
        ("https://T0KEN@c.example/pypi/", "https://T0KEN@c.example/pypi/"),  # no password: kept
        ("git+https://host/repo@v1.0", "git+https://host/repo@v1.0"),  # `@` in the path is no user
        ("MyModel", "MyModel"),
    ],
)
def test_credentials_are_left_out_of_committed_environment(value: str, expected: str) -> None:
    assert dockerbuild.without_credentials(value) == expected


def test_netrc_for_passwords_in_build_variables() -> None:
    env = {
        "MODEL_NAME": "MyModel",
        "EXTRA_INDEX_URL": "http://ci:t%40k@127.0.0.1:8080/simple https://a.example/s https://ci:t%40k@127.0.0.1/x",
    }
    assert dockerbuild.netrc_for(env) == "machine 127.0.0.1 login ci password t@k\n"
    assert dockerbuild.netrc_for({"MODEL_NAME": "MyModel"}) == ""


def test_secrets_folder_merges_the_users_netrc(tmp_path: Path) -> None:
    mine, folder = tmp_path / "mine", tmp_path / "folder"
    mine.mkdir()
    folder.mkdir()
    (mine / ".netrc").write_text("machine other login u password p")
    (mine / "pip.conf").write_text("[global]\n")
    injections = ((mine, "/opt/s2i/secrets/"), (tmp_path, "/whl"))
    merged = dockerbuild._secrets_with_netrc(injections, folder, "machine h login a password b\n")
    assert merged == ((tmp_path, "/whl"), (folder, "/opt/s2i/secrets"))
    assert (
        folder / "netrc"
    ).read_text() == "machine other login u password p\nmachine h login a password b\n"
    assert (folder / "pip.conf").is_file()
