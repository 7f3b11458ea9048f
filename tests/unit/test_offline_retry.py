"""The offline attempt is retried online only when it failed for want of a distribution: checked
against the real uv and pip (the builder's own uv, the developer environment's pip), in both cases
that matter: a missing package (retried) and a conflict with installed pins (not retried)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from builders import config, dependencies, installers, proc
from builders.errors import CommandError
from builders.installers import InstallRequest
from builders.layout import Layout
from tests import harness

UV = str(Path(sys.executable).with_name("uv"))


def _env(tmp_path: Path) -> dict[str, str]:
    """No user or site configuration: only the flags under test decide (pip.conf, uv.toml ignored)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PIP_CONFIG_FILE": os.devnull,
        "UV_NO_CONFIG": "1",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
    }


@pytest.fixture
def app_env(tmp_path: Path) -> tuple[str, Path]:
    """An application environment holding s2i-shared 1.0 (from a local wheel), and that wheel's folder."""
    wheels = tmp_path / "wheels"
    harness.make_wheel(wheels, "s2i_shared", "1.0", "")
    env = _env(tmp_path)
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, str(tmp_path / "app")], env=env, check=True)
    python = str(tmp_path / "app" / "bin" / "python")
    install = [UV, "pip", "install", "-q", "--python", python, "--offline", "--find-links", str(wheels)]
    subprocess.run([*install, "s2i-shared==1.0"], env=env, check=True)
    return python, wheels


def _attempt(name: str, python: str, tmp_path: Path, **fields: Any) -> tuple[bool, str]:
    """Run one offline attempt with the real tool (every case here fails, so nothing is installed);
    return the backend's verdict on its output, and the output. pip runs from the developer
    environment (the new environment has no pip)."""
    installer = installers.select(name, UV)  # type: ignore[arg-type]
    request = InstallRequest(python if name == "uv" else sys.executable, offline=True, **fields)
    with pytest.raises(CommandError) as failure:
        proc.run(installer.install(request), env=_env(tmp_path), quiet=True)
    return installer.missing_offline(failure.value.output_tail), failure.value.output_tail


def _pins(tmp_path: Path) -> str:
    pins = tmp_path / "pins.txt"
    pins.write_text("s2i-shared==1.0\n")
    return str(pins)


@pytest.mark.parametrize("name", ["uv", "pip"])
def test_a_missing_package_is_recognised(name: str, app_env: tuple[str, Path], tmp_path: Path) -> None:
    python, wheels = app_env
    cases = [("s2i-absent",), ("s2i-shared>1.0",), ("s2i-shared<1.0",), ("s2i-shared==2.0",)]
    for packages in cases:  # not there at all; installed and in /whl, but not in that version
        for find_links in ((), (str(wheels),)):
            missing, output = _attempt(name, python, tmp_path, packages=packages, find_links=find_links)
            assert missing, output


@pytest.mark.parametrize("name", ["uv", "pip"])
def test_a_local_wheel_that_is_not_the_locked_file_is_recognised(
    name: str, app_env: tuple[str, Path], tmp_path: Path
) -> None:
    """Hash-checking mode (a lock): the index has the locked file, /whl a wheel of the same version."""
    wheels = tmp_path / "whl"
    harness.make_wheel(wheels, "s2i_other", "1.0", "")
    locked = tmp_path / "locked.txt"
    locked.write_text("s2i-other==1.0 --hash=sha256:" + "0" * 64 + "\n")
    fields = {"requirement_files": (str(locked),), "find_links": (str(wheels),), "require_hashes": True}
    missing, output = _attempt(name, app_env[0], tmp_path, **fields)
    assert missing, output


def test_a_download_uv_cannot_make_offline_is_recognised(app_env: tuple[str, Path], tmp_path: Path) -> None:
    """A direct URL (pylock.toml exports them), or a file of an index page uv has cached."""
    url = ("s2i-x @ http://127.0.0.1:9/s2i_x-1.0-py3-none-any.whl",)
    missing, output = _attempt("uv", app_env[0], tmp_path, packages=url)
    assert missing, output


@pytest.mark.parametrize("name", ["uv", "pip"])
def test_a_conflict_with_the_pins_is_not_a_missing_package(
    name: str, app_env: tuple[str, Path], tmp_path: Path
) -> None:
    python, wheels = app_env
    for packages in (("s2i-shared<1.0",), ("s2i-shared>1.0",)):
        for find_links in ((), (str(wheels),)):
            fields = {"packages": packages, "constraint_files": (_pins(tmp_path),), "find_links": find_links}
            missing, output = _attempt(name, python, tmp_path, **fields)
            assert not missing, output


@dataclass(frozen=True)
class _Counted(installers.Uv):
    """The real uv; online (no --offline) it also finds the wheels in `online`, the way an index
    would serve them. Every command line it hands out is recorded."""

    online: str = ""
    calls: list[list[str]] | None = None

    def install(self, request: InstallRequest) -> list[str]:
        if request.offline:
            argv = super().install(request)
        else:  # the folder stands in for the index: no public index is reached
            argv = [
                *super().install(replace(request, find_links=(*request.find_links, self.online))),
                "--no-index",
            ]
        assert self.calls is not None
        self.calls.append(argv)
        return argv


def _session(tmp_path: Path, python: str, installer: installers.Installer) -> dependencies._Session:
    layout = Layout(app_root=tmp_path / "root")
    layout.app_dir.mkdir(parents=True)
    base = InstallRequest(python, constraint_files=(_pins(tmp_path),))
    cfg = config.BuildConfig(model_name="M")
    return dependencies._Session(cfg, layout, installer, _env(tmp_path), base, tmp_path)


def test_missing_offline_is_retried_online(app_env: tuple[str, Path], tmp_path: Path) -> None:
    python, _ = app_env
    online = tmp_path / "index"
    harness.make_wheel(online, "s2i_extra", "2.0", "")
    calls: list[list[str]] = []
    session = _session(tmp_path, python, _Counted(UV, online=str(online), calls=calls))
    session.install(InstallRequest(python, packages=("s2i-extra",)))
    assert ["--offline" in argv for argv in calls] == [True, False]
    assert "s2i-extra==2.0" in proc.output([UV, "pip", "freeze", "--python", python], env=_env(tmp_path))


def test_a_conflict_runs_the_resolver_once(app_env: tuple[str, Path], tmp_path: Path) -> None:
    python, _ = app_env
    calls: list[list[str]] = []
    session = _session(tmp_path, python, _Counted(UV, online=str(tmp_path), calls=calls))
    with pytest.raises(CommandError) as failure:
        session.install(
            InstallRequest(python, packages=("s2i-shared<1.0",), constraint_files=(_pins(tmp_path),))
        )
    assert len(calls) == 1 and "--offline" in calls[0]
    assert "s2i-shared<1.0 and s2i-shared==1.0" in failure.value.output_tail
