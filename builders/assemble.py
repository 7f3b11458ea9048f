"""assemble: source folder + configuration -> an application image, one logged step at a time.

    config.load() -> plan() -> [copy source, requirements, project, check class] -> manifest

Everything cheap is validated before anything slow: the configuration, the model file, and a static
look at the component class all fail within a second of the build starting.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from builders import (
    __version__,
    component,
    conda,
    config,
    incremental,
    install,
    installers,
    locks,
    proc,
    sbom,
)
from builders import deps as depfiles
from builders.errors import ConfigError, DependenciesChanged
from builders.layout import IMAGE, Layout


@dataclass(frozen=True)
class Plan:
    """The dependency files found in the source, and which of them will be installed, in order."""

    found: tuple[str, ...]
    requirements: str | None  # requirements.txt, or requirements.in to compile first
    project: str | None
    skipped: tuple[tuple[str, str], ...] = ()
    environment: conda.EnvironmentFile | None = None  # environment.yml / .yaml, parsed and validated
    includes: tuple[str, ...] = ()  # files the requirements file pulls in with -r/-c
    hashes: bool = False  # --hash lines: hash-checking mode
    notes: tuple[str, ...] = ()
    lock: locks.Lock | None = None  # lock files (builders/locks.py): the lock decides the installed set

    @property
    def compile(self) -> bool:
        return self.requirements == "requirements.in"

    def order(self) -> list[str]:
        """What is installed, in order: conda packages, the pip section, requirements, project."""
        steps = [self.lock.title] if self.lock else []  # lock files (builders/locks.py)
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


def plan(source: Path) -> Plan:
    """Decide what to install. Every file present is used; nothing is silently ignored."""
    names = ("requirements.txt", "requirements.in", "setup.py", "pyproject.toml", *conda.FILES, *locks.FILES)
    found = tuple(n for n in names if (source / n).is_file())
    conda_file = conda.find(source)
    environment = conda.read(source, conda_file) if conda_file else None
    skipped: list[tuple[str, str]] = []
    notes: list[str] = []
    project = None
    if "setup.py" in found:
        project = "setup.py"
        if "pyproject.toml" in found:
            notes.append("setup.py and pyproject.toml describe one project: it is installed once")
    elif "pyproject.toml" in found:
        if _is_project(source / "pyproject.toml"):
            project = "pyproject.toml"
        else:
            skipped.append(("pyproject.toml", "it has no [project] or [build-system] table"))
    requirements = None
    if "requirements.txt" in found:
        requirements = "requirements.txt"
        if "requirements.in" in found:
            notes.append(
                "requirements.in is the source of requirements.txt: requirements.txt is installed as "
                "it is (recompile it to change what gets installed)"
            )
    elif "requirements.in" in found:
        requirements = "requirements.in"
    included: list[Path] = depfiles.includes(source / requirements) if requirements else []
    missing = [p for p in included if not p.is_file()]
    if missing:
        raise ConfigError(
            f"{source / str(requirements)} includes {_relative(missing[0], source)} (with -r or -c), "
            "and there is no such file",
            "Paths after -r/-c are relative to the file that names them; add the file to the source "
            "folder or fix the path.",
        )
    without_lock = Plan(
        found=found,
        requirements=requirements,
        project=project,
        skipped=tuple(skipped),
        environment=environment,
        includes=tuple(_relative(p, source) for p in included),
        # a compiled requirements.in carries no hashes: hash-checking applies to requirements.txt only
        hashes=requirements == "requirements.txt"
        and depfiles.uses_hashes([source / "requirements.txt", *included]),
        notes=tuple(notes),
    )
    return locks.decide(source, without_lock)  # lock files (builders/locks.py): a lock wins, or a clear error


def _relative(path: Path, source: Path) -> str:
    return os.path.relpath(path, source.resolve())


def _is_project(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}",
            "Fix the file; `python -m tomllib` style errors name the line.",
        ) from None
    return "project" in data or "build-system" in data


def assemble(environ: Mapping[str, str], layout: Layout = IMAGE, in_place: bool = False) -> None:
    """`in_place`: this runs in the previous image of the same application (the fast path of
    `build --incremental`); only the code is replaced, and only when the dependencies are unchanged."""
    os.umask(0o002)  # group 0 must be able to write: OpenShift runs images with arbitrary UIDs
    with proc.step(f"Reading configuration (builder {__version__})"):
        cfg = config.load(layout.source, environ)
        for notice in cfg.notices:
            proc.log(f"     NOTICE {notice}")
        proc.log(
            f"     MODEL_NAME={cfg.model_name} SERVICE_TYPE={cfg.service_type.value} "
            f"INSTALLER={cfg.installer} PAYLOAD_PASSTHROUGH={str(cfg.payload_passthrough).lower()}"
        )
        component.check_source(config.module_file(layout.source, cfg), cfg)
        deps = plan(layout.source)
        proc.log(f"     dependency files found: {', '.join(deps.found) or 'none'}")
        for name, why in deps.skipped:
            proc.log(f"     not installing {name}: {why}")
        for note in deps.notes:
            proc.log(f"     {note}")
        conda_plan = conda.decide(deps.environment, layout) if deps.environment else None
        if deps.environment and conda_plan:
            for line in conda.describe(deps.environment, conda_plan):
                proc.log(f"     {line}")
        order = deps.order()
        if order:
            numbered = [f"{n}. {step}" for n, step in enumerate(order, start=1)]
            proc.log(f"     install order: {', '.join(numbered)}")
        if depfiles.redactions(cfg.extra_index_urls):
            proc.log(
                "     WARNING EXTRA_INDEX_URL carries a password, and s2i keeps every -e value in the "
                "output image's configuration (`docker inspect` shows it). Inject credentials instead: "
                f"a netrc file or pip.conf in a folder passed with `-i ./secrets:{layout.secrets}`, "
                "and EXTRA_INDEX_URL without user:password."
            )

    deps_fingerprint = incremental.fingerprint(layout.source, cfg, layout, whole_tree=bool(deps.project))
    reused = False
    if in_place:
        with proc.step("Comparing dependencies with the previous image's"):
            _require_same_dependencies(layout, deps_fingerprint)
            _empty(layout.app_dir)
            reused = True
    elif layout.artifacts.is_dir():
        with proc.step(f"Looking for reusable dependencies in {layout.artifacts}"):
            reused = incremental.restore(layout, deps_fingerprint)
            proc.log(
                f"     dependencies unchanged ({deps_fingerprint[:12]}): reused the previous image's, "
                "no resolver, no download"
                if reused
                else "     dependency inputs changed or no previous environment: installing afresh"
            )

    with proc.step(f"Copying source from {layout.source} to {layout.app_dir}"):
        shutil.copytree(layout.source, layout.app_dir, symlinks=True, dirs_exist_ok=True)

    if not reused:
        with tempfile.TemporaryDirectory(prefix="s2i-build-") as scratch:
            install.install(cfg, deps, layout, environ, Path(scratch), conda_plan)

    python = conda_plan.python if conda_plan else layout.python
    conda_prefix = str(conda_plan.prefix) if conda_plan else None
    with proc.step(f"Checking that {cfg.model_name} imports and serves {cfg.service_type.value}"):
        # the interpreter and search paths the server will have (conda's bin/ and lib/ included)
        methods = component.check_import(
            str(python), layout.app_dir, cfg, env=conda.activate(conda_prefix, environ)
        )
        proc.log(f"     {cfg.class_name} provides: {', '.join(methods)}")
        score_adapter = component.needs_score_adapter(cfg, methods)
        if score_adapter:
            proc.log(
                f"     {cfg.class_name} has score() and no transform_input(): /transform-input passes "
                "the request through and adds the scores as meta.tags.outlierScore"
            )

    with proc.step(f"Recording installed packages in {layout.lock}"):
        # No cache: uv would otherwise leave one in HOME (the app folder), and so in the image.
        no_cache = {**environ, "UV_NO_CACHE": "1", "PIP_NO_CACHE_DIR": "1"}
        freeze = installers.freeze(cfg.installer, str(layout.uv), str(python))
        frozen = proc.run(freeze, env=no_cache, quiet=True)
        layout.lock.write_text(frozen.strip() + "\n", encoding="utf-8")
        proc.log(f"     {len(frozen.splitlines())} packages installed")
    target = layout.app_root / sbom.PATH.name  # the SBOM (builders/sbom.py)
    with proc.step(f"Writing the SBOM (CycloneDX JSON) to {target}"):
        app_env = conda_plan.app_root if conda_plan else layout.app_root
        count = sbom.write([incremental.site_packages(app_env)], cfg.model_name, target)
        proc.log(f"     {count} components, the wrapper included; the image label {sbom.LABEL} names it")
    (layout.app_root / incremental.FINGERPRINT).write_text(deps_fingerprint + "\n", encoding="utf-8")

    layout.manifest.write_text(
        json.dumps(
            {
                "builder_version": __version__,
                "model_name": cfg.model_name,
                "service_type": cfg.service_type.value,
                "wrapper_service_type": cfg.service_type.wrapper_name,
                "payload_passthrough": cfg.payload_passthrough,
                "persistence": cfg.persistence,
                "score_adapter": score_adapter,
                "conda": conda_plan.manifest() if conda_plan else None,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    _make_group_writable(layout.app_root)
    shutil.rmtree(layout.source, ignore_errors=True)  # keeps the committed layer small under s2i
    proc.log(f"---> Build of {cfg.model_name} complete")


def _require_same_dependencies(layout: Layout, current: str) -> None:
    recorded = layout.app_root / incremental.FINGERPRINT
    previous = recorded.read_text(encoding="utf-8").strip() if recorded.is_file() else ""
    if previous != current:
        raise DependenciesChanged(
            f"dependency inputs changed ({previous[:12] or 'none recorded'} -> {current[:12]}): "
            "the previous image's environment cannot be reused in place"
        )
    proc.log(f"     dependencies unchanged ({current[:12]}): replacing the code only")


def _empty(directory: Path) -> None:
    """Files the new source no longer has must not survive from the previous build."""
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _make_group_writable(root: Path) -> None:
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                continue
            mode = os.stat(path).st_mode
            extra = 0o070 if os.path.isdir(path) else (0o060 | (0o010 if mode & 0o100 else 0))
            if mode & extra != extra:
                try:
                    os.chmod(path, mode | extra)
                except PermissionError:
                    pass  # files the builder image installed as another owner stay as they are
