"""The installers behind one Protocol (as pypa/build's env.py has pip and uv): `Uv` and `Pip`.

Their command lines are pure functions of an InstallRequest (unit tests pin them exactly); a build
chooses its backend once, from INSTALLER (`select`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from builders.config import Installer as InstallerName
from builders.injected import Injected


@dataclass(frozen=True)
class InstallRequest:
    python: str
    requirement_files: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    constraint_files: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    index_url: str | None = None  # replaces the default index (from an injected pip.conf)
    extra_index_urls: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    offline: bool = False  # installed packages and find-links only, no index
    require_hashes: bool = False  # a requirements file with --hash lines: check every download


def _common(request: InstallRequest, trusted_flag: str, offline_flag: str) -> list[str]:
    argv: list[str] = [offline_flag] if request.offline else []
    if request.require_hashes:
        argv.append("--require-hashes")
    for location in request.find_links:
        argv += ["--find-links", location]
    if request.index_url:
        argv += ["--index-url", request.index_url]
    for url in request.extra_index_urls:
        argv += ["--extra-index-url", url]
    for host in request.trusted_hosts:
        argv += [trusted_flag, host]
    for path in request.constraint_files:
        argv += ["-c", path]
    for path in request.requirement_files:
        argv += ["-r", path]
    return argv + list(request.packages)


# How each installer says, after an offline attempt, that a distribution it needs is neither installed
# nor in the local wheels (the one failure an index can fix). Neither has a structured signal: uv and
# pip exit with status 1 for this and for a real conflict alike, and write no machine-readable report
# on failure. So the words are matched, each one written only for that case (uv 0.13.9 and pip 26.x,
# the releases in the images; tests/unit/test_offline_retry.py runs both tools on every case):
# - uv's resolver: a package it has nowhere ends with the network hint (since uv 0.4); one it has only
#   in other versions (installed, or in /whl) reads "only s2i-shared>=1.0 is available" or "there is
#   no version of s2i-shared==2.0". A conflict with the pins reads "you require s2i-shared<1.0 and
#   s2i-shared==1.0" and matches none of them.
# - uv's download, after a resolution from cached index pages or of a direct URL: "Network
#   connectivity is disabled, but the requested data wasn't found in the cache"; and a local wheel that
#   is not the locked file (hash-checking mode): "Hash mismatch for `s2i-shared==1.0`".
# - pip (its resolver since 20.3): "No matching distribution found for" for every unavailable
#   requirement, also inside a build-dependency install; a local wheel that is not the locked file:
#   "THESE PACKAGES DO NOT MATCH THE HASHES", then "Expected sha256" per package. A conflict reads
#   "ResolutionImpossible".
UV_OFFLINE_MISSING = re.compile(
    r"Packages were unavailable because the network was disabled"
    r"|there is no version of \S+"
    r"|only \S+ (?:is|are) available"
    r"|Network connectivity is disabled, but the requested data wasn't found in the cache"
    r"|Hash mismatch for `"
)
PIP_OFFLINE_MISSING = re.compile(
    r"ERROR: No matching distribution found for "
    r"|THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE"
    r"|Expected sha256 [0-9a-f]{64}"
)


class Installer(Protocol):
    """One backend, as pypa/build's env.py has them: its command lines (pure) and its variables.
    Both freeze with uv (`freeze`)."""

    @property
    def name(self) -> str: ...

    def install(self, request: InstallRequest) -> list[str]: ...

    def compile(self, request: InstallRequest, output: str) -> list[str]: ...

    def environment(self, injected: Injected) -> dict[str, str]: ...

    def missing_offline(self, output: str) -> bool:
        """Whether an offline install failed for want of a distribution, from its output."""
        ...


@dataclass(frozen=True)
class Uv:
    uv: str
    name: str = "uv"

    def install(self, request: InstallRequest) -> list[str]:
        """`uv pip install` into the interpreter's environment; uv's flag for --trusted-host differs.

        No bytecode here: builders.bytecode compiles what the server can import once every install
        is done, without the packages' test suites (half of the bytecode of scikit-learn and scipy).
        """
        return [self.uv, "pip", "install", "--python", request.python] + _common(
            request, "--allow-insecure-host", "--offline"
        )

    def compile(self, request: InstallRequest, output: str) -> list[str]:
        """pip-tools' job (`requirements.in` -> pinned requirements) done by uv.

        No header: uv would write its command line, index URLs and all, into the file. The
        requirement files are the inputs; constraints keep the wrapper's pins.
        """
        inputs = list(request.requirement_files)
        flags = _common(
            replace(request, requirement_files=(), packages=(), require_hashes=False),
            "--allow-insecure-host",
            "--offline",
        )
        return [self.uv, "pip", "compile", "--python", request.python, "--no-header", "--no-annotate",
                "--quiet", "--output-file", output] + flags + inputs  # fmt: skip

    def environment(self, injected: Injected) -> dict[str, str]:
        """NETRC only: uv reads no pip.conf, so its index settings become flags (InstallRequest)."""
        return {"NETRC": str(injected.netrc)} if injected.netrc else {}

    def missing_offline(self, output: str) -> bool:
        return UV_OFFLINE_MISSING.search(output) is not None


@dataclass(frozen=True)
class Pip:
    uv: str  # compiles requirements.in (pip has no compile of its own; pip-tools' job is uv's here)
    name: str = "pip"

    def install(self, request: InstallRequest) -> list[str]:
        return [
            request.python,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--no-input",
            "--no-compile",  # as with uv: builders.bytecode compiles afterwards
            "--progress-bar",
            "off",
        ] + _common(request, "--trusted-host", "--no-index")

    def compile(self, request: InstallRequest, output: str) -> list[str]:
        return Uv(self.uv).compile(request, output)

    def environment(self, injected: Injected) -> dict[str, str]:
        """NETRC (pip reads it through requests) and the injected pip.conf, which pip reads whole
        (cert, timeout...)."""
        env = Uv(self.uv).environment(injected)
        if injected.pip_conf:
            env["PIP_CONFIG_FILE"] = str(injected.pip_conf)
        return env

    def missing_offline(self, output: str) -> bool:
        return PIP_OFFLINE_MISSING.search(output) is not None


def select(name: InstallerName, uv: str) -> Installer:
    """The backend INSTALLER names, chosen once per build."""
    backends: dict[str, type[Uv] | type[Pip]] = {"uv": Uv, "pip": Pip}
    return backends[name](uv)


def freeze(uv: str, python: str) -> list[str]:
    """The freeze every step uses, whatever INSTALLER says: uv's is always in the image, reads any
    environment (pip's needs pip installed in it, which a conda Python may lack) and takes
    milliseconds. One freeze everywhere, so the before/after comparison and requirements.lock agree."""
    return [uv, "pip", "freeze", "--python", python]


def wheel_pins(wheel_dir: Path) -> list[str]:
    """`name==version` for every wheel in an injected folder.

    Used as constraints next to `--find-links`, so a wheel at /whl wins over a newer release on an
    index: installers otherwise pick the highest version wherever it is.
    """
    pins = []
    for wheel in sorted(wheel_dir.glob("*.whl")):
        try:
            name, version, _, _ = parse_wheel_filename(wheel.name)
        except InvalidWheelFilename:
            continue  # the installer names it, if it is ever asked for
        pins.append(f"{name}=={version}")
    return pins
