"""assemble: the source at /tmp/src becomes an application, one logged step at a time.

Read `assemble()` as the table of contents of a build; each step below it is a screenful or less.
Everything cheap is validated before anything slow: the configuration, the model file, a static look
at the component class and the dependency plan all fail within a second of the build starting.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from builders import (
    __version__,
    childenv,
    component,
    config,
    credentials,
    dependencies,
    incremental,
    injected,
    installers,
    licenses,
    log,
    proc,
    sbom,
)
from builders import manifest as manifests
from builders.errors import DependenciesChanged
from builders.layout import IMAGE, Layout
from builders.plan import Plan, plan


@dataclass(frozen=True)
class Inputs:
    """Everything the build reads, read once: the configuration, the plan, injected credentials."""

    cfg: config.BuildConfig
    plan: Plan
    injected: injected.Injected
    fingerprint: str  # of every input that decides the installed dependencies


def assemble(environ: Mapping[str, str], layout: Layout = IMAGE, in_place: bool = False) -> None:
    """`in_place`: this runs in the previous image of the same application (the fast path of
    `builders.host --incremental`); only the code is replaced, and only when the dependencies are
    unchanged."""
    os.umask(0o002)  # group 0 must be able to write: OpenShift runs images with arbitrary UIDs
    inputs = read_inputs(environ, layout)
    reused = reuse_dependencies(inputs, layout, in_place)
    copy_source(layout)
    if not reused:
        with tempfile.TemporaryDirectory(prefix="s2i-build-") as scratch:
            dependencies.install(inputs.cfg, inputs.plan, layout, inputs.injected, Path(scratch))
    score_adapter = check_component(inputs, layout)
    record_installed(inputs, layout)
    write_sbom(inputs, layout)
    write_manifest(inputs, layout, score_adapter)
    finish(inputs.cfg, layout)


def read_inputs(environ: Mapping[str, str], layout: Layout) -> Inputs:
    with log.step(f"Reading configuration (builder {__version__})"):
        cfg = config.load(layout.source, environ)
        for notice in cfg.notices:
            log.notice(notice)
        log.detail(
            f"MODEL_NAME={cfg.model_name} SERVICE_TYPE={cfg.service_type.value} "
            f"INSTALLER={cfg.installer} PAYLOAD_PASSTHROUGH={str(cfg.payload_passthrough).lower()}"
        )
        component.check_source(config.module_file(layout.source, cfg), cfg)
        _check_before_run(layout.source / "before-run")
        deps = plan(layout.source, layout)
        for line in deps.report():
            log.detail(line)
        injected = _injected_credentials(cfg, layout)
    fingerprint = incremental.fingerprint(
        layout.source, cfg, layout, whole_tree=bool(deps.project), index_settings=injected.fingerprint()
    )
    return Inputs(cfg, deps, injected, fingerprint)


def _check_before_run(hook: Path) -> None:
    if hook.is_file() and not os.access(hook, os.X_OK):
        log.warning(
            f"{hook.name} is not executable, so the image will not run it before the server: "
            f"`chmod +x {hook.name}` (in git: `git update-index --chmod=+x {hook.name}`) and build again"
        )


def _injected_credentials(cfg: config.BuildConfig, layout: Layout) -> injected.Injected:
    in_urls = credentials.secrets_of(cfg.extra_index_urls)
    if in_urls:
        log.hide(in_urls)
        log.warning(
            "EXTRA_INDEX_URL carries a password or token, and s2i keeps every -e value in the output image's "
            "configuration (`docker inspect` shows it). Inject credentials instead: a netrc file or "
            f"pip.conf in a folder passed with `-i ./secrets:{layout.secrets}`, and EXTRA_INDEX_URL "
            "without its user part."
        )
    found = injected.read(layout.secrets)
    log.hide(found.secrets)
    if found.netrc:
        log.detail(f"index credentials: {found.netrc} (netrc), used in place")
    if found.pip_conf:
        log.detail(f"index settings: {found.pip_conf} (pip.conf), used in place")
    return found


def reuse_dependencies(inputs: Inputs, layout: Layout, in_place: bool) -> bool:
    """True when the previous image's environment stays (in place: `builders.host --incremental`)."""
    current = inputs.fingerprint
    if in_place:
        with log.step("Comparing dependencies with the previous image's"):
            recorded = layout.app_root / incremental.FINGERPRINT
            previous = recorded.read_text(encoding="utf-8").strip() if recorded.is_file() else ""
            if previous != current:
                raise DependenciesChanged(
                    f"dependency inputs changed ({previous[:12] or 'none recorded'} -> {current[:12]}): "
                    "the previous image's environment cannot be reused in place"
                )
            log.detail(f"dependencies unchanged ({current[:12]}): replacing the code only")
            _empty(layout.app_dir)
        return True
    if layout.artifacts.is_dir():
        # `s2i build --incremental`: the previous image's save-artifacts sent only its note
        # (builders/artifacts.py); whatever stays in /tmp/artifacts would be committed with the image.
        shutil.rmtree(layout.artifacts, ignore_errors=True)
        log.announce(
            "--incremental: installing the dependencies afresh; restoring them through s2i's artifacts "
            "measured slower than a cold build (docs/incremental.md)"
        )
    return False


def copy_source(layout: Layout) -> None:
    with log.step(f"Copying source from {layout.source} to {layout.app_dir}"):
        shutil.copytree(layout.source, layout.app_dir, symlinks=True, dirs_exist_ok=True)


def check_component(inputs: Inputs, layout: Layout) -> bool:
    """Import the class as the server will; True when it is served through the score adapter."""
    cfg = inputs.cfg
    with log.step(f"Checking that {cfg.model_name} imports and serves {cfg.service_type.value}"):
        env = childenv.application(cfg, inputs.plan.conda_prefix)
        methods = component.check_import(str(inputs.plan.python), layout.app_dir, cfg, env=env)
        log.detail(f"{cfg.class_name} provides: {', '.join(methods)}")
        score_adapter = component.needs_score_adapter(cfg, methods)
        if score_adapter:
            log.detail(
                f"{cfg.class_name} has score() and no transform_input(): /transform-input passes "
                "the request through and adds the scores as meta.tags.outlierScore"
            )
    return score_adapter


def record_installed(inputs: Inputs, layout: Layout) -> None:
    with log.step(f"Recording installed packages in {layout.lock}"):
        # the freeze every step uses (builders.installers.freeze), whatever INSTALLER says
        freeze = installers.freeze(str(layout.uv), str(inputs.plan.python))
        frozen = proc.output(freeze, env=childenv.frozen(inputs.cfg))
        layout.lock.write_text(frozen.strip() + "\n", encoding="utf-8")
        log.detail(f"{len(frozen.splitlines())} packages installed")
    (layout.app_root / incremental.FINGERPRINT).write_text(inputs.fingerprint + "\n", encoding="utf-8")


def write_sbom(inputs: Inputs, layout: Layout) -> None:
    """The SBOM (builders/sbom.py) of the environment the server runs in, wrapper included."""
    target = layout.app_root / sbom.PATH.name
    with log.step(f"Writing the SBOM (CycloneDX JSON) to {target}"):
        app_env = inputs.plan.conda.app_root if inputs.plan.conda else layout.app_root
        site_packages = [incremental.site_packages(app_env)]
        count = sbom.write(site_packages, inputs.cfg.model_name, target)
        log.detail(f"{count} components, the wrapper included; the image label {sbom.LABEL} names it")
        # The application's dependencies are its owner's choice: a warning, not a failure.
        for name, version, licence in licenses.restricting(sbom.distributions(site_packages)):
            log.warning(
                f"{name} {version} is licensed under {licence!r}, which restricts production use: "
                "check its terms before you deploy this image"
            )


def write_manifest(inputs: Inputs, layout: Layout, score_adapter: bool) -> None:
    cfg, conda_plan = inputs.cfg, inputs.plan.conda
    manifests.Manifest(
        builder_version=__version__,
        model_name=cfg.model_name,
        service_type=cfg.service_type.value,
        wrapper_service_type=cfg.service_type.wrapper_name,
        payload_passthrough=cfg.payload_passthrough,
        persistence=cfg.persistence,
        score_adapter=score_adapter,
        conda=manifests.Conda(str(conda_plan.prefix), conda_plan.app_environment) if conda_plan else None,
    ).write(layout.manifest)


def finish(cfg: config.BuildConfig, layout: Layout) -> None:
    _make_group_writable(layout.app_root)
    shutil.rmtree(layout.source, ignore_errors=True)  # keeps the committed layer small under s2i
    log.announce(f"Build of {cfg.model_name} complete")


def _empty(directory: Path) -> None:
    """Files the new source no longer has must not survive from the previous build."""
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _make_group_writable(root: Path) -> None:
    """Group 0 may write; nobody else may (uv makes its lock files 0666), and no file is setuid or
    setgid (a source may carry one): the model image stays as hardened as the builder."""
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                continue
            mode = stat.S_IMODE(os.stat(path).st_mode)
            is_dir = os.path.isdir(path)
            extra = 0o070 if is_dir else (0o060 | (0o010 if mode & 0o100 else 0))
            wanted = (mode | extra) & ~(0o002 if is_dir else 0o002 | stat.S_ISUID | stat.S_ISGID)
            if mode != wanted:
                try:
                    os.chmod(path, wanted)
                except PermissionError:
                    pass  # files the builder image installed as another owner stay as they are
