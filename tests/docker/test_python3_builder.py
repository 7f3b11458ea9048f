"""The python3 builder end to end: build with the s2i contract, serve, call it for real."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

import grpc
import pytest
import requests
from seldon_core.proto import prediction_pb2, prediction_pb2_grpc

from builders import wrapper
from tests import harness

pytestmark = pytest.mark.docker

FAILING = sorted(p.parent for p in harness.FIXTURES.glob("*/scenario.json"))


def test_template_rest_prediction(model_template_image: str) -> None:
    with harness.serve(model_template_image) as server:
        response = server.post(
            "/api/v1.0/predictions", json={"data": {"ndarray": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]}}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"]["names"] == ["score"]
        assert harness.flat(body["data"]["ndarray"]) == pytest.approx([3.1, 0.1])
        # /predict is the older path of the same endpoint
        legacy = server.post("/predict", json={"data": {"ndarray": [[2.0, 0.0, 0.0]]}})
        assert harness.flat(legacy.json()["data"]["ndarray"]) == pytest.approx([1.1])


def test_template_grpc_prediction(model_template_image: str) -> None:
    with harness.serve(model_template_image) as server:
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc}")
        grpc.channel_ready_future(channel).result(timeout=30)
        request = prediction_pb2.SeldonMessage(
            data=prediction_pb2.DefaultData(tensor=prediction_pb2.Tensor(shape=[1, 3], values=[1, 2, 3]))
        )
        reply = prediction_pb2_grpc.ModelStub(channel).Predict(request, timeout=30)
        assert list(reply.data.names) == ["score"]
        assert list(reply.data.tensor.values) == pytest.approx([3.1])
        channel.close()


def test_health_and_metrics_ports(model_template_image: str) -> None:
    with harness.serve(model_template_image) as server:
        assert requests.get(server.url("/health/ping"), timeout=5).text.strip() == "pong"
        for _ in range(2):
            server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1.0, 2.0, 3.0], [1, 1, 1]]}})
        metrics = requests.get(server.url("/metrics", server.metrics), timeout=5)
        assert metrics.status_code == 200
        counters = [line for line in metrics.text.splitlines() if line.startswith("rows_scored_total{")]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in counters) == 4.0, metrics.text


def test_default_ports_are_the_documented_ones(python3_builder: str) -> None:
    config = json.loads(harness.docker("image", "inspect", python3_builder).stdout)[0]["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PREDICTIVE_UNIT_HTTP_SERVICE_PORT"] == "9000"
    assert env["PREDICTIVE_UNIT_GRPC_SERVICE_PORT"] == "9500"
    assert env["PREDICTIVE_UNIT_METRICS_SERVICE_PORT"] == "6000"
    assert set(config["ExposedPorts"]) == {"9000/tcp", "9500/tcp", "6000/tcp"}
    assert config["User"] == "1001"
    assert config["Labels"]["io.openshift.s2i.scripts-url"] == "image:///usr/libexec/s2i"
    secrets = harness.docker("run", "--rm", python3_builder, "ls", "-A", "/opt/s2i/secrets")
    assert secrets.stdout == b""


@pytest.mark.parametrize("fixture", FAILING, ids=[p.name for p in FAILING])
def test_bad_source_fails_fast_and_leaves_nothing(python3_builder: str, fixture: Path) -> None:
    scenario = json.loads((fixture / "scenario.json").read_text())
    image = harness.unique_tag(fixture.name)
    result = harness.build(fixture, image)
    assert result.returncode == scenario["exit"], result.log
    for fragment in scenario["log"]:
        assert fragment in result.log, f"{fragment!r} not in build log:\n{result.log}"
    if scenario["exit"] == 2:
        assert result.seconds < 30, f"a configuration error took {result.seconds:.0f}s to report"
    assert not harness.image_exists(image)
    leftover = harness.docker("ps", "-aq", "--filter", f"label=io.seldon.s2i.build.output={image}")
    assert leftover.stdout.split() == []


def test_requirements_are_installed_and_locked(python3_builder: str) -> None:
    image = harness.unique_tag("requirements-basic")
    result = harness.build_ok(harness.FIXTURES / "requirements_basic", image)
    assert "dependency files found: requirements.txt" in result.log
    try:
        lock = harness.docker("run", "--rm", image, "cat", "/opt/app-root/requirements.lock").stdout.decode()
        assert "tabulate==0.9.0" in lock.splitlines()
        assert f"seldon-core=={wrapper.VERSION}" in lock.splitlines()  # the rebuilt wrapper (wrapperwheel.py)
        with harness.serve(image) as server:
            reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2]]}}).json()
            assert reply["meta"]["tags"] == {"tabulate": "0.9.0"}
    finally:
        harness.docker("rmi", "--force", image, check=False)


def test_dotted_model_name_and_before_run(python3_builder: str) -> None:
    dotted, hooked = harness.unique_tag("package-module"), harness.unique_tag("before-run")
    harness.build_ok(harness.FIXTURES / "package_module", dotted)
    harness.build_ok(harness.FIXTURES / "before_run", hooked)
    try:
        with harness.serve(dotted) as server:
            reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2]]}}).json()
            assert reply["data"]["ndarray"] == [[10.0, 20.0]]
        with harness.serve(hooked) as server:
            reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
            assert reply["data"]["ndarray"] == [["hello from before-run"]]
    finally:
        harness.docker("rmi", "--force", dotted, hooked, check=False)


def test_injected_wheels_are_used_and_in_no_layer(python3_builder: str, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    harness.make_wheel(wheels, "s2i_canary", "1.0", 'VERSION = "canary-1.0"\n')
    image = harness.unique_tag("local-wheels")
    # --network none: the only place s2i-canary can come from is the injected folder
    result = harness.build_ok(
        harness.FIXTURES / "local_wheels", image, inject=[f"{wheels}:/whl"], network="none"
    )
    assert "Using 1 wheels from /whl before any index" in result.log
    try:
        layers = harness.layer_paths(image)
        leaked = [
            p
            for paths in layers.values()
            for p in paths
            if p.endswith("s2i_canary-1.0-py3-none-any.whl") or p.lstrip("./").startswith("whl/s2i")
        ]
        assert leaked == []
        with harness.serve(image) as server:
            reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
            assert reply["data"]["ndarray"] == [["canary-1.0"]]
    finally:
        harness.docker("rmi", "--force", image, check=False)


def test_as_dockerfile_mode(python3_builder: str, tmp_path: Path) -> None:
    """The Dockerfile `s2i build --as-dockerfile` writes, built with plain `docker build`."""
    upload = tmp_path / "upload" / "src"
    upload.parent.mkdir()
    subprocess.run(["cp", "-r", str(harness.TEMPLATES / "model-template-app"), str(upload)], check=True)
    (tmp_path / "Dockerfile").write_text(
        f"FROM {python3_builder}\n"
        'LABEL "io.openshift.s2i.build.image"="builder"\n'
        'ENV MODEL_NAME="MyModel" SERVICE_TYPE="MODEL"\n'
        "USER root\n"
        "COPY upload/src /tmp/src\n"
        "RUN chown -R 1001:0 /tmp/src\n"
        "USER 1001\n"
        "RUN /usr/libexec/s2i/assemble\n"
        "CMD /usr/libexec/s2i/run\n"
    )
    image = harness.unique_tag("as-dockerfile")
    built = subprocess.run(
        [harness.DOCKER, "build", "--network", "host", "-t", image, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    assert built.returncode == 0, built.stdout + built.stderr
    try:
        with harness.serve(image) as server:
            reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1.0, 2.0, 3.0]]}})
            assert harness.flat(reply.json()["data"]["ndarray"]) == pytest.approx([3.1])
    finally:
        harness.docker("rmi", "--force", image, check=False)


def test_usage_script(python3_builder: str) -> None:
    explicit = harness.s2i_usage(harness.docker("run", "--rm", python3_builder, "/usr/libexec/s2i/usage"))
    default = harness.s2i_usage(harness.docker("run", "--rm", python3_builder))
    assert explicit == default
    # the name the image was built under (PYTHON_IMAGE; committed default seldon-core-s2i-python3:VERSION)
    assert f"s2i build ./my-model {harness.PYTHON3_BUILDER} my-model:0.1" in explicit
    assert "http://127.0.0.1:9000/api/v1.0/predictions" in explicit


def test_usage_keeps_its_layout_as_s2i_usage_shows_it(python3_builder: str) -> None:
    result = harness.docker("run", "--rm", python3_builder, "/usr/libexec/s2i/usage")
    assert result.stdout == b""  # s2i would trim every line's indentation there
    shown = harness.s2i_usage(result)
    # the tables keep their indentation, continuation lines included, so the columns line up
    assert "\n  MODEL_NAME            required." in shown
    assert "\n                        --hash lines work)" in shown


def test_save_artifacts_streams_only_its_note(model_template_image: str) -> None:
    result = harness.docker("run", "--rm", model_template_image, "/usr/libexec/s2i/save-artifacts")
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as tar:
        names = tar.getnames()
    assert names == ["s2i-incremental-note.txt"]
    assert result.stderr == b""


def test_sigterm_stops_the_server_promptly(model_template_image: str) -> None:
    with harness.serve(model_template_image) as server:
        started = time.monotonic()
        harness.docker("stop", "--time", "20", server.container)
        assert time.monotonic() - started < 10
        state = json.loads(harness.docker("inspect", server.container).stdout)[0]["State"]
        assert state["ExitCode"] == 0


def test_arbitrary_uid_in_group_zero(model_template_image: str) -> None:
    """OpenShift runs images as a random UID in group 0."""
    with harness.serve(model_template_image, user="123456:0") as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1.0, 2.0, 3.0]]}})
        assert harness.flat(reply.json()["data"]["ndarray"]) == pytest.approx([3.1])
        touched = harness.docker("exec", server.container, "touch", "/opt/app-root/src/written", check=False)
        assert touched.returncode == 0, touched.stderr


def test_workers_follow_the_container_cpu_limit(model_template_image: str) -> None:
    with harness.serve(model_template_image, docker_args=["--cpus", "1"]) as server:
        assert "Sized for 1 CPUs" in server.logs()
        assert "GUNICORN_WORKERS=1" in server.logs()
    with harness.serve(
        model_template_image, docker_args=["--cpus", "2"], env={"GUNICORN_WORKERS": "3"}
    ) as server:
        time.sleep(2)  # let every worker boot
        logs = server.logs()
        assert "GUNICORN_WORKERS=" not in logs  # the user's value wins, and no default is logged for it
        assert "GUNICORN_MAX_REQUESTS=100000" in logs
        assert logs.count("Spawning worker-") == 3  # granian's REST workers
        assert logs.count("Booting worker with pid") == 1  # the metrics server's (gunicorn)
