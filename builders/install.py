"""Installing a Plan's dependencies into the application environment, in the documented order.

    conda packages (and seldon-core, when the conda Python is the app's) -> environment.yml's pip
    section -> requirements.txt (or requirements.in, compiled) -> the project

Every install is resolved with the wrapper's pins; injected credentials are used where they were
injected; a resolver failure caused by the pins becomes an error naming both sides.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement

from builders import conda, config, installers, proc
from builders import deps as depfiles
from builders.errors import CommandError, ConfigError, StepError, WrapperConflict
from builders.layout import Layout

if TYPE_CHECKING:
    from builders.assemble import Plan


def install(
    cfg: config.BuildConfig,
    deps: Plan,
    layout: Layout,
    environ: Mapping[str, str],
    scratch: Path,
    conda_plan: conda.CondaPlan | None = None,
) -> None:
    constraints = []
    # The rebuilt seldon-core (builders/wrapperwheel.py): wherever an install resolves seldon-core anew
    # (a conda Python), this is where `seldon-core==1.18.2` finds its 1.18.2+s2i.
    find_links = [str(layout.wrapper_wheels)] if layout.wrapper_wheels.is_dir() else []
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
