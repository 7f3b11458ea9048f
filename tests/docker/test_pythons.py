"""One builder per Python. The full suite runs on the default (python3 = python313); here each other
Python gets the smoke set: the model template built and served (REST, gRPC) on its own Python, one
lock file, the refusal of a source that asks for another Python; and every image, builder and model,
is hardened (no setuid/setgid file, nothing world-writable outside /tmp)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from seldon_core.proto import prediction_pb2, prediction_pb2_grpc

from builders import python_version
from tests import harness, lockfiles

pytestmark = pytest.mark.docker

# Where a file may be world-writable: /tmp; and sticky directories (/var/tmp, /run/lock) are shared
# scratch space by design. -xdev keeps find off /proc and /sys.
UNSAFE = (
    "find / -xdev -path /tmp -prune -o -type f -perm /6000 -print"
    " -o ! -type l -perm -o+w ! -perm -1000 -print"
)


@pytest.fixture(scope="session")
def other_model(other_builder: str) -> Iterator[str]:
    """The model template built by each other Python's builder, once per session."""
    image = harness.unique_tag("model-template-" + other_builder.rsplit("python", 1)[1].split(":")[0])
    harness.build_ok(harness.TEMPLATES / "model-template-app", image, builder=other_builder)
    yield image
    harness.docker("rmi", "--force", image, check=False)


def minor_of(builder: str) -> str:
    labels = json.loads(harness.docker("image", "inspect", builder).stdout)[0]["Config"]["Labels"]
    return str(labels["io.seldon.s2i.python"])


def test_each_python_serves_the_model_template_on_its_own_python(
    other_builder: str, other_model: str
) -> None:
    minor = minor_of(other_builder)
    with harness.serve(other_model) as server:
        reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1.0, 2.0, 3.0]]}})
        assert reply.status_code == 200, reply.text
        assert harness.flat(reply.json()["data"]["ndarray"]) == pytest.approx([3.1])
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc}")
        grpc.channel_ready_future(channel).result(timeout=30)
        request = prediction_pb2.SeldonMessage(
            data=prediction_pb2.DefaultData(tensor=prediction_pb2.Tensor(shape=[1, 3], values=[1, 2, 3]))
        )
        answer = prediction_pb2_grpc.ModelStub(channel).Predict(request, timeout=30)
        assert list(answer.data.tensor.values) == pytest.approx([3.1])
        channel.close()
        # the interpreter of the running model: the server is tini's child (PID 1), and the
        # application environment's python is the image's
        exe = "readlink /proc/$(cut -d' ' -f1 /proc/1/task/1/children)/exe"
        server_exe = harness.docker("exec", server.container, "sh", "-c", exe).stdout.decode().strip()
        assert server_exe == f"/usr/bin/python{minor}"
        code = "import sys; print('%d.%d' % sys.version_info[:2])"
        running = harness.docker("exec", server.container, "/opt/app-root/bin/python", "-c", code)
        assert running.stdout.decode().strip() == minor


def test_the_default_python_is_python3_and_python313(python3_builder: str) -> None:
    default = harness.builder_image(python_version.DEFAULT)
    ids = [
        json.loads(harness.docker("image", "inspect", i).stdout)[0]["Id"] for i in (python3_builder, default)
    ]
    assert ids[0] == ids[1]
    assert minor_of(python3_builder) == python_version.DEFAULT


@pytest.mark.parametrize("minor", python_version.PYTHONS)
def test_usage_and_labels_name_the_image_python(python3_builder: str, minor: str) -> None:
    image = harness.builder_image(minor)
    if not harness.image_exists(image):
        pytest.fail(f"{image} missing: `make images` builds every builder")
    config = json.loads(harness.docker("image", "inspect", image).stdout)[0]["Config"]
    labels = config["Labels"]
    assert labels["io.seldon.s2i.python"] == minor
    assert labels["org.opencontainers.image.title"] == f"seldon-core-s2i-python{minor.replace('.', '')}"
    assert f"Python {minor}" in labels["io.k8s.display-name"]
    usage = harness.s2i_usage(harness.docker("run", "--rm", image, "/usr/libexec/s2i/usage"))
    assert f"Python {minor}." in usage.splitlines()[0]
    shown = harness.PYTHON3_BUILDER if minor == python_version.DEFAULT else image
    assert f"s2i build ./my-model {shown} my-model:0.1" in usage
    for other in python_version.PYTHONS:
        assert f"Python {other}: {harness.builder_image(other)}" in usage


def test_a_source_asking_for_another_python_fails_at_once_naming_the_builder(other_builder: str) -> None:
    minor = minor_of(other_builder)
    image = harness.unique_tag("requires-python")
    result = harness.build(harness.FIXTURES / "requires_python_3_13", image, builder=other_builder)
    assert result.returncode == 2, result.log
    assert (
        f"ERROR pyproject.toml (requires-python = '==3.13.*') excludes this image's Python {minor}."
        in result.log
    )
    assert f"TIP Use {harness.builder_image('3.13')} (Python 3.13): its Python fits." in result.log
    assert "Traceback" not in result.log
    assert result.seconds < 30
    assert not harness.image_exists(image)


def test_a_requirement_the_python_refuses_is_not_called_a_pin_conflict(python3_builder: str) -> None:
    """numpy 2.5 needs Python 3.12 or later: only the 3.11 builder refuses it."""
    image = harness.unique_tag("numpy-needs-newer-python")
    builder = harness.builder_image("3.11")
    result = harness.build(harness.FIXTURES / "numpy_needs_newer_python", image, builder=builder)
    assert result.returncode == 1, result.log
    assert (
        "ERROR numpy>=2.5 (requirements.txt line 1) needs Python >=3.12, and this image runs Python 3.11."
        in result.log
    )
    fit = f"{harness.builder_image('3.13')} (Python 3.13) or {harness.builder_image('3.14')} (Python 3.14)"
    assert f"TIP Use {fit}, or relax the requirement" in result.log
    assert "wrapper's pins" not in result.log and "Traceback" not in result.log
    assert not harness.image_exists(image)


def test_a_lock_file_on_each_python(other_builder: str, tmp_path: Path) -> None:
    shelf = tmp_path / "shelf"
    harness.make_wheel(shelf, "s2i_shared", "1.0", 'VERSION = "shared-1.0"\n')
    image = harness.unique_tag("locked-app")
    with harness.private_index(shelf) as index:
        app = lockfiles.copy_app(tmp_path / "uv")
        lockfiles.FORMATS["uv.lock"].make(
            app, index, ["s2i-shared"], lockfiles.tool_env(index, tmp_path / "home")
        )
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "netrc").write_text(f"machine 127.0.0.1 login {index.user} password {index.token}\n")
        result = harness.build(app, image, builder=other_builder, inject=[f"{secrets}:/opt/s2i/secrets"])
    try:
        assert result.returncode == 0, result.log
        assert "uv.lock is current: 1 packages locked" in result.log
        assert "+ s2i-shared==1.0" in result.log
        with harness.serve(image) as server:
            reply = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1]]}}).json()
            assert reply["data"]["ndarray"] == [["shared-1.0"]]
    finally:
        harness.docker("rmi", "--force", image, check=False)


def unsafe_files(image: str) -> list[str]:
    found = harness.docker("run", "--rm", "--user", "0", "--entrypoint", "sh", image, "-c", UNSAFE)
    return found.stdout.decode().split()


def test_builders_and_the_models_they_build_are_hardened(
    python3_builder: str,
    onnx_builder: str,
    model_template_image: str,
    built: Callable[[Path], str],
) -> None:
    """No setuid/setgid file (Debian's minbase ships su, mount, passwd, ...), nothing world-writable
    outside /tmp (uv makes its .lock files 0666) in any builder, nor in a model built from one."""
    images = [harness.builder_image(minor) for minor in python_version.PYTHONS]
    images += [onnx_builder, model_template_image, built(harness.FIXTURES / "requirements_basic")]
    found = {image: unsafe_files(image) for image in images}
    assert found == {image: [] for image in images}


def test_a_model_built_by_another_python_is_hardened(other_model: str) -> None:
    assert unsafe_files(other_model) == []
