"""Incremental builds: reuse the previous image's installed dependencies when they cannot differ.

save-artifacts streams what the application added to the builder's environment (the site-packages
entries and scripts that were not in the builder image) plus a fingerprint of everything that decides
them: the builder version, the wrapper requirements, the dependency files, the wheels at /whl and the
installer settings. assemble restores them when the fingerprint matches, so a code-only change runs
no resolver and downloads nothing. When anything differs the environment is installed from scratch:
a stale package can never survive a changed requirements file. The conda prefix of an
environment.yml travels the same way, whole. No installer cache is involved, so
none ends up in an image.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sysconfig
import tarfile
from pathlib import Path

from builders import __version__, envpack, locks
from builders.config import BuildConfig
from builders.deps import includes
from builders.layout import Layout

FINGERPRINT = "s2i-deps.sha256"
BASELINE = Path("/opt/s2i/baseline.json")  # what the builder image's app environment holds
# What an environment and its stream hold; changing it makes every earlier image's artifacts stale
# (they would restore an environment a cold build no longer makes).
FORMAT = "envpack 1: zstd tar parts; bytecode without test suites"
COMPLETE = "env-complete"  # marker: the stream holds the whole environment, not only additions
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
    feed("format", FORMAT.encode())
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


def write_baseline(app_root: Path = Path("/opt/app-root"), target: Path = BASELINE) -> None:
    """Run once when the builder image is built."""
    target.write_text(
        json.dumps(
            {
                "site-packages": sorted(p.name for p in site_packages(app_root).iterdir()),
                "bin": sorted(p.name for p in (app_root / "bin").iterdir()),
            }
        )
        + "\n",
        encoding="utf-8",
    )


def add_environment(tar: tarfile.TarFile, layout: Layout, text: bool, baseline_path: Path = BASELINE) -> None:
    """Add the application's additions to the builder environment, and the conda prefix of an
    environment.yml, to a save-artifacts stream (packed: builders.envpack)."""
    packages, scripts = site_packages(layout.app_root), layout.app_root / "bin"
    baseline = json.loads(baseline_path.read_text()) if baseline_path.is_file() else None
    present = {p.name for p in packages.iterdir()}
    # If the application replaced a package of the builder's own environment, only the whole
    # environment restores it faithfully.
    complete = baseline is None or not set(baseline["site-packages"]) <= present
    skip_packages = set() if complete else set(baseline["site-packages"])  # type: ignore[index]
    skip_scripts = set() if complete else set(baseline["bin"])  # type: ignore[index]
    if complete:
        marker = tarfile.TarInfo(COMPLETE)
        tar.addfile(marker)
    paths = [p for p in sorted(packages.iterdir()) if p.name not in skip_packages and p.name != "__pycache__"]
    # the interpreter links (python, python3) are the same in every image of this builder
    paths += [p for p in sorted(scripts.iterdir()) if p.name not in skip_scripts and not p.is_symlink()]
    # the conda prefix lives at a fixed path inside the app root in every image of this builder, so it
    # travels as files (no conda-pack relocation needed)
    if layout.conda.is_dir():
        paths.append(layout.conda)
    envpack.write(tar, layout.app_root, [str(p.relative_to(layout.app_root)) for p in paths], text)


def restore(layout: Layout, current: str) -> bool:
    """Put the previous build's environment back if its fingerprint equals `current`. The artifacts
    are deleted either way: whatever stays in /tmp/artifacts would be committed with the image."""
    try:
        previous = layout.artifacts / FINGERPRINT
        if not previous.is_file() or previous.read_text().strip() != current:
            return False
        if not envpack.parts_in(layout.artifacts):
            return False
        if (layout.artifacts / COMPLETE).exists():
            packages = site_packages(layout.app_root)
            shutil.rmtree(packages)
            packages.mkdir()
        # This runs in a new container of the builder: the additions are not there yet.
        envpack.read(layout.artifacts, layout.app_root)
        return True
    finally:
        shutil.rmtree(layout.artifacts, ignore_errors=True)
