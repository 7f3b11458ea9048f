"""What a source folder asks to install, decided once, before anything slow: the `Plan`.

    source folder -> plan() -> Plan: the dependency files found, which are installed and in what
    order, the conda decision (where environment.yml goes, which Python the application uses)

Every file present is used or named with the reason it is not; nothing is silently ignored. assemble
logs `Plan.report()`, dependencies.py carries the plan out, incremental.py fingerprints its inputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from builders import conda, deps, locks, python_version
from builders.errors import ConfigError
from builders.layout import IMAGE, Layout
from builders.readers import read_toml

REQUIREMENTS = ("requirements.txt", "requirements.in")
PROJECT = ("setup.py", "pyproject.toml")


@dataclass(frozen=True)
class Plan:
    """The dependency files found in the source, and which of them will be installed, in order."""

    found: tuple[str, ...]
    requirements: str | None  # requirements.txt, or requirements.in to compile first
    project: str | None
    python: Path  # the interpreter everything is installed into and the server runs
    skipped: tuple[tuple[str, str], ...] = ()
    environment: conda.EnvironmentFile | None = None  # environment.yml / .yaml, parsed and validated
    conda: conda.CondaPlan | None = None  # where that environment goes, decided once
    includes: tuple[str, ...] = ()  # files the requirements file pulls in with -r/-c
    hashes: bool = False  # --hash lines: hash-checking mode
    notes: tuple[str, ...] = ()
    lock: locks.Lock | None = None  # a lock file decides the installed set (builders/locks.py)

    @property
    def compile(self) -> bool:
        return self.requirements == "requirements.in"

    @property
    def conda_prefix(self) -> str | None:
        return str(self.conda.prefix) if self.conda else None

    @property
    def installs_anything(self) -> bool:
        return bool(self.requirements or self.project or self.environment or self.lock)

    def order(self) -> list[str]:
        """What is installed, in order: conda packages, the pip section, requirements, project."""
        steps = [self.lock.title] if self.lock else []
        if self.requirements:
            detail = [f"with {', '.join(self.includes)}"] if self.includes else []
            if self.compile:
                detail.insert(0, "compiled to pinned requirements first")
            if self.hashes:
                detail.append("hash-checking mode")
            steps.append(self.requirements + (f" ({'; '.join(detail)})" if detail else ""))
        if self.project:
            steps.append(f"the project ({self.project})")
        return conda.installs(self.environment, steps)

    def report(self) -> list[str]:
        """The log lines that say what was found, what is used, what is not, and the order."""
        lines = [f"dependency files found: {', '.join(self.found) or 'none'}"]
        lines += [f"not installing {name}: {why}" for name, why in self.skipped]
        lines += list(self.notes)
        if self.environment and self.conda:
            lines += conda.describe(self.environment, self.conda)
        numbered = [f"{n}. {step}" for n, step in enumerate(self.order(), start=1)]
        if numbered:
            lines.append(f"install order: {', '.join(numbered)}")
        return lines


def plan(source: Path, layout: Layout = IMAGE) -> Plan:
    """Decide what to install. Raises ConfigError for what can be seen to be wrong without a download."""
    names = (*REQUIREMENTS, *PROJECT, *conda.FILES, *locks.FILES)
    found = tuple(n for n in names if (source / n).is_file())
    conda_file = conda.find(source)
    environment = conda.read(source, conda_file) if conda_file else None
    conda_plan = conda.decide(environment, layout) if environment else None
    # the Python the source asks for, unless a conda environment brings its own
    python_notes = (
        [] if conda_plan and conda_plan.app_environment else python_version.check(source, layout.builders)
    )
    project, skipped, notes = _project(source, found)
    notes = python_notes + notes
    requirements = next((n for n in REQUIREMENTS if n in found), None)
    if requirements == "requirements.txt" and "requirements.in" in found:
        notes.append(
            "requirements.in is the source of requirements.txt: requirements.txt is installed as "
            "it is (recompile it to change what gets installed)"
        )
    included = _includes(source, requirements)
    without_lock = Plan(
        found=found,
        requirements=requirements,
        project=project,
        python=conda_plan.python if conda_plan else layout.python,
        skipped=tuple(skipped),
        environment=environment,
        conda=conda_plan,
        includes=tuple(_relative(p, source) for p in included),
        # a compiled requirements.in carries no hashes: hash-checking applies to requirements.txt only
        hashes=requirements == "requirements.txt"
        and deps.uses_hashes([source / "requirements.txt", *included]),
        notes=tuple(notes),
    )
    # a lock wins over the files above, or the files contradict each other (builders/locks.py)
    environment_file = environment.filename if environment else None
    decided = locks.decide(source, found, environment_file, project)
    if decided is None:
        return without_lock
    return replace(
        without_lock,
        lock=decided.lock,
        requirements=None,
        includes=(),
        hashes=False,
        project=decided.project,
        skipped=without_lock.skipped + decided.skipped,
    )


def _project(source: Path, found: tuple[str, ...]) -> tuple[str | None, list[tuple[str, str]], list[str]]:
    """setup.py, or a pyproject.toml that describes a project; and why a pyproject.toml is not one."""
    if "setup.py" in found:
        notes = ["setup.py and pyproject.toml describe one project: it is installed once"]
        return "setup.py", [], notes if "pyproject.toml" in found else []
    if "pyproject.toml" not in found:
        return None, [], []
    if _is_project(source / "pyproject.toml"):
        return "pyproject.toml", [], []
    return None, [("pyproject.toml", "it has no [project] or [build-system] table")], []


def _includes(source: Path, requirements: str | None) -> list[Path]:
    included = deps.includes(source / requirements) if requirements else []
    missing = [p for p in included if not p.is_file()]
    if missing:
        raise ConfigError(
            f"{source / str(requirements)} includes {_relative(missing[0], source)} (with -r or -c), "
            "and there is no such file",
            "Paths after -r/-c are relative to the file that names them; add the file to the source "
            "folder or fix the path.",
        )
    return included


def _relative(path: Path, source: Path) -> str:
    return os.path.relpath(path, source.resolve())


def _is_project(path: Path) -> bool:
    data = read_toml(path)
    return "project" in data or "build-system" in data
