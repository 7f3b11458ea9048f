"""Incremental builds: the fingerprint of everything that decides an application's dependencies.

`python -m builders.host --incremental` runs assemble in the previous image itself (`assemble
--in-place`); it keeps that image's environment and replaces only the code when the fingerprint it
recorded equals this source's: the builder version, the wrapper requirements, the dependency files,
the wheels at /whl and the installer settings. When anything differs the environment is installed
afresh, so a stale package can never survive a changed requirements file.

`s2i build --incremental` has only s2i's own route (save-artifacts streamed out of the previous image
through the Docker daemon, unpacked and uploaded again by s2i): it measured slower than a cold build,
for a small application and for one of over a gigabyte (docs/incremental.md), so the stream carries
only a note (builders/artifacts.py) and assemble installs afresh, saying so.
"""

from __future__ import annotations

import hashlib
import json
import os
import sysconfig
from pathlib import Path

from builders import __version__, locks
from builders.config import BuildConfig
from builders.deps import includes
from builders.layout import Layout

FINGERPRINT = "s2i-deps.sha256"
# Files whose content decides the installed set. If the folder is installed as a project, its whole
# tree counts, since the package is built from it.
DEPENDENCY_FILES = ("requirements.txt", "requirements.in", "setup.py", "setup.cfg", "pyproject.toml",
                    "environment.yml", "environment.yaml", *locks.FILES)  # fmt: skip


def site_packages(app_root: Path) -> Path:
    found = sorted(app_root.glob("lib/python3*/site-packages"))
    return found[0] if found else Path(sysconfig.get_path("purelib"))


def fingerprint(
    source: Path, cfg: BuildConfig, layout: Layout, whole_tree: bool, index_settings: str = ""
) -> str:
    """`index_settings`: what an injected pip.conf says about indexes (credentials left out)."""
    digest = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    feed("builder", __version__.encode())
    feed("settings", json.dumps([cfg.installer, cfg.extra_index_urls, cfg.trusted_hosts]).encode())
    feed("injected", index_settings.encode())
    if layout.wrapper.is_file():
        feed("wrapper", layout.wrapper.read_bytes())
    if whole_tree:
        files = sorted(p for p in source.rglob("*") if p.is_file() and ".git" not in p.parts)
    else:
        files = [source / n for n in DEPENDENCY_FILES if (source / n).is_file()]
        files += sorted((source / "requirements").glob("*.txt"))
        # -r/-c includes count wherever they are (they may sit beside the folder)
        for name in ("requirements.txt", "requirements.in"):
            files += [p for p in includes(source / name) if p.is_file() and p not in files]
    for path in files:
        feed(os.path.relpath(path, source.resolve()), path.read_bytes())
    if layout.wheels.is_dir():
        for wheel in sorted(layout.wheels.glob("*.whl")):
            feed(f"whl/{wheel.name}", hashlib.sha256(wheel.read_bytes()).digest())
    return digest.hexdigest()
