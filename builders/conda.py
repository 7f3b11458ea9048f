"""Conda environments: `environment.yml` / `environment.yaml`, solved and installed with py-rattler.

    read() -> EnvironmentFile (validated, before any slow step) -> decide() -> CondaPlan
    install(): solve for linux-64 + noarch from the file's channels, link into the prefix
    (run time: builders/conda_runtime.py activates the prefix for `run` and the import check)

Two shapes, decided by `decide()` from the file alone:
- no `python` in the dependencies: the conda prefix (/opt/app-root/conda) is layered onto the
  application virtualenv: its bin/ on PATH, its lib/ on LD_LIBRARY_PATH, CONDA_PREFIX set. The `pip:`
  section goes into the virtualenv like requirements.txt.
- `python` pinned: the conda environment becomes the application environment; seldon-core and the
  wrapper pins are installed into it with `uv pip install --python <prefix>/bin/python`, and `run`
  serves from <prefix>/bin.

conda-pack is not used: the prefix is installed at the fixed path it runs from, in the image that
runs it, so nothing needs relocating.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml

from builders import log
from builders.errors import ConfigError, StepError
from builders.layout import Layout

if TYPE_CHECKING:
    from rattler import RepoDataRecord

FILES = ("environment.yml", "environment.yaml")
PLATFORMS: tuple[Literal["linux-64", "noarch"], ...] = ("linux-64", "noarch")
_NAME = re.compile(r"^\s*(?:[^:\s]+::)?([A-Za-z0-9_][A-Za-z0-9_.\-]*)")
_EXAMPLE = "channels:\n  - conda-forge\ndependencies:\n  - libsndfile=1.2\n  - pip:\n      - tabulate==0.9.0"


@dataclass(frozen=True)
class EnvironmentFile:
    filename: str
    name: str | None
    channels: tuple[str, ...]
    specs: tuple[str, ...]  # conda match specs
    pip: tuple[str, ...] = ()  # the `pip:` section, requirement lines
    ignored: tuple[str, ...] = ()  # top-level keys the builder does not use

    @property
    def pins_python(self) -> bool:
        return any(spec_name(s) == "python" for s in self.specs)


@dataclass(frozen=True)
class CondaPlan:
    prefix: Path
    app_environment: bool  # the conda environment is the application environment (python pinned)
    python: Path  # the interpreter the pip section, requirements and the import check use
    app_root: Path  # where seldon-core-microservice is found, under bin/


def spec_name(spec: str) -> str:
    """The package name of a match spec: `python` for `python=3.11`, `conda-forge::python >=3.11`."""
    match = _NAME.match(spec)
    return match.group(1).lower() if match else ""


def find(source: Path) -> str | None:
    found = [n for n in FILES if (source / n).is_file()]
    if len(found) > 1:
        raise ConfigError(
            f"{source} has both environment.yml and environment.yaml: the builder will not pick one",
            "Keep one conda environment file and delete the other.",
        )
    return found[0] if found else None


def _fail(filename: str, what: str, tip: str = "") -> ConfigError:
    return ConfigError(f"{filename}: {what}", tip or f"A conda environment file looks like this:\n{_EXAMPLE}")


def parse(text: str, filename: str) -> EnvironmentFile:
    """Parse and validate an environment file's text. Pure: the unit tests hold a table of cases."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _fail(filename, f"is not valid YAML{line}: {problem}") from None
    if not isinstance(data, dict):
        raise _fail(filename, f"must be a mapping with `channels` and `dependencies`, not {data!r}")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise _fail(filename, f"`name` must be a string, not {name!r}")
    channels = _channels(data.get("channels"), filename)
    specs, pip = _dependencies(data.get("dependencies"), filename)
    ignored = tuple(sorted(str(k) for k in data if k not in ("name", "channels", "dependencies")))
    return EnvironmentFile(filename, name, channels, specs, pip, ignored)


def _channels(channels: object, filename: str) -> tuple[str, ...]:
    if not channels or not isinstance(channels, list):
        raise _fail(
            filename,
            f"`channels` must be a non-empty list of channel names or URLs, not {channels!r}",
            "List the channels to solve from (the builder has no default channel), for example:\n"
            "channels:\n  - conda-forge",
        )
    for channel in channels:
        if not isinstance(channel, str) or not channel.strip():
            raise _fail(filename, f"channel {channel!r} in `channels` is not a channel name or URL")
    return tuple(c.strip() for c in channels)


def _dependencies(raw: object, filename: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`dependencies`: conda match specs, and the requirement lines of at most one `pip:` list."""
    if not isinstance(raw, list):
        raise _fail(filename, f"`dependencies` must be a list of conda match specs, not {raw!r}")
    specs: list[str] = []
    pip: list[str] = []
    for item in raw:
        if isinstance(item, str) and item.strip():
            specs.append(item.strip())
        elif isinstance(item, dict) and set(item) == {"pip"} and isinstance(item["pip"], list):
            for line in item["pip"]:
                if not isinstance(line, str) or not line.strip():
                    raise _fail(filename, f"`pip:` entry {line!r} in `dependencies` is not a requirement")
                pip.append(line.strip())
        else:
            raise _fail(
                filename,
                f"dependency {item!r} in `dependencies` is neither a conda match spec (a string) nor "
                "a `pip:` list",
                'Write each dependency as a string (quote versions: "python=3.11"), plus at most a '
                f"`- pip:` list of pip requirements. For example:\n{_EXAMPLE}",
            )
    if not specs and not pip:
        raise _fail(filename, "`dependencies` lists nothing to install")
    return tuple(specs), tuple(pip)


def read(source: Path, filename: str) -> EnvironmentFile:
    path = source / filename
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail(str(path), "is not UTF-8 text") from None
    env = parse(text, str(path))
    _check_specs(env)
    return env


def _check_specs(env: EnvironmentFile) -> None:
    """Match specs are parsed by rattler itself, so a typo fails here and not after a download."""
    from rattler import MatchSpec
    from rattler.exceptions import InvalidMatchSpecError

    for spec in env.specs:
        try:
            MatchSpec(spec)
        except InvalidMatchSpecError as exc:
            raise _fail(
                env.filename,
                f"dependency {spec!r} is not a conda match spec: {str(exc).strip()}",
                "Write conda specs as NAME, NAME=VERSION or 'NAME >=VERSION' (quotes included); pip "
                "requirement syntax (==) belongs in the `pip:` section.",
            ) from None


def decide(env: EnvironmentFile, layout: Layout) -> CondaPlan:
    """Where the environment goes and which interpreter the application uses. Pure."""
    prefix = layout.conda
    if env.pins_python:
        return CondaPlan(prefix, True, prefix / "bin" / "python", prefix)
    return CondaPlan(prefix, False, layout.python, layout.app_root)


def describe(env: EnvironmentFile, plan: CondaPlan) -> list[str]:
    """Log lines: what will be installed, where, in which order."""
    lines = [
        f"{env.filename}: conda packages {', '.join(env.specs) or 'none'} from channels "
        f"{', '.join(env.channels)} into {plan.prefix}",
        (
            f"python is pinned: {plan.prefix} becomes the application environment (seldon-core is "
            "installed into it)"
            if plan.app_environment
            else f"no python pinned: {plan.prefix} is layered onto the application environment "
            f"(PATH, LD_LIBRARY_PATH, CONDA_PREFIX)"
        ),
    ]
    if env.pip:
        lines.append(f"then its pip section into {plan.python}: {', '.join(env.pip)}")
    if env.ignored:
        lines.append(f"not used: {', '.join(env.ignored)} (the prefix is fixed at {plan.prefix})")
    return lines


def install(env: EnvironmentFile, plan: CondaPlan, cache: Path) -> list[str]:
    """Solve the file's specs for linux-64 + noarch from its channels and link them into the prefix.
    Returns `name=version=build` of every package installed. Caches live in `cache` (a scratch
    folder), so none ends up in the image."""
    from rattler.exceptions import (
        FetchRepoDataError,
        GatewayError,
        InstallerError,
        InvalidChannelError,
        IoError,
        LinkError,
        SolverError,
        TransactionError,
    )

    channels = ", ".join(env.channels)
    try:
        records = asyncio.run(_solve_and_link(env, plan, cache))
    except SolverError as exc:
        raise StepError(
            f"{env.filename}: the conda specs {', '.join(env.specs)} cannot be solved for "
            f"{'/'.join(PLATFORMS)} from channels {channels}: {_first_line(exc)}",
            "Check the package names and versions against those channels (and that the channels "
            "serve linux-64 or noarch packages); relax the version that the message names.",
        ) from None
    except (FetchRepoDataError, GatewayError, InvalidChannelError) as exc:
        raise StepError(
            f"{env.filename}: cannot read the package index of channels {channels}: {_first_line(exc)}",
            "Check the channel names or URLs in `channels` and that the build can reach them.",
        ) from None
    except (InstallerError, IoError, LinkError, TransactionError) as exc:
        raise StepError(
            f"{env.filename}: installing the conda packages into {plan.prefix} failed: {_first_line(exc)}",
            "Read the message above; a package that cannot be downloaded or unpacked is named there.",
        ) from None
    installed = sorted(f"{r.name.normalized}={r.version}={r.build}" for r in records)
    log.listing(f"+ {line}" for line in installed)
    return installed


async def _solve_and_link(env: EnvironmentFile, plan: CondaPlan, cache: Path) -> list[RepoDataRecord]:
    import rattler

    gateway = rattler.Gateway(cache_dir=cache / "repodata")
    records = await rattler.solve(
        [rattler.Channel(c) for c in env.channels],
        list(env.specs),
        gateway=gateway,
        platforms=list(PLATFORMS),
    )
    unpinned = [r for r in records if r.name.normalized == "python"]
    if unpinned and not plan.app_environment:
        raise ConfigError(
            f"{env.filename}: the conda packages need python {unpinned[0].version}, but "
            "`dependencies` does not pin python, so the builder would layer a second Python "
            "onto the application's",
            'Pin python in `dependencies` (for example "python=3.11") to make the conda '
            "environment the application environment, or install Python packages through the "
            "`pip:` section.",
        )
    await rattler.install(records, plan.prefix, cache_dir=cache / "pkgs", show_progress=False)
    return records


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500]


def pip_requirements(env: EnvironmentFile) -> str:
    """The `pip:` section as a requirements file."""
    return "".join(f"{line}\n" for line in env.pip)


def installs(env: EnvironmentFile | None, pairs: Sequence[str]) -> list[str]:
    """The install order, for the log: conda packages, the pip section, then the other files."""
    order = []
    if env is not None:
        name = Path(env.filename).name
        if env.specs:
            order.append(f"{name} conda packages")
        if env.pip:
            order.append(f"{name} pip section")
    return order + list(pairs)
