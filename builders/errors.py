"""The one exception tree of the builders package.

Every error carries structured fields and renders its own message: `what` says what happened (naming
the file, variable and value), `tip` says what to do. Only `builders.__main__` prints them and picks the
exit code: 2 for bad configuration, 1 for a failed build step.
"""

from __future__ import annotations


class BuilderError(Exception):
    """Base class. `exit_code` is what `python -m builders` (or `builders.host`) exits with."""

    exit_code = 1

    def __init__(self, what: str, tip: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.tip = tip

    def __str__(self) -> str:
        return self.what


class ConfigError(BuilderError):
    """The source folder or the build environment is wrong; nothing slow has run yet."""

    exit_code = 2


class EnvironmentFileError(ConfigError):
    """A line of `.s2i/environment` cannot be parsed."""

    def __init__(self, path: str, lineno: int, line: str) -> None:
        super().__init__(
            f"{path} line {lineno}: {line.strip()!r} is not a KEY=VALUE assignment",
            "Write one KEY=VALUE per line (for example MODEL_NAME=MyModel); lines starting with # are "
            "comments.",
        )
        self.path = path
        self.lineno = lineno


class InvalidValueError(ConfigError):
    """A variable holds a value the builder does not accept."""

    def __init__(self, key: str, value: str, allowed: str, source: str) -> None:
        super().__init__(
            f"{key}={value!r} (from {source}) is not valid: allowed values are {allowed}",
            f"Set {key} in .s2i/environment or with `-e {key}=...` to one of: {allowed}.",
        )
        self.key = key
        self.value = value


class ComponentError(ConfigError):
    """The user's component class cannot be found, imported, or lacks a method."""


class DependenciesChanged(BuilderError):
    """`assemble --in-place`: the previous image's dependencies do not fit this source. Not a
    failure of the build: `python -m builders.host --incremental` then builds the usual way."""

    exit_code = 3


class StepError(BuilderError):
    """A build step (an installer, a copy, a hook) failed."""


class CommandError(StepError):
    """A subprocess exited non-zero."""

    def __init__(self, argv: list[str], returncode: int, output_tail: str, tip: str = "") -> None:
        shown = " ".join(argv)
        super().__init__(
            f"`{shown}` exited with status {returncode}"
            + (f"; its last output was:\n{output_tail}" if output_tail else ""),
            tip or "Read the command's output above; the first error it printed is usually the cause.",
        )
        self.argv = argv
        self.returncode = returncode
        self.output_tail = output_tail


class DockerUnavailable(StepError):
    """The Docker engine does not answer (not installed, stopped, or not ours to reach)."""

    def __init__(self, command: str, detail: str) -> None:
        super().__init__(
            f"the Docker engine does not answer `{command} version`: {detail}",
            "Start dockerd (`make docker` installs and starts one here), or point DOCKER_HOST at a "
            "running engine, then build again.",
        )


class WrapperConflict(StepError):
    """The application's requirements contradict the pins that keep the seldon-core wrapper working."""

    def __init__(self, sides: list[tuple[str, str]], explanation: str, pins_file: str, wrapper: str) -> None:
        what = "the application's dependencies conflict with the seldon-core wrapper's pins: " + "; ".join(
            f"{user} contradicts the builder's pin {wrapper}" for user, wrapper in sides
        )
        if explanation:
            what += f". The resolver says: {explanation}"
        super().__init__(
            what,
            f"Relax each requirement so that it allows the pinned version (the pins are in {pins_file} "
            f"and keep {wrapper} serving), or drop it and let the wrapper's version be used.",
        )
        self.sides = sides


class PythonMismatch(ConfigError):
    """The source asks for a Python this image does not have (builders/python_version.py)."""

    def __init__(self, unmet: list[str], python: str, fit: list[str], pythons: list[str]) -> None:
        super().__init__(
            f"{' and '.join(unmet)} excludes this image's Python {python}",
            (
                f"Use {' or '.join(fit)}: its Python fits. "
                if fit
                else f"No builder image has a Python that fits (they have Python {', '.join(pythons)}). "
            )
            + "Or change the constraint so that it allows Python "
            + ".".join(python.split(".")[:2])
            + ".",
        )
        self.python = python
        self.fit = fit


class PythonRefused(StepError):
    """A requirement needs a newer (or older) Python than the image's: no pin of the wrapper is the cause."""

    def __init__(self, requirement: str, needs: str, python: str, fit: list[str]) -> None:
        minor = ".".join(python.split(".")[:2])
        super().__init__(
            f"{requirement} needs Python {needs}, and this image runs Python {python}: the installer "
            "found no release of it for this Python",
            (f"Use {' or '.join(fit)}, " if fit else "")
            + f"or relax the requirement to a release that supports Python {minor}.",
        )
        self.requirement = requirement
        self.needs = needs


# --- lock files (builders/locks.py) ---------------------------------------------------------------


class StaleLock(ConfigError):
    """A lock file no longer matches the project file it was made from."""

    def __init__(self, lock: str, project_file: str, fix: str, detail: str = "") -> None:
        super().__init__(
            f"{lock} is out of date: it no longer matches {project_file}"
            + (f" ({detail})" if detail else ""),
            f"Run `{fix}` in the project folder and commit the new {lock}; the build installs "
            "exactly what the lock says, never a fresh resolution.",
        )
        self.lock = lock


class LockConflict(WrapperConflict):
    """A lock pins a package the wrapper needs at a version its pins exclude."""

    def __init__(
        self, sides: list[tuple[str, str]], lock: str, fix: str, pins_file: str, wrapper: str
    ) -> None:
        super().__init__(sides, "", pins_file, wrapper)
        self.tip = (
            f"Change the requirement in the project file so that it allows the builder's version, "
            f"run `{fix}`, and rebuild (the pins are in {pins_file} and keep {wrapper} serving)."
        )
