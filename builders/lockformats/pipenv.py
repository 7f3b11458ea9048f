"""Pipfile.lock: checked against the Pipfile by pipenv's own rule, then its `default` section becomes
hashed requirements (the `develop` one is for development).

pipenv reads a Pipfile with plette (vendored in pipenv, and the same code as plette on the package
index), so the builder does too: plette fills in pipenv's default source when the Pipfile names none,
and its `Pipfile.get_hash()` is the rule of pipenv 2023.2.4 to 2026.2.2. From 2026.4.0 pipenv hashes
package names in their PEP 503 canonical form; a Pipfile.lock does not say which pipenv wrote it, so a
lock is current when its hash is the one either rule gives for the Pipfile as it is now.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from builders.errors import ConfigError, StaleLock
from builders.lockformats import line
from builders.readers import read_json, read_toml

FIX = "pipenv lock"


def hashes(path: Path) -> set[str]:
    """Every _meta.hash a pipenv release of the supported window writes for this Pipfile."""
    import plette
    from plette.models.base import DataValidationError

    read_toml(path)  # a TOML error is reported with its line
    try:
        with path.open(encoding="utf-8") as text:
            pipfile = plette.Pipfile.load(text)
    except (DataValidationError, ValueError) as exc:
        raise ConfigError(f"{path} is not a valid Pipfile: {exc}", "Fix the entry named.") from None
    return {pipfile.get_hash().value, _canonical_hash(pipfile._data)}


# pipenv's section names, which are not package categories (pipenv 2026.10.3, pipenv/utils/pipfile.py)
_SECTIONS = frozenset(("source", "packages", "dev-packages", "requires", "scripts", "pipfile", "pipenv"))


def _canonical_hash(raw: Any) -> str:
    """pipenv 2026.4.0 and later: plette's rule with every package name in [packages],
    [dev-packages] and custom categories in its canonical form (pipenv 2026.4.0
    pipenv/project.py `Project.calculate_pipfile_hash`, moved unchanged to pipenv/utils/pipfile.py
    `Pipfile.calculate_hash` by 2026.10.3). `raw` is plette's document, default source included."""

    def canonical(section: Any) -> dict[str, Any]:
        return {canonicalize_name(k): v for k, v in section.items()}

    data = {
        "_meta": {"sources": raw.get("source", {}), "requires": raw.get("requires", {})},
        "default": canonical(raw.get("packages", {})),
        "develop": canonical(raw.get("dev-packages", {})),
    }
    for category, values in raw.items():
        if category not in _SECTIONS and category not in ("default", "develop"):
            data[category] = canonical(values)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def requirements(source: Path) -> tuple[str, tuple[str, ...]]:
    """The `default` section of a current Pipfile.lock as hashed requirements, and its indexes."""
    lock, path = read_json(source / "Pipfile.lock", FIX), source / "Pipfile.lock"
    meta = lock.get("_meta", {})
    if meta.get("hash", {}).get("sha256") not in hashes(source / "Pipfile"):
        raise StaleLock("Pipfile.lock", "Pipfile", FIX)
    sources = {s.get("name"): s.get("url") for s in meta.get("sources", [])}
    lines, indexes = [], []
    for name, entry in lock.get("default", {}).items():
        version, hashed = entry.get("version", ""), entry.get("hashes", [])
        if not version.startswith("==") or not hashed:
            raise ConfigError(
                f"{path}: package {name} has no pinned version with hashes (a path, VCS or editable "
                "entry), which cannot be installed hash-checked",
                "Publish it to an index named in the Pipfile's [[source]] and run `pipenv lock`.",
            )
        url = sources.get(entry.get("index")) or next(iter(sources.values()), None)
        if url and url not in indexes:
            indexes.append(url)
        marker = entry.get("markers")
        requirement = f"{canonicalize_name(name)}{version}" + (f" ; {marker}" if marker else "")
        lines.append(line(requirement, [h.removeprefix("sha256:") for h in hashed]))
    return "".join(lines), tuple(indexes)
