"""Dependency inputs, as pure functions: requirement includes, hashes, wrapper conflicts, and what
the application added to the builder's environment.

Nothing here runs a subprocess or touches the network; assemble feeds it file contents and installer
output, and unit tests pin what comes back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


# --- conflicts with the wrapper's pins -------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    why: str  # the comment above it in wrapper-requirements.txt


def wrapper_pins(text: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    why: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            why.append(line.lstrip("# ").strip())
        elif line:
            try:
                requirement = Requirement(line.split(" #", 1)[0].strip())
            except InvalidRequirement:
                continue
            pins[canonicalize_name(requirement.name)] = Pin(requirement, " ".join(why[-1:]))
            why = []
    return pins


def locked_versions(text: str) -> dict[str, str]:
    """`name==version` lines (a lock or a freeze) as {canonical name: version}."""
    versions: dict[str, str] = {}
    for raw in text.splitlines():
        match = _PIN.match(raw.strip())
        if match and match[2]:
            versions[canonicalize_name(match[1])] = match[2]
    return versions


@dataclass(frozen=True)
class Conflict:
    user: str  # "numpy>=2 (requirements.txt line 1)"
    wrapper: str  # "numpy<3,>=2 (The images are tested with seldon-core 1.18.2 on numpy 2.)"


def conflicts(
    user: Sequence[tuple[str, int, Requirement]],
    pins: dict[str, Pin],
    locked: dict[str, str],
    resolver_output: str,
) -> list[Conflict]:
    """User requirements on a package the wrapper pins that exclude the version the wrapper runs
    with, when the failed resolver names that package. (A requirement that merely differs from the
    pin but can be met together with it is no conflict.)"""
    mentioned = names_in(resolver_output)
    found = []
    for origin, number, requirement in user:
        name = canonicalize_name(requirement.name)
        pin = pins.get(name)
        if pin is None or name not in mentioned or not requirement.specifier:
            continue
        version = locked.get(name)
        if version is not None and requirement.specifier.contains(version, prereleases=True):
            continue
        found.append(
            Conflict(
                f"{requirement} ({origin} line {number})",
                f"{pin.requirement} ({pin.why})" if pin.why else str(pin.requirement),
            )
        )
    return found


def names_in(text: str) -> set[str]:
    """Every word of `text` that could be a distribution name, normalized."""
    return {canonicalize_name(w) for w in re.findall(r"[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]", text)}


def resolver_explanation(output: str) -> str:
    """The resolver's reason in one line, when it gave one (uv: `Because ...`; pip: `The conflict
    is caused by` and the lines under it)."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if "Because " in line:
            return line[line.index("Because ") :].strip()
        if "The conflict is caused by" in line:
            return " ".join(s.strip() for s in lines[index : index + 4] if s.strip())
    return ""


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
