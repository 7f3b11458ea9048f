"""A conda environment at run time: what `run` (and assemble's import check) add to a child's
environment so the model sees the conda prefix, and which environment the server runs from.

Installing the environment is builders/conda.py's job; this module is what the running image needs
of it, and reads only the manifest's record (builders.manifest.Conda).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from builders.manifest import Conda


def activate(prefix: str | None, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment with the conda prefix activated, as `conda activate` would for a program's
    search paths: <prefix>/bin first on PATH, <prefix>/lib first on LD_LIBRARY_PATH, CONDA_PREFIX.
    Pure; idempotent, so activating twice changes nothing."""
    env = dict(environ)
    if not prefix:
        return env
    for variable, directory in (("PATH", f"{prefix}/bin"), ("LD_LIBRARY_PATH", f"{prefix}/lib")):
        parts = [p for p in env.get(variable, "").split(":") if p and p != directory]
        env[variable] = ":".join([directory, *parts])
    env["CONDA_PREFIX"] = prefix
    return env


def app_root(recorded: Conda | None, default: Path) -> Path:
    """The environment `run` serves from: the conda prefix when it is the application environment."""
    return Path(recorded.prefix) if recorded and recorded.app_environment else default
