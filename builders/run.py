"""run: the manifest assemble wrote + the runtime environment -> seldon-core-microservice, exec'd.

The wrapper reads most of its settings (GUNICORN_*, GRPC_*, PAYLOAD_PASSTHROUGH, SELDON_LOG_LEVEL,
PREDICTIVE_UNIT_PARAMETERS, ...) from the environment itself, so those pass through untouched; the
argv names what the builder decided plus the three ports, so `ps` shows what is being served.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

from builders import conda_runtime, log, serving, sizing
from builders.app import seldon_s2i_settings as app
from builders.config import unquote
from builders.errors import ConfigError
from builders.layout import IMAGE, Layout
from builders.manifest import Manifest, read

# What runs in the application interpreter (builders/app, see seldon_s2i_settings' docstring): the
# serving shim, seldon-core-microservice's main() with the metrics and the stop of that folder, and
# the adapter through which OUTLIER_DETECTOR classes with only `score` are served.
APP_DIR = Path(app.FOLDER)

DEFAULT_PORTS = {
    "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": ("--http-port", "9000"),
    "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": ("--grpc-port", "9500"),
    "PREDICTIVE_UNIT_METRICS_SERVICE_PORT": ("--metrics-port", "6000"),
}


def ports(environ: Mapping[str, str]) -> dict[str, int]:
    """Each port variable's value, or its default: a port number, and a different one for each server."""
    chosen: dict[str, int] = {}
    for variable, (_, default) in DEFAULT_PORTS.items():
        value = unquote(environ.get(variable, "").strip()) or default
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise ConfigError(
                f"{variable}={value!r} is not a port number",
                f"Set {variable} to a number from 1 to 65535, like {default}.",
            )
        same = next((other for other, port in chosen.items() if port == int(value)), None)
        if same:
            raise ConfigError(
                f"{same} and {variable} are both {value}: the REST, gRPC and metrics servers need "
                "a port each",
                f"Set {variable} to another port.",
            )
        chosen[variable] = int(value)
    return chosen


def check_free(chosen: Mapping[str, int]) -> None:
    """A port that cannot be bound stops the start here, named, instead of in a server process once the
    model is imported (a gRPC server that cannot bind would leave the container up and never ready)."""
    for variable, port in chosen.items():
        with socket.socket() as probe:  # bound as the servers bind, then closed at once
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("0.0.0.0", port))
            except OSError as exc:
                tip = (
                    f"Ports below 1024 need privileges this container does not have: set {variable} to "
                    "1024 or above."
                    if isinstance(exc, PermissionError)
                    else f"Another process listens on {port}: stop it, or set {variable} to a free port."
                )
                raise ConfigError(
                    f"{variable}={port}: the port cannot be used ({exc.strerror})", tip
                ) from None


def microservice_argv(
    manifest: Manifest, chosen_ports: Mapping[str, int], app_root: Path, app_dir: Path = APP_DIR
) -> list[str]:
    """The seldon-core-microservice command line, through the serving shim, on the ports `ports()`
    chose. Pure: unit tests pin it."""
    argv = [
        str(app_root / "bin" / "python"),
        str(app_dir / app.SERVE_SCRIPT),
        app.SCORE_ADAPTER if manifest.score_adapter else manifest.model_name,
        "--service-type",
        manifest.wrapper_service_type,
    ]
    for variable, port in chosen_ports.items():
        argv += [DEFAULT_PORTS[variable][0], str(port)]
    if manifest.persistence:
        argv += ["--persistence", "1"]
    return argv


def child_environment(
    manifest: Manifest, environ: Mapping[str, str], app_dir: Path = APP_DIR
) -> dict[str, str]:
    env = dict(environ)
    env[app.SERVICE_TYPE] = manifest.service_type
    if manifest.score_adapter:
        env[app.COMPONENT] = manifest.model_name
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(app_dir), env.get("PYTHONPATH", "")) if p)
    # The wrapper reads PAYLOAD_PASSTHROUGH itself; s2i may hand it over quoted ("true").
    passthrough = unquote(env.get("PAYLOAD_PASSTHROUGH", "").strip())
    env["PAYLOAD_PASSTHROUGH"] = passthrough or ("true" if manifest.payload_passthrough else "false")
    # environment.yml: the conda prefix's programs, libraries and CONDA_PREFIX, for the model
    return conda_runtime.activate(manifest.conda.prefix if manifest.conda else None, env)


def run(environ: Mapping[str, str], layout: Layout = IMAGE) -> None:
    manifest = read(layout.manifest)
    environ = serving.checked(environ)
    chosen_ports = ports(environ)  # a bad value stops here, before before-run
    resources = sizing.detect()
    env, chosen = sizing.apply(child_environment(manifest, environ), resources)
    if chosen:
        memory = f"{resources.memory // 2**20} MiB" if resources.memory else "unlimited"
        log.announce(
            f"Sized for {resources.cpus:g} CPUs, memory {memory}: "
            + " ".join(f"{k}={v}" for k, v in chosen.items())
        )
    os.chdir(layout.app_dir)
    run_hook(layout.app_dir / "before-run", env)
    argv = microservice_argv(manifest, chosen_ports, conda_runtime.app_root(manifest.conda, layout.app_root))
    check_free(chosen_ports)  # after before-run, which may have started something of its own
    log.announce("Serving: " + " ".join(argv))
    os.execvpe(argv[0], argv, env)


def run_hook(hook: Path, env: Mapping[str, str]) -> None:
    """before-run, when it is executable. One that is not is skipped with a warning (the build warned
    too): guessing an interpreter for it could run a Python script with sh."""
    if not hook.is_file():
        return
    if not os.access(hook, os.X_OK):
        log.warning(f"{hook} is not executable: not running it (`chmod +x before-run` and build again)")
        return
    from builders import proc  # only here: subprocess and its imports cost the start of every server

    log.announce(f"Running {hook}")
    proc.run([str(hook)], env=env, cwd=hook.parent)
