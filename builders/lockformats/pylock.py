"""pylock.toml (PEP 751), as `uv export --format pylock.toml`, `pip lock` and `pdm export --format
pylock` write it. The format records no inputs, so there is nothing to be stale against: packaging's
reader validates it and selects the packages for this interpreter."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from builders.errors import ConfigError
from builders.lockformats import line
from builders.readers import read_toml


def requirements(path: Path) -> tuple[str, tuple[str, ...]]:
    """packaging selects the packages (markers, wheel tags) for this interpreter (the tools
    environment's Python is the application's: the same /usr/bin/python3). The project itself, a
    directory entry at ".", is left to the project step, as for the other formats."""
    from packaging.pylock import (
        PackageArchive,
        PackageDirectory,
        PackageSdist,
        PackageWheel,
        Pylock,
        PylockSelectError,
        PylockValidationError,
    )

    try:
        pylock = Pylock.from_dict(read_toml(path))
        selected = list(pylock.select())
    except (PylockValidationError, PylockSelectError) as exc:
        tip = (
            f"Regenerate pylock.toml for Python {platform.python_version()} on Linux x86_64 (for "
            "example `uv export --format pylock.toml`), or fix the entry named."
        )
        if "path or url must be provided" in str(exc):  # PEP 751 wants one for every file
            tip = (
                "The file does not say where that package's files are (PDM 2.24.0 and 2.24.1 "
                "export such files): regenerate pylock.toml with PDM 2.24.2 or later, `pip lock` or "
                "`uv export --format pylock.toml`."
            )
        raise ConfigError(f"{path} cannot be installed here: {exc}", tip) from None
    lines, indexes = [], []
    for package, chosen in selected:
        if isinstance(chosen, PackageDirectory) and Path(chosen.path) == Path("."):
            continue
        hashes = sorted({h for archive in _archives(package) for h in _sha256(archive)})
        name = canonicalize_name(package.name)
        if package.index and package.version is not None:
            lines.append(line(f"{name}=={package.version}", hashes))
            if package.index not in indexes:
                indexes.append(package.index)
        elif isinstance(chosen, PackageWheel | PackageSdist | PackageArchive) and chosen.url:
            lines.append(line(f"{name} @ {chosen.url}", _sha256(chosen)))
        else:
            raise ConfigError(
                f"{path}: package {package.name} comes from a directory, a VCS checkout or a file "
                "without a URL, which cannot be installed hash-checked",
                "Lock it from an index (or a wheel URL with a hash), or inject the wheel at /whl "
                "and use requirements.txt.",
            )
    return "".join(lines), tuple(indexes)


def _archives(package: Any) -> list[Any]:
    return [*(package.wheels or ()), *([package.sdist] if package.sdist else [])]


def _sha256(archive: Any) -> list[str]:
    value = (getattr(archive, "hashes", None) or {}).get("sha256")
    return [value] if value else []
