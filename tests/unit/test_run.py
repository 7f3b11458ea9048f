"""The server command line and environment that `run` execs."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from builders import run
from builders.errors import ConfigError
from builders.manifest import Manifest

MANIFEST = Manifest(
    "0.1.0", "MyModel", "MODEL", "MODEL", payload_passthrough=False, persistence=False, score_adapter=False
)


def test_defaults() -> None:
    assert run.microservice_argv(MANIFEST, run.ports({}), Path("/opt/app-root")) == [
        "/opt/app-root/bin/python", str(run.APP_DIR / "seldon_s2i_serve.py"),
        "MyModel", "--service-type", "MODEL",
        "--http-port", "9000", "--grpc-port", "9500", "--metrics-port", "6000",
    ]  # fmt: skip


def test_ports_from_environment_and_legacy_persistence() -> None:
    env = {
        "PREDICTIVE_UNIT_HTTP_SERVICE_PORT": "8000",
        "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": '"8500"',
        "PREDICTIVE_UNIT_METRICS_SERVICE_PORT": "",
    }
    manifest = replace(MANIFEST, model_name="pkg.mod.Router", wrapper_service_type="ROUTER", persistence=True)
    assert run.microservice_argv(manifest, run.ports(env), Path("/app")) == [
        "/app/bin/python", str(run.APP_DIR / "seldon_s2i_serve.py"),
        "pkg.mod.Router", "--service-type", "ROUTER",
        "--http-port", "8000", "--grpc-port", "8500", "--metrics-port", "6000", "--persistence", "1",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PREDICTIVE_UNIT_HTTP_SERVICE_PORT": "http"}, "HTTP_SERVICE_PORT='http' is not a port"),
        ({"PREDICTIVE_UNIT_GRPC_SERVICE_PORT": "95000"}, "GRPC_SERVICE_PORT='95000' is not a port"),
        ({"PREDICTIVE_UNIT_METRICS_SERVICE_PORT": "9000"},
         "PREDICTIVE_UNIT_HTTP_SERVICE_PORT and PREDICTIVE_UNIT_METRICS_SERVICE_PORT are both 9000"),
    ],
)  # fmt: skip
def test_bad_port_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        run.ports(environ)


def test_a_port_another_process_listens_on_is_named() -> None:
    """Checked before the servers start: a gRPC server that cannot bind would leave the container up,
    never ready. A free port passes; so does one with connections left in TIME_WAIT (SO_REUSEADDR)."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        chosen = run.ports({"PREDICTIVE_UNIT_GRPC_SERVICE_PORT": str(port)})
        with pytest.raises(ConfigError) as error:
            run.check_free(chosen)
    assert f"PREDICTIVE_UNIT_GRPC_SERVICE_PORT={port}: the port cannot be used" in error.value.what
    assert f"Another process listens on {port}" in error.value.tip
    run.check_free(chosen)  # closed: free again


@pytest.mark.parametrize(
    ("built", "runtime", "expected"),
    [(False, None, "false"), (True, None, "true"), (True, "false", "false"), (False, '"true"', "true")],
)
def test_payload_passthrough(built: bool, runtime: str | None, expected: str) -> None:
    env = {"GUNICORN_WORKERS": "3"} | ({"PAYLOAD_PASSTHROUGH": runtime} if runtime is not None else {})
    child = run.child_environment(replace(MANIFEST, payload_passthrough=built), env)
    assert child["PAYLOAD_PASSTHROUGH"] == expected
    assert child["GUNICORN_WORKERS"] == "3"  # wrapper variables pass through untouched


def test_score_only_outlier_detector_is_served_through_the_adapter() -> None:
    manifest = replace(MANIFEST, model_name="pkg.Detector", wrapper_service_type="OUTLIER_DETECTOR")
    adapted = replace(manifest, score_adapter=True)
    assert (
        run.microservice_argv(adapted, run.ports({}), Path("/app"))[2]
        == "seldon_s2i_outlier.ScoreOutlierDetector"
    )
    assert run.microservice_argv(manifest, run.ports({}), Path("/app"))[2] == "pkg.Detector"
    child = run.child_environment(adapted, {"PYTHONPATH": "/extra"}, app_dir=Path("/shim"))
    assert child["SELDON_S2I_COMPONENT"] == "pkg.Detector"
    assert child["PYTHONPATH"] == "/shim:/extra"
    assert run.child_environment(adapted, {}, app_dir=Path("/shim"))["PYTHONPATH"] == "/shim"
    assert "SELDON_S2I_COMPONENT" not in run.child_environment(manifest, {})
    assert (run.APP_DIR / "seldon_s2i_outlier.py").is_file()


def test_the_v2_shim_gets_the_service_type_as_built() -> None:
    """The wrapper's --service-type has no OUTPUT_TRANSFORMER; V2 answers infer with transform_output."""
    manifest = replace(MANIFEST, service_type="OUTPUT_TRANSFORMER", wrapper_service_type="TRANSFORMER")
    assert run.child_environment(manifest, {})["SELDON_S2I_SERVICE_TYPE"] == "OUTPUT_TRANSFORMER"
    assert run.microservice_argv(manifest, run.ports({}), Path("/app"))[3:5] == [
        "--service-type",
        "TRANSFORMER",
    ]


def test_run_imports_nothing_only_a_build_needs() -> None:
    """`run` stands between the container's start and the server's, so every import on its way delays
    readiness: the command gateway (subprocess, tempfile, shutil) waits until a before-run hook needs
    it, and the injected-credentials readers (configparser, netrc, hashlib) are a build's only."""
    code = "import sys, builders.__main__, builders.run; print(*sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    build_only = {
        "builders.proc",
        "builders.injected",
        "subprocess",
        "tempfile",
        "shutil",
        "configparser",
        "netrc",
    }
    assert build_only.isdisjoint(result.stdout.split())
