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

from builders import __version__, locks
from builders.config import BuildConfig
from builders.deps import includes
from builders.layout import Layout

FINGERPRINT = "s2i-deps.sha256"
BASELINE = Path("/opt/s2i/baseline.json")  # what the builder image's app environment holds
ENV_PREFIX = "env"
CONDA_PREFIX = "conda"  # environment.yml's prefix, in the stream
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


def add_environment(tar: tarfile.TarFile, layout: Layout, baseline_path: Path = BASELINE) -> None:
    """Add the application's additions to the builder environment to a save-artifacts stream."""
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
    for entry in sorted(packages.iterdir()):
        if entry.name not in skip_packages and entry.name != "__pycache__":
            tar.add(entry, arcname=f"{ENV_PREFIX}/site-packages/{entry.name}")
    for entry in sorted(scripts.iterdir()):
        # the interpreter links (python, python3) are the same in every image of this builder
        if entry.name not in skip_scripts and not entry.is_symlink():
            tar.add(entry, arcname=f"{ENV_PREFIX}/bin/{entry.name}")


def add_conda(tar: tarfile.TarFile, layout: Layout) -> None:
    """environment.yml's prefix, whole: it lives at a fixed path in every image of this builder,
    so it is moved back as files (no conda-pack relocation needed)."""
    if layout.conda.is_dir():
        tar.add(layout.conda, arcname=CONDA_PREFIX)


def restore(layout: Layout, current: str) -> bool:
    """Put the previous build's environment back if its fingerprint equals `current`."""
    previous = layout.artifacts / FINGERPRINT
    saved = layout.artifacts / ENV_PREFIX
    saved_conda = layout.artifacts / CONDA_PREFIX
    if not previous.is_file() or previous.read_text().strip() != current:
        return False
    if not saved.is_dir() and not saved_conda.is_dir():
        return False
    packages = site_packages(layout.app_root)
    if (layout.artifacts / COMPLETE).exists():
        shutil.rmtree(packages)
        packages.mkdir()
    # Moves, not copies: /tmp/artifacts and the environment share a filesystem in the container.
    for part, target in (("site-packages", packages), ("bin", layout.app_root / "bin")):
        if (saved / part).is_dir():
            for entry in (saved / part).iterdir():
                destination = target / entry.name
                if destination.is_dir() and not destination.is_symlink():
                    shutil.rmtree(destination)
                elif destination.exists() or destination.is_symlink():
                    destination.unlink()
                shutil.move(entry, destination)
    if saved_conda.is_dir():
        shutil.rmtree(layout.conda, ignore_errors=True)
        shutil.move(saved_conda, layout.conda)
    return True
