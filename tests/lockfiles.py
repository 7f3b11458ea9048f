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
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

from tests import harness

BIN = Path(sys.executable).parent  # the dev environment: uv (the Makefile pins it), poetry, pipenv
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


def pylock(app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str]) -> None:
    """pylock.toml alone (PEP 751), written by `uv export --format pylock.toml` from a uv project."""
    uv_lock(app, index, dependencies, env)
    run([str(BIN / "uv"), "export", "--locked", "--quiet", "--format", "pylock.toml",
         "--no-emit-project", "-o", "pylock.toml"], app, env)  # fmt: skip
    (app / "uv.lock").unlink()
    (app / "pyproject.toml").unlink()


def poetry(app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str]) -> None:
    """Poetry 2, PEP 621 form, package-mode = false. A plain simple index needs an explicit source
    (Poetry asks the public index's JSON API otherwise); credentials go through Poetry's variables."""
    extra = (
        "\n[tool.poetry]\npackage-mode = false\n"
        f'\n[[tool.poetry.source]]\nname = "local"\nurl = "{index.url}"\npriority = "primary"\n'
    )
    (app / "pyproject.toml").write_text(pyproject(dependencies, extra))
    _poetry_lock(app, index, env)


def poetry_classic(app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str]) -> None:
    """Poetry's own [tool.poetry] form: dependencies as a table, `python` among them."""
    table = "".join(f'{r.name} = "{r.specifier or "*"}"\n' for r in map(Requirement, dependencies))
    (app / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "locked-app"\nversion = "0.1"\ndescription = ""\nauthors = []\n'
        f'package-mode = false\n\n[tool.poetry.dependencies]\npython = ">=3.11"\n{table}'
        f'\n[[tool.poetry.source]]\nname = "local"\nurl = "{index.url}"\npriority = "primary"\n'
    )
    _poetry_lock(app, index, env)


def _poetry_lock(app: Path, index: harness.Index, env: dict[str, str]) -> None:
    home = Path(env["HOME"])
    auth = {"POETRY_HTTP_BASIC_LOCAL_USERNAME": index.user, "POETRY_HTTP_BASIC_LOCAL_PASSWORD": index.token}
    env = {**env, **auth, "POETRY_CACHE_DIR": str(home / "poetry-cache"), "POETRY_NO_INTERACTION": "1"}
    run([str(BIN / "poetry"), "lock"], app, env)


def pipenv(app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str]) -> None:
    """A Pipfile whose only source is the test index; pipenv reads the credentials from NETRC."""
    table = "".join(f'{r.name} = "{r.specifier or "*"}"\n' for r in map(Requirement, dependencies))
    (app / "Pipfile").write_text(
        f'[[source]]\nname = "local"\nurl = "{index.url}"\nverify_ssl = false\n\n[packages]\n{table}'
    )
    home = Path(env["HOME"])
    env = {**env, "WORKON_HOME": str(home / "venvs"), "PIPENV_YES": "1", "PIPENV_NOSPIN": "1",
           "PIPENV_IGNORE_VIRTUALENVS": "1"}  # fmt: skip
    run([str(BIN / "pipenv"), "lock"], app, env)


def stale(app: Path) -> None:
    """Ask for something the lock cannot give (a newer s2i-shared), in whichever project file."""
    for name in ("pyproject.toml", "Pipfile"):
        path = app / name
        if path.is_file():
            text = path.read_text()
            changed = text.replace('"s2i-shared"', '"s2i-shared>=2"').replace(
                's2i-shared = "*"', 's2i-shared = ">=2"'
            )
            assert changed != text
            path.write_text(changed)


@dataclass(frozen=True)
class Format:
    file: str  # the lock file
    make: Callable[[Path, harness.Index, list[str], dict[str, str]], None]
    checked_against: str | None = None  # None: the format records no inputs (no stale check)
    fix: str = ""


FORMATS = {
    "uv.lock": Format("uv.lock", uv_lock, "pyproject.toml", "uv lock"),
    "pylock.toml": Format("pylock.toml", pylock),
    "poetry.lock": Format("poetry.lock", poetry, "pyproject.toml", "poetry lock"),
    "poetry.lock-tool.poetry": Format("poetry.lock", poetry_classic, "pyproject.toml", "poetry lock"),
    "Pipfile.lock": Format("Pipfile.lock", pipenv, "Pipfile", "pipenv lock"),
}
STALE = sorted(name for name, f in FORMATS.items() if f.checked_against)
