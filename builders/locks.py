"""Lock files decide what is installed: exactly the locked versions, every file hash-checked.

Every format becomes the same install input before anything is downloaded: a requirements file with
`name==version --hash=...` on every line, plus the index URLs the lock names. Each installer (uv or
pip) then installs that file in hash-checking mode, beside the wrapper's environment.

    uv.lock       `uv export --locked`: uv's own freshness check against pyproject.toml, run offline
                  first (a stale lock fails before any package is downloaded), then uv's own export
    pylock.toml   PEP 751, read with packaging.pylock, which selects the packages for this Python
    poetry.lock   checked against pyproject.toml (poetry's content-hash), read as TOML
    Pipfile.lock  checked against the Pipfile (pipenv's _meta.hash), read as JSON

Why an export and not `uv sync`: sync makes the environment exactly the lock, so it would remove the
wrapper (seldon-core is in no user's lock), and it knows nothing of the wrapper's pins. An export
installed with `uv pip install --require-hashes` keeps the wrapper, honours its pins, works the same
for INSTALLER=pip, and still lets wheels at /whl win where their hashes match the lock's.

Precedence (one documented rule, no silent choice): one lock file decides the Python packages;
requirements.txt / requirements.in beside it are not installed (a log line says so); two lock files,
a lock beside environment.yml, or a Pipfile without its Pipfile.lock stop the build with an error.
"""

from __future__ import annotations

import hashlib
import json
import platform
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from builders import credentials, proc
from builders import deps as depfiles
from builders.errors import CommandError, ConfigError, LockConflict, StaleLock

# Every file of the lock formats, for plan()'s "found" line and the incremental fingerprint.
FILES = ("uv.lock", "poetry.lock", "Pipfile", "Pipfile.lock", "pylock.toml")


@dataclass(frozen=True)
class Lock:
    """The lock file that decides the installed set, and what it is checked against."""

    file: str  # uv.lock, poetry.lock, Pipfile.lock, pylock.toml
    checked_against: str | None  # pyproject.toml, Pipfile, or None (pylock.toml records no inputs)
    fix: str  # the command that makes the lock current again

    @property
    def title(self) -> str:
        return f"{self.file} (exactly the locked versions; hash-checking mode)"


_FORMATS = {
    "uv.lock": Lock("uv.lock", "pyproject.toml", "uv lock"),
    "poetry.lock": Lock("poetry.lock", "pyproject.toml", "poetry lock"),
    "Pipfile.lock": Lock("Pipfile.lock", "Pipfile", "pipenv lock"),
    "pylock.toml": Lock("pylock.toml", None, "regenerate pylock.toml with the tool that wrote it"),
}


@dataclass(frozen=True)
class Decision:
    """What a lock file changes in a plan: the lock, whether the project is still installed, and
    what is left out (with the reason the log gives)."""

    lock: Lock
    project: str | None
    skipped: tuple[tuple[str, str], ...]


def decide(
    source: Path, found: Sequence[str], environment_file: str | None, project: str | None
) -> Decision | None:
    """The lock precedence, for plan(): None when there is no lock; an error where files contradict."""
    present = [name for name in _FORMATS if (source / name).is_file()]
    if "Pipfile" in found and "Pipfile.lock" not in present:
        raise ConfigError(
            f"{source / 'Pipfile'} has no Pipfile.lock beside it: the builder installs locked "
            "dependencies only, and resolving a Pipfile at build time would give a different set "
            "every day",
            "Run `pipenv lock` and add Pipfile.lock to the source folder (or use requirements.txt).",
        )
    if not present:
        return None
    if len(present) > 1:
        raise ConfigError(
            f"several lock files in {source}: {', '.join(present)}; each would decide the installed "
            "set on its own, and they may disagree",
            "Keep the lock file of the tool your project uses and remove the others from the source folder.",
        )
    lock = _FORMATS[present[0]]
    if environment_file is not None:
        raise ConfigError(
            f"{source / environment_file} and {source / lock.file} both decide the Python "
            "packages of the application",
            f"Use one: move the conda packages' Python dependencies into {lock.file}, or drop "
            f"{lock.file} and list them in the `pip:` section of {environment_file}.",
        )
    if lock.checked_against and not (source / lock.checked_against).is_file():
        raise ConfigError(
            f"{source / lock.file} has no {lock.checked_against} beside it, so it cannot be checked "
            "for being current",
            f"Add the {lock.checked_against} that {lock.file} was made from to the source folder.",
        )
    why = f"{lock.file} decides the installed set (a lock wins)"
    skipped = [(name, why) for name in ("requirements.txt", "requirements.in") if name in found]
    why_not = _project_not_installed(source, lock, project)
    if why_not:
        skipped.append((project or "pyproject.toml", why_not))
        project = None
    return Decision(lock, project, tuple(skipped))


def _project_not_installed(source: Path, lock: Lock, project: str | None) -> str | None:
    """Whether the project itself is installed follows the project's own settings."""
    if project != "pyproject.toml":
        return None
    data = _toml(source / "pyproject.toml")
    tool = data.get("tool", {})
    if lock.file == "uv.lock":
        package = tool.get("uv", {}).get("package")
        if package is False or (package is None and "build-system" not in data):
            return (
                "uv.lock: the project is not a package (no [build-system], or tool.uv.package = "
                "false), so only its locked dependencies are installed, as `uv sync` would"
            )
    if lock.file == "poetry.lock" and tool.get("poetry", {}).get("package-mode") is False:
        return "poetry.lock: package-mode = false, so only the locked dependencies are installed"
    return None


# --- the locked set as hashed requirements -----------------------------------------------------------


@dataclass(frozen=True)
class Locked:
    """A lock turned into installer input."""

    requirements: Path  # `name==version --hash=...` lines
    versions: dict[str, str]  # canonical name -> locked version
    indexes: tuple[str, ...]  # the index URLs the lock names, in its order


def export(lock: Lock, source: Path, uv: str, python: str, env: Mapping[str, str], scratch: Path) -> Locked:
    """Check `lock` against its project file and write its default dependencies as hashed
    requirements. Nothing is downloaded: every check is offline (see _uv_export for the one
    exception)."""
    output = scratch / f"{lock.file}.requirements.txt"
    if lock.file == "uv.lock":
        _uv_export(lock, source, uv_export(uv, python, source, output), env)
        text = output.read_text(encoding="utf-8")
        indexes = _uv_indexes(_toml(source / "uv.lock"))
    elif lock.file == "pylock.toml":
        text, indexes = pylock_requirements(source / "pylock.toml")
    elif lock.file == "poetry.lock":
        text, indexes = poetry_requirements(source)
    else:
        text, indexes = pipfile_requirements(source)
    output.write_text(text, encoding="utf-8")
    return Locked(output, depfiles.locked_versions(text), indexes)


def _uv_export(lock: Lock, source: Path, argv: list[str], env: Mapping[str, str]) -> None:
    """Offline first: a current lock satisfies pyproject.toml without the network. When uv has to
    resolve again (it fails offline wanting the index), the lock is stale; only a project whose
    dependencies are dynamic (computed by its build backend) is given a second, online try."""
    stale = StaleLock(lock.file, lock.checked_against or "", lock.fix, "")
    try:
        proc.run([*argv, "--offline"], env=env, cwd=source, quiet=True)
        return
    except CommandError as exc:
        if "needs to be updated" in exc.output_tail:
            raise stale from None
        dynamic = "dependencies" in _toml(source / "pyproject.toml").get("project", {}).get("dynamic", [])
        if "network was disabled" in exc.output_tail and not dynamic:
            raise stale from None
    try:
        proc.run(argv, env=env, cwd=source, quiet=True)
    except CommandError as exc:
        if "needs to be updated" in exc.output_tail:
            raise stale from None
        raise


def uv_export(uv: str, python: str, project: Path, output: Path) -> list[str]:
    """`uv export` of the default dependencies (no dependency groups, no extras), hashes included.

    `--locked` fails when uv.lock no longer satisfies pyproject.toml. The project itself is left out
    of the export: when it is a package it is installed after its dependencies, the usual way.
    """
    return [uv, "export", "--locked", "--format", "requirements.txt", "--no-default-groups",
            "--no-emit-project", "--no-header", "--no-annotate", "--python", python,
            "--project", str(project), "--output-file", str(output), "--quiet"]  # fmt: skip


def _uv_indexes(data: Mapping[str, Any]) -> tuple[str, ...]:
    urls: list[str] = []
    for package in data.get("package", []):
        registry = package.get("source", {}).get("registry")
        if isinstance(registry, str) and "://" in registry and registry not in urls:
            urls.append(registry)
    return tuple(urls)


def pylock_requirements(path: Path) -> tuple[str, tuple[str, ...]]:
    """PEP 751: packaging selects the packages (markers, wheel tags) for this interpreter (the tools
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
        pylock = Pylock.from_dict(_toml(path))
        selected = list(pylock.select())
    except (PylockValidationError, PylockSelectError) as exc:
        raise ConfigError(
            f"{path} cannot be installed here: {exc}",
            f"Regenerate pylock.toml for Python {platform.python_version()} on Linux x86_64 (for "
            "example `uv export --format pylock.toml`), or fix the entry named.",
        ) from None
    lines, indexes = [], []
    for package, chosen in selected:
        if isinstance(chosen, PackageDirectory) and Path(chosen.path) == Path("."):
            continue
        hashes = sorted({h for archive in _archives(package) for h in _sha256(archive)})
        name = canonicalize_name(package.name)
        if package.index and package.version is not None:
            lines.append(_line(f"{name}=={package.version}", hashes))
            if package.index not in indexes:
                indexes.append(package.index)
        elif isinstance(chosen, PackageWheel | PackageSdist | PackageArchive) and chosen.url:
            lines.append(_line(f"{name} @ {chosen.url}", _sha256(chosen)))
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


def _line(requirement: str, hashes: Sequence[str]) -> str:
    return requirement + "".join(f" \\\n    --hash=sha256:{h}" for h in hashes) + "\n"


# Poetry and pipenv are not installed into the image, and micropipenv (which reads both formats for
# sclorg's builder) imports pip at import time, which the tools environment leaves out by design. The
# two formats are plain TOML and JSON with documented hash rules, checked here against locks the real
# poetry 2.5 and pipenv write (tests/lockfiles.py).


def poetry_content_hash(pyproject: Mapping[str, Any]) -> str:
    """Poetry's content-hash of pyproject.toml (poetry/packages/locker.py, as micropipenv computes
    it): the [project] dependency keys when there are any (Poetry 2), else the [tool.poetry] ones."""
    project = pyproject.get("project", {})
    poetry = pyproject.get("tool", {}).get("poetry", {})
    legacy = ("dependencies", "source", "extras", "dev-dependencies")
    relevant_project = {
        k: project[k] for k in ("requires-python", "dependencies", "optional-dependencies") if project.get(k)
    }
    relevant_poetry = {
        key: poetry.get(key)
        for key in (*legacy, "group")
        if poetry.get(key) or (key in legacy and not relevant_project)
    }
    content: dict[str, Any] = relevant_poetry
    if relevant_project:
        content = {"project": relevant_project, "tool": {"poetry": relevant_poetry}}
    return _sha(content)


def poetry_requirements(source: Path) -> tuple[str, tuple[str, ...]]:
    """The main group of a Poetry 2 lock (lock-version 2.1 records each package's groups)."""
    lock, path = _toml(source / "poetry.lock"), source / "poetry.lock"
    metadata = lock.get("metadata", {})
    if metadata.get("content-hash") != poetry_content_hash(_toml(source / "pyproject.toml")):
        raise StaleLock("poetry.lock", "pyproject.toml", "poetry lock")
    if not str(metadata.get("lock-version", "")).startswith("2.") or metadata["lock-version"] == "2.0":
        raise ConfigError(
            f"{path} has lock-version {metadata.get('lock-version')!r}: the builder reads Poetry 2 "
            "locks (lock-version 2.1), which record the group of every package",
            "Run `poetry lock` with Poetry 2 and commit the new poetry.lock.",
        )
    lines, indexes = [], []
    for package in lock.get("package", []):
        if "main" not in package.get("groups", []):
            continue
        name, version = canonicalize_name(package["name"]), package["version"]
        markers = package.get("markers")
        marker = markers.get("main") if isinstance(markers, dict) else markers
        hashes = [f["hash"].removeprefix("sha256:") for f in package.get("files", [])]
        kind = package.get("source", {}).get("type")
        if kind not in (None, "legacy") or not hashes:
            raise ConfigError(
                f"{path}: package {name} comes from a {kind or 'source without file hashes'}, which "
                "cannot be installed hash-checked",
                "Publish it to an index named in [[tool.poetry.source]] and run `poetry lock`.",
            )
        if kind == "legacy" and package["source"]["url"] not in indexes:
            indexes.append(package["source"]["url"])
        lines.append(_line(f"{name}=={version}" + (f" ; {marker}" if marker else ""), hashes))
    return "".join(lines), tuple(indexes)


def pipfile_hash(pipfile: Mapping[str, Any]) -> str:
    """Pipenv's _meta.hash of a Pipfile (pipenv/project.py, as micropipenv computes it)."""
    data = {
        "_meta": {"requires": pipfile.get("requires", {}), "sources": pipfile.get("source", [])},
        "default": pipfile.get("packages", {}),
        "develop": pipfile.get("dev-packages", {}),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def pipfile_requirements(source: Path) -> tuple[str, tuple[str, ...]]:
    """The `default` section of Pipfile.lock (the `develop` one is for development)."""
    lock, path = _json(source / "Pipfile.lock"), source / "Pipfile.lock"
    meta = lock.get("_meta", {})
    if meta.get("hash", {}).get("sha256") != pipfile_hash(_toml(source / "Pipfile")):
        raise StaleLock("Pipfile.lock", "Pipfile", "pipenv lock")
    sources = {s.get("name"): s.get("url") for s in meta.get("sources", [])}
    lines, indexes = [], []
    for name, entry in lock.get("default", {}).items():
        version, hashes = entry.get("version", ""), entry.get("hashes", [])
        if not version.startswith("==") or not hashes:
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
        lines.append(_line(requirement, [h.removeprefix("sha256:") for h in hashes]))
    return "".join(lines), tuple(indexes)


# --- indexes and the wrapper --------------------------------------------------------------------------


def indexes(
    locked: Sequence[str], index_url: str | None, extra: Sequence[str]
) -> tuple[str | None, tuple[str, ...]]:
    """The index settings for installing a lock: the configured default index (pip.conf) stays the
    default; otherwise the lock's first index is. The lock's indexes come before EXTRA_INDEX_URL. A
    lock URL that a configured URL spells with credentials is used in the configured spelling (the
    netrc route needs none of this)."""
    configured = {_bare(u): u for u in (index_url or "", *extra) if u}
    named = [configured.get(_bare(u), u) for u in locked]
    default = index_url or (named[0] if named else None)
    extras: list[str] = []
    for url in [*named, *extra]:
        if url != default and url not in extras:
            extras.append(url)
    return default, tuple(extras)


def _bare(url: str) -> str:
    try:
        return credentials.IndexUrl.parse(url).public().rstrip("/")
    except ValueError:
        return url.rstrip("/")


def check_wrapper(
    lock: Lock,
    locked: Locked,
    pins: Mapping[str, depfiles.Pin],
    pins_file: str,
    environment: Sequence[Path] = (),
) -> None:
    """A locked version that the wrapper's pins exclude, or that a requirement of a package in the
    builder's environment excludes (seldon-core's own Flask<3, ...), fails now, naming both sides,
    before any download. `environment`: the site-packages folders of the builder's environment."""
    sides = []
    for name, pin in pins.items():
        version = locked.versions.get(name)
        if version is not None and not pin.requirement.specifier.contains(version, prereleases=True):
            wrapper = f"{pin.requirement} ({pin.why})" if pin.why else str(pin.requirement)
            sides.append((f"{name}=={version} ({lock.file})", wrapper))
    named = {user for user, _ in sides}
    sides += [side for side in broken_requirements(environment, locked, lock.file) if side[0] not in named]
    if sides:
        raise LockConflict(sides, lock.file, lock.fix, pins_file)


def broken_requirements(environment: Sequence[Path], locked: Locked, lock_file: str) -> list[tuple[str, str]]:
    """Requirements of the environment's packages that a locked version breaks. Packages the lock
    replaces bring their own requirements (the lock resolved them). A requirement the environment
    does not meet today is one the builder overrides on purpose (its pins win over the wrapper's
    metadata), so it is not held against the lock either."""
    dists = list(metadata.distributions(path=[str(p) for p in environment])) if environment else []
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in dists if d.metadata["Name"]}
    sides = []
    for dist in dists:
        owner = dist.metadata["Name"]
        if not owner or canonicalize_name(owner) in locked.versions:
            continue
        for line in dist.requires or []:
            try:
                requirement = Requirement(line)
                if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                    continue
            except (InvalidRequirement, UndefinedEnvironmentName):
                continue
            name = canonicalize_name(requirement.name)
            version, current = locked.versions.get(name), installed.get(name)
            if version is None or requirement.specifier.contains(version, prereleases=True):
                continue
            if current is not None and not requirement.specifier.contains(current, prereleases=True):
                continue
            sides.append(
                (f"{name}=={version} ({lock_file})", f"{requirement} (required by {owner} {dist.version})")
            )
    return sides


def held(installed: Mapping[str, str], pins: Mapping[str, depfiles.Pin], locked: Locked) -> list[str]:
    """The wrapper's packages the lock does not name, held at their installed versions (hash-checking
    mode wants constraints pinned with ==)."""
    return [f"{n}=={installed[n]}" for n in pins if n in installed and n not in locked.versions]


# --- small helpers -----------------------------------------------------------------------------------------


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", "Fix the file (the message names the line)."
        ) from None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}", "Run `pipenv lock` to rewrite it.") from None
    return data if isinstance(data, dict) else {}


def _sha(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
