"""The application's dependencies, installed: a Plan carried out into the application environment.

    conda packages (and seldon-core, when the conda Python is the app's) -> environment.yml's pip
    section -> requirements.txt (or requirements.in, compiled) -> the project -> what changed

Every install is resolved with the wrapper's pins; injected credentials are used where they were
injected; a resolver failure caused by the pins becomes an error naming both sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.requirements import Requirement

from builders import (
    bytecode,
    childenv,
    conda,
    config,
    deps,
    incremental,
    installers,
    locks,
    log,
    proc,
    python_version,
    wrapper,
)
from builders.errors import CommandError
from builders.injected import Injected
from builders.layout import Layout
from builders.plan import Plan


@dataclass(frozen=True)
class _Session:
    """What every install of one build shares: the installer, its environment, the base request
    (wrapper requirements, local wheels, indexes) and a scratch folder."""

    cfg: config.BuildConfig
    layout: Layout
    installer: installers.Installer
    env: Mapping[str, str]
    base: installers.InstallRequest
    scratch: Path

    @classmethod
    def open(
        cls, cfg: config.BuildConfig, plan: Plan, layout: Layout, injected: Injected, scratch: Path
    ) -> _Session:
        installer = installers.select(cfg.installer, str(layout.uv))
        env = childenv.installers(cfg, installer, injected, scratch)
        return cls(cfg, layout, installer, env, _base_request(plan, layout, injected, cfg, scratch), scratch)

    def install(self, request: installers.InstallRequest) -> None:
        """Try without any index first: when the preinstalled environment and /whl already satisfy
        everything, the build needs no network (and takes milliseconds). Only when that attempt
        failed for want of a distribution is the index used; any other failure (a conflict with the
        wrapper's pins, a broken build) is the answer, and the resolver does not run twice."""
        cwd, offline = self.layout.app_dir, self.installer.install(replace(request, offline=True))
        try:
            proc.run(offline, env=self.env, cwd=cwd, quiet=True)
            log.detail("satisfied by installed packages and local wheels: no index used")
            return
        except CommandError as exc:
            if not self.installer.missing_offline(exc.output_tail):
                log.command(offline)  # the attempt ran quietly: its answer belongs in the log
                for line in exc.output_tail.splitlines():
                    log.output(line)
                raise
            log.detail("not everything is installed or in local wheels: resolving against the index")
        proc.run(self.installer.install(request), env=self.env, cwd=cwd)

    def freeze(self, python: Path) -> str:
        argv = installers.freeze(str(self.layout.uv), str(python))
        return proc.output(argv, env=self.env)

    def guard(self) -> wrapper.Guard:
        installed = deps.locked_versions(self.freeze(Path(self.base.python)))
        builders = self.layout.builders

        def python_refused(output: str, user: Sequence[tuple[str, int, Requirement]]) -> None:
            """A requirement this image's Python cannot have is not a pin conflict: say so first."""
            python_version.raise_if_refused(output, builders, user)

        return wrapper.Guard(self.layout.wrapper, installed, python_refused)


def install(cfg: config.BuildConfig, plan: Plan, layout: Layout, injected: Injected, scratch: Path) -> None:
    session = _Session.open(cfg, plan, layout, injected, scratch)
    before = session.freeze(layout.python)  # the builder's environment, before anything
    if plan.environment and plan.conda:
        # first: with a pinned python, the interpreter everything else goes into comes from here
        _install_conda(session, plan.environment, plan.conda)
    if plan.lock:  # a lock file decides the installed set (builders/locks.py)
        _install_lock(session, plan.lock)
    if plan.requirements:
        _install_requirements(session, plan)
    if plan.project:
        with log.step(f"Installing the project ({plan.project}) with {cfg.installer}"):
            with session.guard().check([]):
                session.install(replace(session.base, packages=(str(layout.app_dir),)))
    if not plan.installs_anything:
        log.announce("No dependency files: using the preinstalled seldon-core environment as is")
    added = deps.changes(before, session.freeze(plan.python))
    log.announce(f"The application changed {len(added)} packages of the builder's environment:")
    for line in added:
        log.detail(line)
    if added or plan.environment:  # conda packages are in neither freeze
        bytecode.compile_environment(str(plan.python), session.env)


def _base_request(
    plan: Plan, layout: Layout, injected: Injected, cfg: config.BuildConfig, scratch: Path
) -> installers.InstallRequest:
    """What every install starts from: the wrapper's requirements, local wheels first, the indexes."""
    constraints: list[str] = []
    # The rebuilt seldon-core (builders/wrapperwheel.py): wherever an install resolves seldon-core anew
    # (a conda Python), this is where wrapper.REQUIREMENT finds wrapper.VERSION.
    find_links = [str(layout.wrapper_wheels)] if layout.wrapper_wheels.is_dir() else []
    pins = installers.wheel_pins(layout.wheels) if layout.wheels.is_dir() else []
    if pins:
        pinned = scratch / "wheel-pins.txt"
        pinned.write_text("\n".join(pins) + "\n", encoding="utf-8")
        constraints.append(str(pinned))
        find_links.append(str(layout.wheels))
        log.announce(f"Using {len(pins)} wheels from {layout.wheels} before any index")
    return installers.InstallRequest(
        python=str(plan.python),
        requirement_files=(str(layout.wrapper),),
        constraint_files=tuple(constraints),
        find_links=tuple(find_links),
        index_url=injected.settings.index_url,
        extra_index_urls=cfg.extra_index_urls + injected.settings.extra_index_urls,
        trusted_hosts=cfg.trusted_hosts + injected.settings.trusted_hosts,
    )


def _install_requirements(session: _Session, plan: Plan) -> None:
    assert plan.requirements
    cfg, layout, base = session.cfg, session.layout, session.base
    user_file = layout.app_dir / plan.requirements
    user_requirements = deps.requirements_of(user_file)
    guard = session.guard()
    if plan.compile:
        user_file = _compile(session, user_file, guard, user_requirements)
    with log.step(f"Installing {plan.requirements} with {cfg.installer}"):
        if plan.hashes:
            # Hash-checking mode wants every requirement and constraint pinned with `==`, which the
            # wrapper's pins are not: they apply as the versions installed now.
            exact = session.scratch / "wrapper-installed.txt"
            exact.write_text("".join(f"{pin}\n" for pin in guard.exact()), encoding="utf-8")
            log.detail(f"--hash found: hash-checking mode; pins held at {', '.join(guard.exact())}")
            request = replace(
                base,
                requirement_files=(str(user_file),),
                constraint_files=(str(exact), *base.constraint_files),
                require_hashes=True,
            )
        else:
            request = replace(base, requirement_files=(*base.requirement_files, str(user_file)))
        with guard.check(user_requirements):
            session.install(request)


def _install_lock(session: _Session, lock: locks.Lock) -> None:
    """Check the lock and export it (no download), check it against the wrapper, then install exactly
    the locked set in hash-checking mode; the wrapper's packages the lock does not name stay as they are."""
    cfg, layout, base = session.cfg, session.layout, session.base
    guard = session.guard()
    against = f" against {lock.checked_against}" if lock.checked_against else ""
    with log.step(f"Checking {lock.file}{against}"):
        locked = locks.export(lock, layout.app_dir, str(layout.uv), base.python, session.env, session.scratch)
        environment = [incremental.site_packages(layout.app_root)]
        guard.check_lock(locked.versions, lock.file, lock.fix, environment)
        where = ", ".join(locked.indexes) or "no index (direct URLs)"
        log.detail(f"{lock.file} is current: {len(locked.versions)} packages locked, from {where}")
    with log.step(f"Installing {lock.file} with {cfg.installer} (hash-checking mode)"):
        held = session.scratch / "wrapper-held.txt"
        held.write_text("".join(f"{pin}\n" for pin in guard.held(locked.versions)))
        index_url, extras = locks.indexes(locked.indexes, base.index_url, base.extra_index_urls)
        request = replace(
            base,
            requirement_files=(str(locked.requirements),),
            constraint_files=(str(held),),  # the lock decides versions: /whl's pins do not apply
            index_url=index_url,
            extra_index_urls=extras,
            require_hashes=True,
        )
        with guard.check([]):
            session.install(request)


def _compile(
    session: _Session, source: Path, guard: wrapper.Guard, user: list[tuple[str, int, Requirement]]
) -> Path:
    """pip-tools' job, done by uv: requirements.in -> pinned requirements, with the wrapper's pins."""
    compiled = session.scratch / "requirements.txt"
    with log.step(f"Compiling {source.name} (pip-tools' job, done by uv)"):
        request = replace(
            session.base,
            requirement_files=(str(source),),
            constraint_files=(str(session.layout.wrapper), *session.base.constraint_files),
        )
        argv = session.installer.compile(request, str(compiled))
        with guard.check(user):
            proc.run(argv, env=session.env, cwd=session.layout.app_dir)
        log.detail(f"{source.name} compiled to:")
        log.listing(compiled.read_text(encoding="utf-8").splitlines())
    return compiled


def _install_conda(session: _Session, environment: conda.EnvironmentFile, plan: conda.CondaPlan) -> None:
    installer = session.cfg.installer
    if environment.specs:
        with log.step(f"Installing the conda packages of {environment.filename} with py-rattler"):
            conda.install(environment, plan, session.scratch / "rattler")
    if plan.app_environment:
        # The conda Python is the application's: it gets seldon-core and the wrapper pins.
        with log.step(f"Installing seldon-core into {plan.prefix} with {installer}"):
            session.install(session.base)
    if environment.pip:
        with log.step(f"Installing the pip section of {environment.filename} with {installer}"):
            pip_file = session.scratch / "environment-pip.txt"
            pip_file.write_text(conda.pip_requirements(environment), encoding="utf-8")
            requirements = (*session.base.requirement_files, str(pip_file))
            session.install(replace(session.base, requirement_files=requirements))
