"""Which Python the source asks for, checked against the image's before anything slow.

    source folder -> demands() -> check() -> the log lines, or PythonMismatch naming the builders that fit

Read: `requires-python` of pyproject.toml, uv.lock and pylock.toml; `.python-version` (pyenv, uv,
Heroku); `[requires] python_version` / `python_full_version` of a Pipfile. A conda environment with its
own Python (environment.yml pins python) is the application's Python, so then nothing is checked.

A version with a patch number (`.python-version` 3.13.1) is compared by its minor version: each image has
one patch release, its Debian suite's, and the next security release changes it; a requires-python
specifier is compared exactly. Each builder image carries the Python and the image names of every
builder (/opt/s2i/builders.txt, written at image build), so the error can say which one takes the source.
"""

from __future__ import annotations

import contextlib
import platform
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from builders import __version__
from builders.errors import ConfigError, PythonMismatch, PythonRefused
from builders.readers import read_toml

# Where an image without /opt/s2i/builders.txt (a development install) sends a source: the published
# names. The first Python is the oldest, DEFAULT the newest stable one, also named seldon-core-s2i-python3.
PYTHONS = ("3.11", "3.13", "3.14")
DEFAULT = "3.13"
# uv and pyenv write a bare version, optionally after the implementation name.
_VERSION_REQUEST = re.compile(r"^(?:cpython[-@]?|python)?(\d+(?:\.\d+){0,2})$", re.IGNORECASE)


@dataclass(frozen=True)
class Demand:
    """One place in the source that says which Python it needs."""

    file: str  # pyproject.toml
    field: str  # requires-python
    constraint: str  # as written: >=3.13
    specifier: SpecifierSet

    def allows(self, version: str) -> bool:
        return self.specifier.contains(version, prereleases=True)

    def allows_minor(self, minor: str) -> bool:
        """True when some release of that minor version is allowed (3.13: 3.13.0 ... 3.13.99)."""
        return any(self.allows(f"{minor}.{patch}") for patch in range(100))

    def __str__(self) -> str:
        return f"{self.file} ({self.field} = {self.constraint!r})"


def demands(source: Path) -> tuple[list[Demand], list[str]]:
    """What the source asks for, and notes on what was read but cannot be checked."""
    found: list[Demand] = []
    notes: list[str] = []
    project = _toml(source / "pyproject.toml").get("project")
    tables = {
        "pyproject.toml": project if isinstance(project, dict) else {},
        "uv.lock": _toml(source / "uv.lock"),
        "pylock.toml": _toml(source / "pylock.toml"),
    }
    for name, table in tables.items():
        value = table.get("requires-python")
        if isinstance(value, str):
            found.append(_specifier(name, "requires-python", value))
    requires = _toml(source / "Pipfile").get("requires", {})
    for key in ("python_version", "python_full_version"):
        value = requires.get(key) if isinstance(requires, dict) else None
        if isinstance(value, str) and value.strip() not in ("", "*"):
            found.append(_version("Pipfile", f"[requires] {key}", value))
    request = _first_line(source / ".python-version")
    if request is not None:
        if _VERSION_REQUEST.match(request):
            found.append(_version(".python-version", "version", request))
        elif request[:1] in "<>=!~":
            found.append(_specifier(".python-version", "version", request))
        else:
            notes.append(f".python-version asks for {request!r}: not a CPython version, not checked")
    return found, notes


def check(source: Path, builders_file: Path, python: str | None = None) -> list[str]:
    """Raise PythonMismatch when a demand excludes this image's Python; else the lines to log."""
    python = python or platform.python_version()
    found, notes = demands(source)
    unmet = [d for d in found if not d.allows(python)]
    if unmet:
        images = builders(builders_file)
        fit = [
            f"{names[0]} (Python {minor})"
            for minor, names in images.items()
            if all(d.allows_minor(minor) for d in found) and minor != _minor(python)
        ]
        raise PythonMismatch([str(d) for d in unmet], python, fit, sorted(images))
    if found:
        notes.append(f"Python {python} satisfies {', '.join(str(d) for d in found)}")
    return notes


def builders(path: Path) -> dict[str, tuple[str, ...]]:
    """{"3.13": ("seldonio/seldon-core-s2i-python313:0.1.0", ...)}: each Python's builder image names."""
    images: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        fields = line.split()
        if len(fields) >= 2 and not line.startswith("#"):
            images[fields[0]] = tuple(fields[1:])
    if images:
        return images
    # an image built without BUILDERS (a plain `docker build`): the published names
    default = f"seldonio/seldon-core-s2i-python3:{__version__}"
    return {minor: (image_name(minor), *([default] if minor == DEFAULT else [])) for minor in PYTHONS}


def image_name(minor: str, version: str = __version__) -> str:
    return f"seldonio/seldon-core-s2i-python{minor.replace('.', '')}:{version}"


# A requirement the interpreter refuses, as the installers say it. uv: "Because the current Python
# version (3.11.2) does not satisfy Python>=3.12 and numpy>=2.5 depends on Python>=3.12" (or "all
# versions of numpy>=2.5 depend on"); pip: "Ignored the following versions that require a different
# python version: 2.5.0 Requires-Python >=3.12" then "No matching distribution found for numpy>=2.5".
_UV_REFUSED = re.compile(
    r"Python version \((?P<python>[^)]+)\) does not satisfy Python(?P<needs>[<>=!~][^ ]*) and "
    r"(?:all versions of |all of:\s*)?(?P<requirement>[^ ]+) depends? on Python"
)
_PIP_REFUSED = re.compile(r"Requires-Python (?P<needs>[<>=!~][^ ;]*)")
_PIP_MISSING = re.compile(r"No matching distribution found for (?P<requirement>\S+)")


@dataclass(frozen=True)
class Refusal:
    requirement: str  # numpy>=2.5
    needs: str  # >=3.12


def refused(output: str) -> Refusal | None:
    """The requirement this Python cannot have, when the installer's output says that is the cause."""
    text = " ".join(output.split())
    match = _UV_REFUSED.search(text)
    if match:
        return Refusal(match["requirement"].rstrip(",."), match["needs"].rstrip(",."))
    needs, missing = _PIP_REFUSED.findall(text), _PIP_MISSING.search(text)
    if needs and missing:
        return Refusal(missing["requirement"], needs[-1].rstrip(",."))
    return None


def raise_if_refused(
    output: str,
    builders_file: Path,
    user: Sequence[tuple[str, int, Requirement]] = (),
    python: str | None = None,
) -> None:
    """PythonRefused when the installer failed because this Python cannot have a requirement; named
    as the application wrote it (`user`: requirement, file, line) when it did."""
    refusal = refused(output)
    if refusal is None:
        return
    python = python or platform.python_version()
    fit = fitting(refusal.needs, builders(builders_file))
    named = refusal.requirement
    with contextlib.suppress(InvalidRequirement):
        name = canonicalize_name(Requirement(refusal.requirement).name)
        named = next(
            (f"{r} ({origin} line {n})" for origin, n, r in user if canonicalize_name(r.name) == name), named
        )
    raise PythonRefused(named, refusal.needs, python, fit) from None


def fitting(needs: str, images: dict[str, tuple[str, ...]]) -> list[str]:
    """The builder images whose Python meets a Requires-Python specifier."""
    try:
        demand = Demand("", "", needs, SpecifierSet(needs))
    except InvalidSpecifier:
        return []
    return [f"{names[0]} (Python {minor})" for minor, names in images.items() if demand.allows_minor(minor)]


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _specifier(file: str, field: str, value: str) -> Demand:
    try:
        return Demand(file, field, value, SpecifierSet(value))
    except InvalidSpecifier:
        raise ConfigError(
            f"{file}: {field} = {value!r} is not a version specifier",
            f'Write it as PEP 440 specifiers, for example {field} = ">=3.11".',
        ) from None


def _version(file: str, field: str, value: str) -> Demand:
    """A bare version (3.13, 3.13.1, cpython@3.13) means that minor version: ==3.13.*."""
    match = _VERSION_REQUEST.match(value.strip())
    if not match:
        raise ConfigError(
            f"{file}: {field} = {value!r} is not a Python version",
            f"Write a version such as 3.13 in {file}.",
        )
    parts = match[1].split(".")
    return Demand(file, field, value.strip(), SpecifierSet(f"=={'.'.join(parts[:2])}.*"))


def _first_line(path: Path) -> str | None:
    if not path.is_file():
        return None
    lines: Iterable[str] = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for line in lines:
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            return stripped
    return None


def _toml(path: Path) -> dict[str, object]:
    return read_toml(path) if path.is_file() else {}
