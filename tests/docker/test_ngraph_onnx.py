"""The ngraph-onnx builder end to end: an ONNX model written at test time is built into an image with
templates/onnx-model-template-app, served, and its answers compared with ONNX Runtime's own."""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import requests
from onnx import TensorProto, helper, numpy_helper

from tests import harness

pytestmark = pytest.mark.docker

TEMPLATE = harness.TEMPLATES / "onnx-model-template-app"
CLASSIFIER = "models/classifier.onnx"
# The OpenVINO wheel exists for x86_64 Linux only; elsewhere the image has the CPU build.
OPENVINO_EXPECTED = platform.machine() in ("x86_64", "AMD64")


def classifier() -> onnx.ModelProto:
    """Softmax regression, 4 measurements -> 3 class probabilities; names unlike the template's."""
    rng = np.random.default_rng(7)
    weights = rng.normal(size=(4, 3)).astype(np.float32)
    bias = rng.normal(size=3).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["measurements", "weights", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["class_probabilities"], axis=1),
        ],
        "softmax_regression",
        [helper.make_tensor_value_info("measurements", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("class_probabilities", TensorProto.FLOAT, ["batch", 3])],
        initializer=[numpy_helper.from_array(weights, "weights"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def reference(model: Path, rows: np.ndarray) -> np.ndarray:
    """ONNX Runtime's answer in the test environment (its CPU provider)."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: rows})[0]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as shipped, plus a second model made now at models/classifier.onnx."""
    folder = tmp_path_factory.mktemp("onnx") / "app"
    shutil.copytree(TEMPLATE, folder)
    (folder / CLASSIFIER).parent.mkdir()
    onnx.save(classifier(), folder / CLASSIFIER)
    return folder


@pytest.fixture(scope="module")
def onnx_image(onnx_builder: str, source: Path) -> Iterator[str]:
    image = harness.unique_tag("onnx-model")
    try:
        result = harness.build_ok(source, image, builder=onnx_builder)
        assert "OnnxModel provides: class_names, init_metadata, predict" in result.log
        yield image
    finally:
        harness.docker("rmi", "--force", image, check=False)


@pytest.fixture(scope="module")
def classifier_server(onnx_image: str) -> Iterator[harness.Server]:
    """The image serving the test's model, chosen with the template's model_path parameter."""
    parameters = [{"name": "model_path", "value": CLASSIFIER, "type": "STRING"}]
    with harness.serve(onnx_image, env={"PREDICTIVE_UNIT_PARAMETERS": json.dumps(parameters)}) as server:
        yield server


def test_predictions_equal_onnxruntime(classifier_server: harness.Server, source: Path) -> None:
    rows = np.random.default_rng(11).normal(size=(5, 4)).astype(np.float32)
    response = classifier_server.post("/api/v1.0/predictions", json={"data": {"ndarray": rows.tolist()}})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["names"] == ["class_probabilities:0", "class_probabilities:1", "class_probabilities:2"]
    expected = reference(source / CLASSIFIER, rows)
    assert np.array(data["ndarray"]).shape == (5, 3)
    assert harness.flat(data["ndarray"]) == pytest.approx(expected.ravel().tolist(), rel=1e-5, abs=1e-6)


def test_metadata_reports_the_models_names_types_and_shapes(classifier_server: harness.Server) -> None:
    metadata = requests.get(classifier_server.url("/metadata"), timeout=10).json()
    assert metadata["name"] == "classifier"
    assert metadata["platform"].startswith("onnxruntime-")
    assert metadata["inputs"] == [{"name": "measurements", "datatype": "FP32", "shape": [-1, 4]}]
    assert metadata["outputs"] == [{"name": "class_probabilities", "datatype": "FP32", "shape": [-1, 3]}]
    providers = metadata["custom"]["execution_providers"].split(",")
    assert providers[-1] == "CPUExecutionProvider"
    assert (providers[0] == "OpenVINOExecutionProvider") == OPENVINO_EXPECTED, providers


def test_template_as_shipped_serves_its_model(onnx_image: str) -> None:
    rows = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 2.0]], dtype=np.float32)
    with harness.serve(onnx_image) as server:
        response = server.post("/api/v1.0/predictions", json={"data": {"ndarray": rows.tolist()}})
        metadata = requests.get(server.url("/metadata"), timeout=10).json()
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["names"] == ["probability"]
    expected = reference(TEMPLATE / "model.onnx", rows)
    assert harness.flat(data["ndarray"]) == pytest.approx(expected.ravel().tolist(), rel=1e-5, abs=1e-6)
    assert metadata["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 3]}]
    assert metadata["outputs"] == [{"name": "probability", "datatype": "FP32", "shape": [-1, 1]}]


def test_usage_and_wrapper_requirements_name_the_runtime(onnx_builder: str) -> None:
    run = ("run", "--rm", "--network", "host", onnx_builder)
    usage = harness.s2i_usage(harness.docker(*run))
    pins = (harness.ROOT / "builders" / "onnx-requirements.txt").read_text().split()
    installed = "onnxruntime-openvino" if OPENVINO_EXPECTED else "onnxruntime"
    pin = next(p for p in pins if p.startswith(f"{installed}=="))
    assert f"{pin} in /opt/app-root" in usage
    active = "OpenVINOExecutionProvider" if OPENVINO_EXPECTED else "CPUExecutionProvider"
    assert f"a sample model ran on: {active}" in usage
    assert f"s2i build ./my-onnx-model {onnx_builder.split(':')[0]}:{harness.VERSION}" in usage
    # an application's requirements are resolved with the runtime's pin, so they cannot replace it
    wrapper = harness.docker(*run, "cat", "/opt/s2i/wrapper-requirements.txt")
    assert pin in wrapper.stdout.decode().splitlines()
