"""Lock files decide what is installed: exactly the locked versions, every file hash-checked.

Every format becomes the same install input before anything is downloaded: a requirements file with
`name==version --hash=...` on every line, plus the index URLs the lock names. Each installer (uv or
pip) then installs that file in hash-checking mode, beside the wrapper's environment. A lock is
current when the tool that wrote it says so, by that tool's own rule; each format has its module
(builders/lockformats/), and this one keeps the precedence between them and the dispatch:

    uv.lock       lockformats/uv.py: `uv export --locked`, uv's own check against pyproject.toml,
                  run offline first (a stale lock fails before any package is downloaded)
    pylock.toml   lockformats/pylock.py: PEP 751, read with packaging.pylock (no inputs recorded)
    poetry.lock   lockformats/poetry.py: Poetry's content-hash, by the release that wrote the lock
    Pipfile.lock  lockformats/pipenv.py: pipenv's _meta.hash, with plette (pipenv's Pipfile library)

Why an export and not `uv sync`: sync makes the environment exactly the lock, so it would remove the
wrapper (seldon-core is in no user's lock), and it knows nothing of the wrapper's pins. An export
installed with `uv pip install --require-hashes` keeps the wrapper, honours its pins, works the same
for INSTALLER=pip, and still lets wheels at /whl win where their hashes match the lock's.

Precedence (one documented rule, no silent choice): one lock file decides the Python packages;
requirements.txt / requirements.in beside it are not installed (a log line says so); two lock files,
a lock beside environment.yml, or a Pipfile without its Pipfile.lock stop the build with an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from builders import credentials
from builders import deps as depfiles
from builders.errors import ConfigError
from builders.lockformats import pipenv, poetry, pylock
from builders.lockformats import uv as uv_lock
from builders.readers import read_toml

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
    data = read_toml(source / "pyproject.toml")
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
    """Check `lock` against its project file by the writing tool's rule and write its default
    dependencies as hashed requirements, with the format's own module. Nothing is downloaded: every
    check is offline (see builders/lockformats/uv.py for the one exception)."""
    output = scratch / f"{lock.file}.requirements.txt"
    if lock.file == "uv.lock":
        text, indexes = uv_lock.export(source, uv, python, env, output)
    elif lock.file == "pylock.toml":
        text, indexes = pylock.requirements(source / "pylock.toml")
    elif lock.file == "poetry.lock":
        text, indexes = poetry.requirements(source)
    else:
        text, indexes = pipenv.requirements(source)
    output.write_text(text, encoding="utf-8")
    return Locked(output, depfiles.locked_versions(text), indexes)


# --- indexes --------------------------------------------------------------------------------------


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
