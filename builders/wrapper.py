"""The seldon-core wrapper every image serves: which release, where its wheel comes from, the pins that
keep it working, and the checks that turn a requirement or a lock contradicting those pins into one
error naming every contradiction at once.

seldon-core 1.18.0 and later are under the Business Source License 1.1 (production use needs a
commercial licence); 1.17.1 is Apache-2.0 and its Python code is the same as 1.18.2's. The images
serve 1.17.1, rebuilt by builders/wrapperwheel.py for the stack this builder tests (as VERSION).
The pins are in builders/wrapper-requirements.txt (in the images: Layout.wrapper); its
`seldon-core==` line names RELEASE (a unit test holds the two together).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from builders.errors import CommandError, LockConflict, WrapperConflict

NAME = "seldon-core"
RELEASE = "1.17.1"
LICENSE = "Apache-2.0"  # SPDX id of RELEASE's licence (its metadata says "Apache 2.0")
# The rebuild: a local label, so `seldon-core==1.17.1` still matches it and sorts it above the index's.
VERSION = f"{RELEASE}+s2i"
REQUIREMENT = f"{NAME}=={RELEASE}"
TITLE = f"{NAME} {RELEASE} ({LICENSE})"


@dataclass(frozen=True)
class Artifact:
    """A published file of RELEASE, fetched by name from the package index and checked by hash."""

    filename: str
    sha256: str


# What wrapperwheel.py rebuilds: a download that differs is refused.
WHEEL = Artifact(
    "seldon_core-1.17.1-py3-none-any.whl", "9960d9cdce90d1b6e5ef7292f1a337372605da055597fcdcab1c3edc6dee04ef"
)
# Its sdist carries seldon-core's own unit tests (tests/), run against the rebuilt wheel by make test.
SDIST = Artifact(
    "seldon-core-1.17.1.tar.gz", "d9e32a16a98b779be01868d307e824d4080c0da37ffd37439f048825899f8850"
)


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    why: str  # the comment above it in wrapper-requirements.txt

    def __str__(self) -> str:
        return f"{self.requirement} ({self.why})" if self.why else str(self.requirement)


def pins(text: str) -> dict[str, Pin]:
    """wrapper-requirements.txt as {canonical name: Pin}; lines that are no requirement are skipped."""
    found: dict[str, Pin] = {}
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
            found[canonicalize_name(requirement.name)] = Pin(requirement, " ".join(why[-1:]))
            why = []
    return found


# --- requirements ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    user: str  # "numpy==1.19.1 (requirements.txt line 2)"
    wrapper: str  # "numpy<3,>=2 (The images are tested with seldon-core 1.17.1 on numpy 2.)"


def conflicts(
    user: Sequence[tuple[str, int, Requirement]],
    pinned: Mapping[str, Pin],
    installed: Mapping[str, str],
    resolver_output: str,
) -> list[Conflict]:
    """Every user requirement on a package the wrapper pins that excludes the version the wrapper runs
    with, when the failed resolver names that package or the requirement cannot be met together with
    the pin at all. (A resolver stops at its first contradiction: the second is found here, so one
    build names them all. A requirement that merely differs from the pin but can be met with it is
    no conflict.)"""
    mentioned = names_in(resolver_output)
    found: list[tuple[bool, Conflict]] = []  # (named by the resolver, conflict)
    for origin, number, requirement in user:
        name = canonicalize_name(requirement.name)
        pin = pinned.get(name)
        if pin is None or not requirement.specifier:
            continue
        version = installed.get(name)
        if version is not None and requirement.specifier.contains(version, prereleases=True):
            continue
        if name in mentioned or disjoint(requirement.specifier, pin.requirement.specifier):
            found.append((name in mentioned, Conflict(f"{requirement} ({origin} line {number})", str(pin))))
    # none named by the resolver: it failed for another reason, which its own message tells
    return [conflict for _, conflict in found] if any(named for named, _ in found) else []


def disjoint(one: SpecifierSet, other: SpecifierSet) -> bool:
    """No version meets both: tried on every version either names (a boundary of one range lies
    inside the other whenever the two overlap, but for open bounds on both sides of a gap)."""
    candidates = {s.version.rstrip(".*") for s in [*one, *other]}
    return not any(
        one.contains(v, prereleases=True) and other.contains(v, prereleases=True) for v in candidates
    )


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


# --- locks -------------------------------------------------------------------------------------------


def lock_conflicts(
    pinned: Mapping[str, Pin], locked: Mapping[str, str], lock_file: str, environment: Sequence[Path] = ()
) -> list[tuple[str, str]]:
    """Locked versions that the wrapper's pins exclude, then those that a requirement of a package in
    the builder's environment excludes (seldon-core's own Flask<3, ...). `environment`: the
    site-packages folders of the builder's environment."""
    sides = [
        (f"{name}=={locked[name]} ({lock_file})", str(pin))
        for name, pin in pinned.items()
        if name in locked and not pin.requirement.specifier.contains(locked[name], prereleases=True)
    ]
    named = {user for user, _ in sides}
    return sides + [s for s in broken_requirements(environment, locked, lock_file) if s[0] not in named]


def broken_requirements(
    environment: Sequence[Path], locked: Mapping[str, str], lock_file: str
) -> list[tuple[str, str]]:
    """Requirements of the environment's packages that a locked version breaks. Packages the lock
    replaces bring their own requirements (the lock resolved them). A requirement the environment
    does not meet today is one the builder overrides on purpose (its pins win over the wrapper's
    metadata), so it is not held against the lock either."""
    dists = list(metadata.distributions(path=[str(p) for p in environment])) if environment else []
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in dists if d.metadata["Name"]}
    sides = []
    for dist in dists:
        owner = dist.metadata["Name"]
        if not owner or canonicalize_name(owner) in locked:
            continue
        for line in dist.requires or []:
            try:
                requirement = Requirement(line)
                if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                    continue
            except (InvalidRequirement, UndefinedEnvironmentName):
                continue
            name = canonicalize_name(requirement.name)
            version, current = locked.get(name), installed.get(name)
            if version is None or requirement.specifier.contains(version, prereleases=True):
                continue
            if current is not None and not requirement.specifier.contains(current, prereleases=True):
                continue
            sides.append(
                (f"{name}=={version} ({lock_file})", f"{requirement} (required by {owner} {dist.version})")
            )
    return sides


# --- one build's guard ---------------------------------------------------------------------------------


class Guard:
    """The wrapper's pins (from `pins_file`) and the versions installed now (`installed`: {canonical
    name: version}, from a freeze): what every install of one build checks against."""

    def __init__(
        self,
        pins_file: Path,
        installed: Mapping[str, str],
        first: Callable[[str, Sequence[tuple[str, int, Requirement]]], None] | None = None,
    ) -> None:
        """`first`: called with a failed install's output before the pins are blamed; it raises
        when another cause explains the failure (the image's Python, builders.python_version)."""
        self.pins_file = str(pins_file)
        self.pins = pins(pins_file.read_text(encoding="utf-8")) if pins_file.is_file() else {}
        self.installed = dict(installed)
        self.first = first

    def exact(self) -> list[str]:
        """The wrapper's pinned packages at the versions installed now (hash-checking mode wants `==`)."""
        return [f"{name}=={self.installed[name]}" for name in self.pins if name in self.installed]

    def held(self, locked: Mapping[str, str]) -> list[str]:
        """The wrapper's packages a lock does not name, held at their installed versions."""
        return [f"{n}=={self.installed[n]}" for n in self.pins if n in self.installed and n not in locked]

    def check_lock(
        self, locked: Mapping[str, str], lock_file: str, fix: str, environment: Sequence[Path] = ()
    ) -> None:
        """Fails before any download when a locked version contradicts the wrapper, naming both sides."""
        sides = lock_conflicts(self.pins, locked, lock_file, environment)
        if sides:
            raise LockConflict(sides, lock_file, fix, self.pins_file, TITLE)

    @contextmanager
    def check(self, user: Sequence[tuple[str, int, Requirement]]) -> Iterator[None]:
        """Turns a resolver failure caused by the pins into an error naming every contradiction."""
        try:
            yield
        except CommandError as exc:
            output = exc.output_tail
            if self.first is not None:
                self.first(output, user)
            found = conflicts(user, self.pins, self.installed, output)
            explanation = resolver_explanation(output)
            sides = [(c.user, c.wrapper) for c in found]
            if not sides and explanation:
                named = names_in(explanation)
                sides = [
                    ("a dependency", str(pin))
                    for name, pin in self.pins.items()
                    if name in named and name != NAME
                ]
            if sides:
                raise WrapperConflict(sides, explanation, self.pins_file, TITLE) from None
            raise
