"""Lock files made at test time with the real uv, poetry and pipenv, against the local test index.

A lock names the index it was made against, and the test index listens on a random port, so no lock
can be committed. Each maker writes the project file(s) into a copy of tests/fixtures/locked_app and
runs the real tool; the tools reach only 127.0.0.1 (credentials from a netrc file the test writes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests import harness

BIN = Path(sys.executable).parent  # the dev environment: uv, poetry and pipenv are pinned there
APP = harness.FIXTURES / "locked_app"


def copy_app(target: Path) -> Path:
    shutil.copytree(APP, target)
    return target


def tool_env(index: harness.Index, scratch: Path) -> dict[str, str]:
    """A clean environment for the host tools: credentials from a netrc, caches in `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    netrc = scratch / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {index.user} password {index.token}\n")
    keep = ("PATH", "LANG", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(scratch),
        NETRC=str(netrc),
        UV_CACHE_DIR=str(scratch / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        UV_PYTHON=sys.executable,
    )
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def pyproject(dependencies: list[str], extra: str = "") -> str:
    quoted = ", ".join(f'"{d}"' for d in dependencies)
    return (
        f'[project]\nname = "locked-app"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
        f"dependencies = [{quoted}]\n{extra}"
    )


def uv_lock(app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str]) -> None:
    """A uv project whose only index is the test index (`default = true` replaces the public one)."""
    extra = f'\n[[tool.uv.index]]\nname = "local"\nurl = "{index.url}"\ndefault = true\n'
    (app / "pyproject.toml").write_text(pyproject(dependencies, extra))
    run([str(BIN / "uv"), "lock", "--quiet"], app, env)


def uv_stale(app: Path) -> None:
    """pyproject.toml asks for something the lock cannot give: a newer s2i-shared."""
    text = (app / "pyproject.toml").read_text()
    (app / "pyproject.toml").write_text(text.replace('"s2i-shared"', '"s2i-shared>=2"'))


def pylock(app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str]) -> None:
    """pylock.toml alone (PEP 751), written by `uv export --format pylock.toml` from a uv project."""
    uv_lock(app, index, dependencies, env)
    run([str(BIN / "uv"), "export", "--locked", "--quiet", "--format", "pylock.toml",
         "--no-emit-project", "-o", "pylock.toml"], app, env)  # fmt: skip
    (app / "uv.lock").unlink()
    (app / "pyproject.toml").unlink()


Maker = Callable[[Path, harness.Index, list[str], dict[str, str]], None]
MAKERS: dict[str, Maker] = {"uv.lock": uv_lock, "pylock.toml": pylock}
STALE: dict[str, Callable[[Path], None]] = {"uv.lock": uv_stale}
FIX = {"uv.lock": "uv lock", "poetry.lock": "poetry lock", "Pipfile.lock": "pipenv lock"}
CHECKED_AGAINST = {"uv.lock": "pyproject.toml", "poetry.lock": "pyproject.toml", "Pipfile.lock": "Pipfile"}
