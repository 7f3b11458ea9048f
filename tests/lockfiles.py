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
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # Debian's

# The releases that write the locks users have: the oldest and the newest of each window the builder
# supports (the newest of each is the dev environment's pin where it has one).
RELEASES = {
    "pipenv": ("2023.2.4", "2026.10.3"),
    "poetry": ("1.8.0", "1.8.5", "2.0.0", "2.5.1"),  # two windows: 1.8.x and 2.x
    "uv": ("0.5.0", "0.13.9"),
    "pip": ("25.1", "26.3"),  # `pip lock` came with 25.1
    "pdm": ("2.24.2", "2.29.4"),  # `pdm export --format pylock` came with 2.24.0; see PDM_NO_URLS
}
PDM_NO_URLS = "2.24.0"  # 2.24.0 and 2.24.1 write pylock.toml wheels without a url (PEP 751 wants one)
# How a release is installed where `name==version` alone no longer runs on today's packages: PDM
# breaks with hishel 2 (its "locked" extra pins what it was released with, but 2.29.4's pins a
# certifi the index does not have).
_INSTALL = {
    ("pdm", "2.24.0"): ["pdm[locked]==2.24.0"],
    ("pdm", "2.24.2"): ["pdm[locked]==2.24.2"],
    ("pdm", "2.29.4"): ["pdm==2.29.4", "hishel<2"],
}


Maker = Callable[..., None]  # (app, index, dependencies, env, bin_dir, **options): writes a lock in app


def tool(name: str, version: str, root: Path) -> Path:
    """The bin folder of a throwaway environment in `root` with `name==version` installed (made once:
    tests pass a session-wide `root`)."""
    venv = root / f"{name}-{version}"
    if not (venv / ".installed").is_file():
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
        run([str(BIN / "uv"), "venv", "--quiet", "--python", sys.executable, str(venv)], root, env)
        packages = _INSTALL.get((name, version), [f"{name}=={version}"])
        run([str(BIN / "uv"), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
             *packages], root, env)  # fmt: skip
        (venv / ".installed").touch()
    return venv / "bin"


def copy_app(target: Path) -> Path:
    shutil.copytree(APP, target)
    return target


def tool_env(index: harness.Index | None, scratch: Path) -> dict[str, str]:
    """A clean environment for the host tools: credentials from a netrc, caches in `scratch`."""
    scratch.mkdir(parents=True, exist_ok=True)
    netrc = scratch / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {index.user} password {index.token}\n" if index else "")
    keep = ("PATH", "LANG", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    if Path(CA_BUNDLE).is_file():  # the public index, for a Pipfile without [[source]]
        env.setdefault("REQUESTS_CA_BUNDLE", CA_BUNDLE)
        env.setdefault("SSL_CERT_FILE", CA_BUNDLE)
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


def uv_lock(
    app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str], bin_dir: Path = BIN
) -> None:
    """A uv project whose only index is the test index (`default = true` replaces the public one)."""
    extra = f'\n[[tool.uv.index]]\nname = "local"\nurl = "{index.url}"\ndefault = true\n'
    (app / "pyproject.toml").write_text(pyproject(dependencies, extra))
    run([str(bin_dir / "uv"), "lock", "--quiet"], app, env)


def pylock(
    app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str], bin_dir: Path = BIN
) -> None:
    """pylock.toml alone (PEP 751), written by `uv export --format pylock.toml` from a uv project."""
    uv_lock(app, index, dependencies, env, bin_dir)
    run([str(bin_dir / "uv"), "export", "--locked", "--quiet", "--format", "pylock.toml",
         "--no-emit-project", "-o", "pylock.toml"], app, env)  # fmt: skip
    (app / "uv.lock").unlink()
    (app / "pyproject.toml").unlink()


def pip_lock(
    app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str], bin_dir: Path = BIN
) -> None:
    """pylock.toml written by `pip lock` (pip 25.1 and later) from the test index alone."""
    run([str(bin_dir / "pip"), "lock", "--quiet", "--disable-pip-version-check", "--index-url", index.url,
         "-o", "pylock.toml", *dependencies], app, env)  # fmt: skip


def pdm_export(
    app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str], bin_dir: Path = BIN
) -> None:
    """pylock.toml written by `pdm export --format pylock` from a PDM project locked against the test
    index (named "pypi", it replaces the public one)."""
    extra = f'\n[[tool.pdm.source]]\nname = "pypi"\nurl = "{index.url}"\n'
    (app / "pyproject.toml").write_text(pyproject(dependencies, extra))
    env = {**env, "PDM_HOME": str(Path(env["HOME"]) / "pdm"), "PDM_CHECK_UPDATE": "false",
           "PDM_CACHE_DIR": str(Path(env["HOME"]) / "pdm-cache")}  # fmt: skip
    run([str(bin_dir / "pdm"), "lock", "--quiet"], app, env)
    run([str(bin_dir / "pdm"), "export", "--format", "pylock", "-o", "pylock.toml"], app, env)
    (app / "pdm.lock").unlink()
    (app / "pyproject.toml").unlink()


def poetry(
    app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str], bin_dir: Path = BIN,
    groups: str = "",
) -> None:  # fmt: skip
    """Poetry 2, PEP 621 form, package-mode = false. A plain simple index needs an explicit source
    (Poetry asks the public index's JSON API otherwise); credentials go through Poetry's variables.
    `groups`: a [dependency-groups] table (PEP 735) to add."""
    extra = (
        "\n[tool.poetry]\npackage-mode = false\n"
        f'\n[[tool.poetry.source]]\nname = "local"\nurl = "{index.url}"\npriority = "primary"\n{groups}'
    )
    (app / "pyproject.toml").write_text(pyproject(dependencies, extra))
    _poetry_lock(app, index, env, bin_dir)


def poetry_classic(
    app: Path, index: harness.Index, dependencies: list[str], env: dict[str, str], bin_dir: Path = BIN
) -> None:
    """Poetry's own [tool.poetry] form: dependencies as a table, `python` among them."""
    table = "".join(f'{r.name} = "{r.specifier or "*"}"\n' for r in map(Requirement, dependencies))
    (app / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "locked-app"\nversion = "0.1"\ndescription = ""\nauthors = []\n'
        f'package-mode = false\n\n[tool.poetry.dependencies]\npython = ">=3.11"\n{table}'
        f'\n[[tool.poetry.source]]\nname = "local"\nurl = "{index.url}"\npriority = "primary"\n'
    )
    _poetry_lock(app, index, env, bin_dir)


def poetry_env(index: harness.Index, env: dict[str, str]) -> dict[str, str]:
    home = Path(env["HOME"])
    auth = {
        "POETRY_HTTP_BASIC_LOCAL_USERNAME": index.user or "",
        "POETRY_HTTP_BASIC_LOCAL_PASSWORD": index.token,
    }
    return {**env, **auth, "POETRY_CACHE_DIR": str(home / "poetry-cache"), "POETRY_NO_INTERACTION": "1"}


def _poetry_lock(app: Path, index: harness.Index, env: dict[str, str], bin_dir: Path) -> None:
    run([str(bin_dir / "poetry"), "lock"], app, poetry_env(index, env))


def pipenv(
    app: Path, index: harness.Index | None, dependencies: list[str], env: dict[str, str], bin_dir: Path = BIN,
    categories: dict[str, list[str]] | None = None,
) -> None:  # fmt: skip
    """A Pipfile whose only source is the test index (pipenv reads the credentials from NETRC); with
    `index` None, a Pipfile that names no source, so pipenv uses its default (the public index).
    Package names are written as given (`S2I_Shared` stays so); `categories`: custom ones."""

    def table(requirements: list[str]) -> str:
        return "".join(f'{r.name} = "{r.specifier or "*"}"\n' for r in map(Requirement, requirements))

    source = f'[[source]]\nname = "local"\nurl = "{index.url}"\nverify_ssl = false\n\n' if index else ""
    custom = "".join(f"\n[{name}]\n{table(packages)}" for name, packages in (categories or {}).items())
    (app / "Pipfile").write_text(f"{source}[packages]\n{table(dependencies)}{custom}")
    run([str(bin_dir / "pipenv"), "lock"], app, pipenv_env(env))


def pipenv_env(env: dict[str, str]) -> dict[str, str]:
    home = Path(env["HOME"])
    return {**env, "WORKON_HOME": str(home / "venvs"), "PIPENV_YES": "1", "PIPENV_NOSPIN": "1",
            "PIPENV_IGNORE_VIRTUALENVS": "1"}  # fmt: skip


def stale(app: Path, name: str = "s2i-shared") -> None:
    """Ask for something the lock cannot give (a newer `name`), in whichever project file."""
    for file in ("pyproject.toml", "Pipfile"):
        path = app / file
        if path.is_file():
            text = path.read_text()
            changed = text.replace(f'"{name}"', f'"{name}>=2"').replace(f'{name} = "*"', f'{name} = ">=2"')
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
