"""Dependency inputs, as pure functions: requirement includes, hashes, freezes, and what the
application added to the builder's environment (the wrapper's pins and conflicts: builders/wrapper.py).

Nothing here runs a subprocess or touches the network; assemble feeds it file contents and installer
output, and unit tests pin what comes back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

_INCLUDE = re.compile(r"^(?:-r|-c|--requirement|--constraint)(?:\s*=\s*|\s*)(\S+)")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*(\S+)|\s+@\s+(\S+))")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """A requirements file's lines with `\\` continuations joined and comments removed, numbered by
    the line they start on (pip's rules: `#` at the start or after whitespace starts a comment)."""
    result: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        line = re.sub(r"(^|\s+)#.*$", "", raw)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = " ".join((pending + line).split())
        pending = ""
        if joined:
            result.append((start, joined))
    if pending.strip():
        result.append((start, pending.strip()))
    return result


def includes(path: Path) -> list[Path]:
    """Every file that `path` pulls in with -r/-c (recursively, relative to the including file).

    Missing files are listed too: the installer reports them, and the fingerprint must change when
    they appear. URLs are left to the installer.
    """
    seen: list[Path] = []
    root = path.resolve()

    def walk(current: Path) -> None:
        try:
            text = current.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return
        for _, line in logical_lines(text):
            match = _INCLUDE.match(line)
            if not match or "://" in match[1]:
                continue
            target = (current.parent / match[1]).resolve()
            if target not in seen and target != root:
                seen.append(target)
                walk(target)

    walk(path)
    return seen


def uses_hashes(paths: Iterable[Path]) -> bool:
    """True when any requirement line carries `--hash`: the install then runs in hash-checking mode."""
    for path in paths:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if any("--hash" in line for _, line in logical_lines(text)):
                return True
    return False


def requirements_of(path: Path) -> list[tuple[str, int, Requirement]]:
    """The named requirements of a requirements file and everything it includes, with their origin."""
    found: list[tuple[str, int, Requirement]] = []
    for current in [path, *includes(path)]:
        if not current.is_file():
            continue
        for number, line in logical_lines(current.read_text(encoding="utf-8", errors="replace")):
            if line.startswith("-"):
                continue
            try:
                requirement = Requirement(line.split(" --", 1)[0].split(";")[0].strip())
            except InvalidRequirement:
                continue
            found.append((current.name, number, requirement))
    return found


# --- freezes --------------------------------------------------------------------------------------------


def locked_versions(text: str) -> dict[str, str]:
    """`name==version` lines (a lock or a freeze) as {canonical name: version}."""
    versions: dict[str, str] = {}
    for raw in text.splitlines():
        match = _PIN.match(raw.strip())
        if match and match[2]:
            versions[canonicalize_name(match[1])] = match[2]
    return versions


# --- what the application added ----------------------------------------------------------------------


def changes(before: str, after: str) -> list[str]:
    """From two freezes: `+ name==version` added, `~ name old -> new` changed, `- name==version` removed."""

    def entries(text: str) -> dict[str, tuple[str, str]]:
        result: dict[str, tuple[str, str]] = {}
        for raw in text.splitlines():
            match = _PIN.match(raw.strip())
            if match:
                result[canonicalize_name(match[1])] = (match[1], match[2] or f"@ {match[3]}")
        return result

    old, new = entries(before), entries(after)
    lines = []
    for key in sorted(new.keys() | old.keys()):
        if key not in old:
            name, version = new[key]
            lines.append(f"+ {name} {version}" if version.startswith("@") else f"+ {name}=={version}")
        elif key not in new:
            lines.append(f"- {old[key][0]}=={old[key][1]}")
        elif old[key][1] != new[key][1]:
            lines.append(f"~ {new[key][0]} {old[key][1]} -> {new[key][1]}")
    return lines
