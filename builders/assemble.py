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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.requirements import Requirement

from builders import __version__, component, conda, config, incremental, installers, proc
from builders import deps as depfiles
from builders.errors import CommandError, ConfigError, DependenciesChanged, StepError, WrapperConflict
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

    @property
    def compile(self) -> bool:
        return self.requirements == "requirements.in"

    def order(self) -> list[str]:
        """What is installed, in order: conda packages, the pip section, requirements, project."""
        steps = []
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
    names = ("requirements.txt", "requirements.in", "setup.py", "pyproject.toml", *conda.FILES)
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
    return Plan(
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
        if deps.order():
            numbered = [f"{n}. {step}" for n, step in enumerate(deps.order(), start=1)]
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
            _install(cfg, deps, layout, environ, Path(scratch), conda_plan)

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


def _install(
    cfg: config.BuildConfig,
    deps: Plan,
    layout: Layout,
    environ: Mapping[str, str],
    scratch: Path,
    conda_plan: conda.CondaPlan | None = None,
) -> None:
    constraints = []
    find_links: list[str] = []
    pins = installers.wheel_pins(layout.wheels) if layout.wheels.is_dir() else []
    if pins:
        pinned = scratch / "wheel-pins.txt"
        pinned.write_text("\n".join(pins) + "\n", encoding="utf-8")
        constraints.append(str(pinned))
        find_links.append(str(layout.wheels))
        proc.log(f"---> Using {len(pins)} wheels from {layout.wheels} before any index")
    env = dict(environ)
    env.update(UV_CACHE_DIR=str(scratch / "uv-cache"), UV_LINK_MODE="copy", UV_PYTHON_DOWNLOADS="never")
    injected = _injected_credentials(cfg, layout, env)
    base = installers.InstallRequest(
        python=str(conda_plan.python if conda_plan else layout.python),
        requirement_files=(str(layout.wrapper),),
        constraint_files=tuple(constraints),
        find_links=tuple(find_links),
        index_url=injected.index_url,
        extra_index_urls=cfg.extra_index_urls + injected.extra_index_urls,
        trusted_hosts=cfg.trusted_hosts + injected.trusted_hosts,
    )
    secrets = depfiles.redactions(base.extra_index_urls + (base.index_url or "",)) + list(injected.secrets)
    uv = str(layout.uv)
    if deps.environment and conda_plan:
        # first: with a pinned python, the interpreter everything else goes into comes from here
        _install_conda(cfg, deps.environment, conda_plan, layout, base, env, secrets, scratch)
    before = proc.run(installers.freeze("uv", uv, base.python), env=env, quiet=True)
    wrapper = _Wrapper(layout, before)
    if deps.requirements:
        user_file = layout.app_dir / deps.requirements
        user_requirements = depfiles.requirements_of(user_file)
        if deps.compile:
            compiled = scratch / "requirements.txt"
            with proc.step(f"Compiling {deps.requirements} (pip-tools' job, done by uv)"):
                request = replace(
                    base,
                    requirement_files=(str(user_file),),
                    constraint_files=(str(layout.wrapper), *constraints),
                )
                argv = installers.uv_compile(uv, request, str(compiled))
                with wrapper.check(user_requirements):
                    proc.run(argv, env=env, cwd=layout.app_dir, redact=secrets)
                proc.log(f"     {deps.requirements} compiled to:")
                for line in compiled.read_text(encoding="utf-8").splitlines():
                    proc.log(f"       {line}")
            user_file = compiled
        with proc.step(f"Installing {deps.requirements} with {cfg.installer}"):
            if deps.hashes:
                # Hash-checking mode wants every requirement and constraint pinned with `==`, which
                # the wrapper's pins are not: they apply as the versions installed now.
                exact = scratch / "wrapper-installed.txt"
                exact.write_text("".join(f"{pin}\n" for pin in wrapper.exact()), encoding="utf-8")
                proc.log(f"     --hash found: hash-checking mode; pins held at {', '.join(wrapper.exact())}")
                request = replace(
                    base,
                    requirement_files=(str(user_file),),
                    constraint_files=(str(exact), *constraints),
                    require_hashes=True,
                )
            else:
                request = replace(base, requirement_files=(*base.requirement_files, str(user_file)))
            with wrapper.check(user_requirements):
                _install_one(cfg, layout, request, env, secrets)
    if deps.project:
        with proc.step(f"Installing the project ({deps.project}) with {cfg.installer}"):
            with wrapper.check([]):
                _install_one(cfg, layout, replace(base, packages=(str(layout.app_dir),)), env, secrets)
    if not deps.requirements and not deps.project and not deps.environment:
        proc.log("---> No dependency files: using the preinstalled seldon-core environment as is")
    after = proc.run(installers.freeze("uv", uv, base.python), env=env, quiet=True)
    added = depfiles.changes(before, after)
    proc.log(f"---> The application changed {len(added)} packages of the builder's environment:")
    for line in added:
        proc.log(f"     {line}")


@dataclass(frozen=True)
class _Credentials:
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()


def _injected_credentials(cfg: config.BuildConfig, layout: Layout, env: dict[str, str]) -> _Credentials:
    """Use what `-i ./secrets:/opt/s2i/secrets` brought, in place: nothing is copied anywhere (the
    s2i CLI truncates injected files after assemble, so a copy would be the only trace left)."""
    found = _Credentials()
    netrc = next((p for p in (layout.secrets / "netrc", layout.secrets / ".netrc") if p.is_file()), None)
    if netrc is not None:
        env["NETRC"] = str(netrc)  # read by uv and by pip (through requests)
        found = replace(found, secrets=tuple(depfiles.netrc_passwords(netrc)))
        proc.log(f"     index credentials: {netrc} (netrc), used in place")
    conf = layout.secrets / "pip.conf"
    if conf.is_file():
        try:
            parsed = depfiles.parse_pip_conf(conf.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:  # configparser errors are ValueErrors
            raise ConfigError(
                f"{conf} is not a valid pip.conf: {str(exc).splitlines()[0]}",
                "Write an INI file with a [global] section, e.g. extra-index-url = https://...",
            ) from None
        if cfg.installer == "pip":
            env["PIP_CONFIG_FILE"] = str(conf)  # pip reads the rest of it (cert, timeout...) too
        # uv reads no pip.conf: its index settings become flags (redacted in the log)
        urls = (parsed.index_url or "", *parsed.extra_index_urls)
        found = replace(
            found,
            index_url=parsed.index_url,
            extra_index_urls=parsed.extra_index_urls,
            trusted_hosts=parsed.trusted_hosts,
            secrets=found.secrets + tuple(depfiles.redactions(urls)),
        )
        proc.log(f"     index settings: {conf} (pip.conf), used in place")
    return found


class _Wrapper:
    """Turns a resolver failure caused by the wrapper's pins into an error naming both sides."""

    def __init__(self, layout: Layout, installed: str) -> None:
        self.pins_file = str(layout.wrapper)
        text = layout.wrapper.read_text(encoding="utf-8") if layout.wrapper.is_file() else ""
        self.pins = depfiles.wrapper_pins(text)
        self.installed = depfiles.locked_versions(installed)

    def exact(self) -> list[str]:
        """The wrapper's pinned packages at the versions installed now."""
        return [f"{name}=={self.installed[name]}" for name in self.pins if name in self.installed]

    @contextmanager
    def check(self, user: list[tuple[str, int, Requirement]]) -> Iterator[None]:
        try:
            yield
        except CommandError as exc:
            output = exc.output_tail
            found = depfiles.conflicts(user, self.pins, self.installed, output)
            explanation = depfiles.resolver_explanation(output)
            sides = [(c.user, c.wrapper) for c in found]
            if not sides and explanation:
                named = depfiles.names_in(explanation)
                sides = [
                    ("a dependency", f"{pin.requirement} ({pin.why})")
                    for name, pin in self.pins.items()
                    if name in named and name != "seldon-core"
                ]
            if sides:
                raise WrapperConflict(sides, explanation, self.pins_file) from None
            raise


def _install_conda(
    cfg: config.BuildConfig,
    environment: conda.EnvironmentFile,
    conda_plan: conda.CondaPlan,
    layout: Layout,
    base: installers.InstallRequest,
    env: Mapping[str, str],
    secrets: list[str],
    scratch: Path,
) -> None:
    if environment.specs:
        with proc.step(f"Installing the conda packages of {environment.filename} with py-rattler"):
            conda.install(environment, conda_plan, scratch / "rattler")
    if conda_plan.app_environment:
        # The conda Python is the application's: it gets seldon-core and the wrapper pins.
        with proc.step(f"Installing seldon-core into {conda_plan.prefix} with {cfg.installer}"):
            _install_one(cfg, layout, base, env, secrets)
    if environment.pip:
        with proc.step(f"Installing the pip section of {environment.filename} with {cfg.installer}"):
            pip_file = scratch / "environment-pip.txt"
            pip_file.write_text(conda.pip_requirements(environment), encoding="utf-8")
            requirements = (*base.requirement_files, str(pip_file))
            _install_one(cfg, layout, replace(base, requirement_files=requirements), env, secrets)


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


def _install_one(
    cfg: config.BuildConfig,
    layout: Layout,
    request: installers.InstallRequest,
    env: Mapping[str, str],
    secrets: list[str],
) -> None:
    """Try without any index first: when the preinstalled environment and /whl already satisfy
    everything, the build needs no network (and takes milliseconds). Otherwise use the index."""
    uv = str(layout.uv)
    try:
        proc.run(
            installers.install(cfg.installer, uv, replace(request, offline=True)),
            env=env,
            cwd=layout.app_dir,
            redact=secrets,
            quiet=True,
        )
        proc.log("     satisfied by installed packages and local wheels: no index used")
        return
    except StepError:
        proc.log("     not everything is installed or in local wheels: resolving against the index")
    proc.run(installers.install(cfg.installer, uv, request), env=env, cwd=layout.app_dir, redact=secrets)
