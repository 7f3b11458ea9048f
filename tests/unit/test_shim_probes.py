"""The probe layer around the wrapper's own Flask app, in this interpreter (werkzeug's test client
drives it as a WSGI server would). The Docker tests (tests/docker/test_probes.py) do the same through
real servers while a real load() runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from seldon_core.metrics import SeldonMetrics
from seldon_core.wrapper import get_rest_microservice
from werkzeug.test import Client

from builders.run import APP_DIR

sys.path.insert(0, str(APP_DIR))
import seldon_s2i_probes as probes

BODY = {"data": {"ndarray": [[1.0, 2.0]]}}


class Echo:
    def predict(self, X: Any, features_names: Any = None) -> Any:
        return X


@pytest.fixture
def flask_app() -> Iterator[Any]:
    metrics = SeldonMetrics()
    yield get_rest_microservice(Echo(), metrics)
    del metrics


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """This process is a REST worker that has loaded, the only one."""
    monkeypatch.setattr(probes, "state_dir", tmp_path)
    probes.mark_loaded(rest=True)
    yield
    probes._loaded = False
    probes._all_loaded[0] = 0


def test_ready_only_once_every_rest_worker_has_loaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """granian's workers load in the background while they accept: the pod is ready when all have."""
    monkeypatch.setattr(probes, "state_dir", tmp_path)
    monkeypatch.setattr(probes, "rest_workers", 2)
    try:
        probes.mark_loaded(rest=True)  # this worker
        assert probes.is_loaded() and not probes.ready()
        assert Client(probes.ProbeLayer(lambda e, s: [], "Echo")).get("/health/ping").status_code == 503
        (tmp_path / "rest-loaded-1").touch()  # what the other worker writes when its load() returns
        probes.mark_loaded(rest=True)
        assert probes.ready()
    finally:
        probes._loaded = False
        probes._all_loaded[0] = 0


def test_ready_only_once_every_grpc_process_has_loaded_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each gRPC process loads the class on its own: until the last has, a gRPC client that
    trusts readiness would get UNAVAILABLE, so the pod is not ready."""
    monkeypatch.setattr(probes, "state_dir", tmp_path)
    monkeypatch.setattr(probes, "grpc_workers", 2)
    try:
        probes.mark_loaded(rest=True)  # the only REST worker
        assert not probes.ready()
        (tmp_path / "grpc-loaded-1").touch()  # one gRPC process has loaded
        probes.mark_loaded(rest=True)
        assert not probes.ready()
        probes.mark_loaded(rest=False)  # the last gRPC process, this one
        assert probes.ready()
    finally:
        probes._loaded = False
        probes._all_loaded[0] = 0


@pytest.mark.parametrize(
    ("argv", "environ", "gunicorn", "expected"),
    [
        ([], {}, False, (1, 1)),  # the wrapper's defaults
        ([], {"GUNICORN_WORKERS": "3", "GRPC_WORKERS": "2"}, False, (3, 2)),
        (["Model", "--workers", "4", "--grpc-workers", "0"], {"GRPC_WORKERS": "2"}, False, (4, 0)),
        ([], {"GUNICORN_WORKERS": "3"}, True, (1, 1)),  # gunicorn's workers accept only once loaded
    ],
)
def test_the_loaders_counted_are_the_wrappers_own(
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environ: dict[str, str],
    gunicorn: bool,
    expected: tuple[int, int],
) -> None:
    import seldon_s2i_serve as serve

    for name in ("GUNICORN_WORKERS", "GRPC_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(probes, "rest_workers", probes.rest_workers)
    monkeypatch.setattr(probes, "grpc_workers", probes.grpc_workers)
    serve.count_loaders(argv, gunicorn)
    assert (probes.rest_workers, probes.grpc_workers) == expected


def statuses(client: Client, *paths: str) -> dict[str, int]:
    return {path: client.get(path).status_code for path in paths}


# live answers, readiness does not: while loading and while draining alike
NOT_READY = {
    "/health/live": 200,
    "/v2/health/live": 200,
    "/health/ping": 503,
    "/v2/health/ready": 503,
    "/v2/models/Echo/ready": 503,
}
PROBES = ("/health/live", "/v2/health/live", "/health/ping", "/v2/health/ready", "/v2/models/Echo/ready")


def test_while_loading_live_answers_and_the_rest_is_refused(flask_app: Any) -> None:
    assert not probes.is_loaded()
    client = Client(probes.ProbeLayer(flask_app, "Echo"))
    assert statuses(client, *PROBES) == NOT_READY
    refused = client.post("/api/v1.0/predictions", json=BODY)
    assert refused.status_code == 503
    assert refused.json == probes.LOADING
    assert refused.headers["Content-Type"] == "application/json"


def test_once_loaded_the_app_answers_byte_for_byte(flask_app: Any, loaded: None) -> None:
    layered, bare = Client(probes.ProbeLayer(flask_app, "Echo")), Client(flask_app)
    assert set(statuses(layered, *PROBES).values()) == {200}
    for method, path, kwargs in [
        ("post", "/api/v1.0/predictions", {"json": BODY}),
        ("post", "/predict", {"data": b"not json", "headers": {"Content-Type": "text/plain"}}),
        ("get", "/health/ping", {}),
        ("get", "/no/such/path", {}),
        ("get", "/v2/models/Other/ready", {}),
    ]:
        ours, theirs = getattr(layered, method)(path, **kwargs), getattr(bare, method)(path, **kwargs)
        assert ours.status_code == theirs.status_code, path
        assert (ours.headers, ours.data) == (theirs.headers, theirs.data), path


def test_draining_turns_readiness_off_and_keeps_serving(
    flask_app: Any, loaded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probes, "draining", lambda: True)
    client = Client(probes.ProbeLayer(flask_app, "Echo"))
    assert statuses(client, *PROBES) == NOT_READY
    assert client.post("/api/v1.0/predictions", json=BODY).json["data"]["ndarray"] == [[1.0, 2.0]]


def test_every_request_served_is_counted(flask_app: Any, loaded: None) -> None:
    counted: list[None] = []
    client = Client(probes.ProbeLayer(flask_app, "Echo", on_request=lambda: counted.append(None)))
    for _ in range(3):
        client.post("/api/v1.0/predictions", json=BODY)
    client.get("/health/live")  # probes are not requests of the model
    assert len(counted) == 3


JEMALLOC_CHECK = """
import os, sys, types
sys.path.insert(0, {folder!r})
import seldon_s2i_serve as serve
serve.GRANIAN_JEMALLOC += ",confirm_conf:true"  # jemalloc then prints the settings it read
serve.probes.setup = lambda report_to: None
serve.use_granian(types.SimpleNamespace())
print("after:", os.environ.get(serve.JEMALLOC_CONF))
"""


@pytest.mark.parametrize("users", [None, "narenas:2,confirm_conf:true"])
def test_granians_jemalloc_reads_the_setting_and_the_model_does_not(users: str | None) -> None:
    """granian's jemalloc reads the setting as granian loads (jemalloc confirms it on stderr); the
    variable is then gone again, unless the user set it, whose value is used as it is."""
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if users:
        env["_RJEM_MALLOC_CONF"] = users
    code = JEMALLOC_CHECK.format(folder=str(APP_DIR))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    read = users or "narenas:1,tcache:false,confirm_conf:true"
    assert f'(value of the environment variable MALLOC_CONF): "{read}"' in result.stderr
    assert result.stdout.strip() == f"after: {users}"
