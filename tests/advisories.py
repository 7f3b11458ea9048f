"""builders/advisories.toml, read: which installed releases are below the first fix of an advisory."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

FILE = Path(__file__).resolve().parent.parent / "builders" / "advisories.toml"


@dataclass(frozen=True)
class Advisory:
    package: str
    id: str
    fixed: tuple[Version, ...]
    summary: str
    source: str

    def affects(self, version: Version) -> bool:
        """Below the fix of its own release line (the fix's release without its last number: 5.29.5
        fixes the 5.29 line), and below the newest fix listed."""
        if version >= max(self.fixed):
            return False
        for fix in self.fixed:
            line = fix.release[:-1]
            if version.release[: len(line)] == line and version >= fix:
                return False
        return True


def load(path: Path = FILE) -> tuple[str, list[Advisory]]:
    """The date last checked, and every advisory."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    advisories = [
        Advisory(
            canonicalize_name(entry["package"]),
            entry["id"],
            tuple(Version(v) for v in entry["fixed"]),
            entry["summary"],
            entry["source"],
        )
        for entry in data["advisory"]
    ]
    return str(data["checked"]), advisories


def findings(installed: dict[str, str], advisories: list[Advisory]) -> list[str]:
    """`package version: id (first fixed in ...) source` for each installed release an advisory affects."""
    found = []
    for advisory in advisories:
        version = installed.get(advisory.package)
        if version is not None and advisory.affects(Version(version)):
            fixes = ", ".join(str(v) for v in advisory.fixed)
            found.append(f"{advisory.package} {version}: {advisory.id} (fixed in {fixes}) {advisory.source}")
    return found
