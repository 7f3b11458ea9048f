"""Installer command lines, as pure functions of an InstallRequest (unit tests pin them exactly)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename


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


def uv_install(uv: str, request: InstallRequest) -> list[str]:
    """`uv pip install` into the interpreter's environment; uv's flag for --trusted-host differs.

    Bytecode is compiled at build time, as pip does: uv does not by default, and then every new
    container compiles numpy, scikit-learn and the rest again before it can serve (measured by
    `make bench`: start to ready took more than twice as long).
    """
    return [uv, "pip", "install", "--python", request.python, "--compile-bytecode"] + _common(
        request, "--allow-insecure-host", "--offline"
    )


def pip_install(request: InstallRequest) -> list[str]:
    return [
        request.python,
        "-m",
        "pip",
        "install",
        "--no-cache-dir",
        "--no-input",
        "--progress-bar",
        "off",
    ] + _common(request, "--trusted-host", "--no-index")


def install(installer: str, uv: str, request: InstallRequest) -> list[str]:
    return uv_install(uv, request) if installer == "uv" else pip_install(request)


def uv_compile(uv: str, request: InstallRequest, output: str) -> list[str]:
    """pip-tools' job (`requirements.in` -> pinned requirements) done by uv, for either installer.

    No header: uv would write its command line, index URLs and all, into the file. The requirement
    files are the inputs; constraints keep the wrapper's pins.
    """
    inputs = list(request.requirement_files)
    flags = _common(
        InstallRequest(
            python=request.python,
            constraint_files=request.constraint_files,
            find_links=request.find_links,
            index_url=request.index_url,
            extra_index_urls=request.extra_index_urls,
            trusted_hosts=request.trusted_hosts,
            offline=request.offline,
        ),
        "--allow-insecure-host",
        "--offline",
    )
    return [uv, "pip", "compile", "--python", request.python, "--no-header", "--no-annotate",
            "--quiet", "--output-file", output] + flags + inputs  # fmt: skip


def freeze(installer: str, uv: str, python: str) -> list[str]:
    if installer == "uv":
        return [uv, "pip", "freeze", "--python", python]
    return [python, "-m", "pip", "freeze", "--all"]


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
