"""The Open Inference Protocol (V2) next to the Seldon protocol, called with the clients users have:
Triton's tritonclient (HTTP with and without the binary extension, gRPC with raw contents), its own
generated gRPC stubs (`contents`), and plain HTTP JSON.

tests/fixtures/v2_model is an identity model (every datatype makes a round trip) and, with
mode=sklearn, a scikit-learn classifier; the component types are the templates; serving_model has
the metrics, the tags and the slow requests; payload_passthrough the raw methods.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import requests
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from google.protobuf import descriptor_pb2
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

from tests import harness

pytestmark = pytest.mark.docker

Build = Callable[[Path], str]
MODEL = "V2Model"
SKLEARN = json.dumps([{"name": "mode", "value": "sklearn", "type": "STRING"}])
IRIS = np.array([[5.1, 3.5, 1.4, 0.2], [7.7, 2.6, 6.9, 2.3]])

# one tensor of every datatype, with values at the edges of its range
TENSORS = {
    "BOOL": np.array([[True, False, True]]),
    "INT8": np.array([[-128, 0, 127]], dtype=np.int8),
    "INT16": np.array([[-32768, 1, 32767]], dtype=np.int16),
    "INT32": np.array([[-(2**31), 2, 2**31 - 1]], dtype=np.int32),
    "INT64": np.array([[-(2**63), 3, 2**63 - 1]], dtype=np.int64),
    "UINT8": np.array([[0, 1, 255]], dtype=np.uint8),
    "UINT16": np.array([[0, 2, 65535]], dtype=np.uint16),
    "UINT32": np.array([[0, 3, 2**32 - 1]], dtype=np.uint32),
    "UINT64": np.array([[0, 4, 2**64 - 1]], dtype=np.uint64),
    "FP16": np.array([[-1.5, 0.0, 65504.0]], dtype=np.float16),
    "FP32": np.array([[-1.25, 0.5, 3.4e38]], dtype=np.float32),
    "FP64": np.array([[-1e300, 0.1, 1e-300]], dtype=np.float64),
    "BYTES": np.array([[b"ascii", "\u00e9t\u00e9 \u2603".encode(), b""]], dtype=object),
}


@pytest.fixture(scope="module")
def image(built: Build) -> str:
    return built(harness.FIXTURES / "v2_model")


@pytest.fixture(scope="module")
def server(image: str) -> Iterator[harness.Server]:
    with harness.serve(image) as server:
        yield server


def infer_url(server: harness.Server, model: str = MODEL) -> str:
    return server.url(f"/v2/models/{model}/infer")


def json_inputs(tensors: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    inputs = []
    for datatype, array in tensors.items():
        data = [v.decode() for v in array.ravel()] if datatype == "BYTES" else array.ravel().tolist()
        inputs.append(
            {"name": datatype.lower(), "datatype": datatype, "shape": list(array.shape), "data": data}
        )
    return inputs


def test_json_round_trip_of_every_datatype(server: harness.Server) -> None:
    request = {"id": "req-1", "parameters": {"team": "a", "n": 3}, "inputs": json_inputs(TENSORS)}
    reply = requests.post(infer_url(server), json=request, timeout=30)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model_name"] == MODEL and body["id"] == "req-1"
    assert body["parameters"]["team"] == "a" and body["parameters"]["n"] == 3
    assert [o["name"] for o in body["outputs"]] == [t["name"] for t in request["inputs"]]
    for sent, got in zip(request["inputs"], body["outputs"], strict=True):
        assert (got["datatype"], got["shape"]) == (sent["datatype"], sent["shape"])
        assert got["data"] == sent["data"], sent["datatype"]
    # the class got a dict of numpy arrays of the datatypes, the request id as meta's puid
    seen = json.loads(body["parameters"]["seen"])
    assert seen["puid"] == "req-1" and seen["names"] == []
    assert seen["x"]["uint64"] == "ndarray:uint64:[1, 3]" and seen["x"]["fp16"] == "ndarray:float16:[1, 3]"
    assert seen["x"]["bytes"] == "ndarray:object:[1, 3]"


def test_one_input_is_x_itself_and_nested_data_is_accepted(server: harness.Server) -> None:
    request = {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2], [3, 4]]}],
        "outputs": [{"name": "y"}],
        "parameters": {"names": "a, b"},
    }
    body = requests.post(infer_url(server), json=request, timeout=30).json()
    assert body["outputs"] == [
        {"name": "y", "datatype": "FP32", "shape": [2, 2], "data": [1.0, 2.0, 3.0, 4.0]}
    ]
    seen = json.loads(body["parameters"]["seen"])
    assert seen["x"] == "ndarray:float32:[2, 2]" and seen["names"] == ["a", "b"]
    assert "id" not in body


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_http_round_trip(server: harness.Server, binary: bool) -> None:
    client = triton_http.InferenceServerClient(f"127.0.0.1:{server.http}")
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(MODEL)
    assert client.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    assert client.get_model_metadata(MODEL)["name"] == MODEL
    inputs = []
    for datatype, array in TENSORS.items():
        if datatype == "FP16" and not binary:
            continue  # tritonclient sends FP16 only as binary data
        tensor = triton_http.InferInput(datatype.lower(), list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    outputs = [triton_http.InferRequestedOutput(t.name(), binary_data=binary) for t in inputs]
    result = client.infer(MODEL, inputs, outputs=outputs, request_id="tc-1", parameters={"k": "v"})
    response = result.get_response()
    assert response["id"] == "tc-1" and response["parameters"]["k"] == "v"
    for tensor in inputs:
        got, sent = result.as_numpy(tensor.name()), TENSORS[tensor.datatype()]
        if tensor.datatype() == "BYTES" and not binary:  # tritonclient decodes JSON strings to str
            sent = np.vectorize(bytes.decode, otypes=[object])(sent)
        assert got.shape == sent.shape and got.tolist() == sent.tolist(), tensor.datatype()
        if tensor.datatype() != "BYTES":
            assert got.dtype == sent.dtype
    # no outputs named: tritonclient asks for every output in binary, and gets all of them
    result = client.infer(MODEL, inputs[:2])
    assert [o["name"] for o in result.get_response()["outputs"]] == ["bool", "int8"]
    client.close()


def test_tritonclient_grpc_raw_round_trip(server: harness.Server) -> None:
    client = triton_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc}")
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready(MODEL)
    assert client.get_model_metadata(MODEL).name == MODEL
    inputs = []
    for datatype, array in TENSORS.items():
        tensor = triton_grpc.InferInput(datatype.lower(), list(array.shape), datatype)
        tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    result = client.infer(MODEL, inputs, request_id="g-1", parameters={"k": "v", "n": 2})
    response = result.get_response()
    assert response.id == "g-1" and response.parameters["k"].string_param == "v"
    assert response.parameters["n"].int64_param == 2
    assert len(response.raw_output_contents) == len(TENSORS)
    for datatype, sent in TENSORS.items():
        got = result.as_numpy(datatype.lower())
        assert got.shape == sent.shape and got.tolist() == sent.tolist(), datatype
    client.close()


def stub(server: harness.Server) -> Any:
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc}")
    grpc.channel_ready_future(channel).result(timeout=30)
    return service_pb2_grpc.GRPCInferenceServiceStub(channel)


def reflected(server: harness.Server) -> tuple[list[str], Any]:
    """The services gRPC reflection lists (what `grpcurl list` shows), and a pool that resolves
    their descriptors through reflection."""
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc}")
    database = ProtoReflectionDescriptorDatabase(channel)
    return list(database.get_services()), DescriptorPool(database)


def test_grpc_reflection_lists_and_describes_the_v2_service(server: harness.Server) -> None:
    services, pool = reflected(server)
    assert {"inference.GRPCInferenceService", "seldon.protos.Model", "seldon.protos.Seldon"} <= set(services)
    service = pool.FindServiceByName("inference.GRPCInferenceService")
    assert service.methods_by_name["ModelInfer"].input_type.full_name == "inference.ModelInferRequest"


def test_grpc_contents_through_tritonclients_own_stubs(server: harness.Server) -> None:
    """`contents` instead of raw: sent and read with the messages tritonclient generated from
    Triton's grpc_service.proto, so this is also a wire check of the project's .proto."""
    fields = {
        "BOOL": "bool_contents",
        "INT8": "int_contents",
        "INT32": "int_contents",
        "INT64": "int64_contents",
        "UINT16": "uint_contents",
        "UINT64": "uint64_contents",
        "FP32": "fp32_contents",
        "FP64": "fp64_contents",
        "BYTES": "bytes_contents",
    }
    request = service_pb2.ModelInferRequest(model_name=MODEL, id="c-1")
    for datatype, field in fields.items():
        array = TENSORS[datatype]
        tensor = request.inputs.add(name=datatype.lower(), datatype=datatype, shape=array.shape)
        getattr(tensor.contents, field).extend(array.ravel().tolist())
    response = stub(server).ModelInfer(request, timeout=30)
    assert response.id == "c-1" and not response.raw_output_contents
    for output, (datatype, field) in zip(response.outputs, fields.items(), strict=True):
        assert (output.name, output.datatype, list(output.shape)) == (datatype.lower(), datatype, [1, 3])
        assert list(getattr(output.contents, field)) == TENSORS[datatype].ravel().tolist()


def our_descriptor(image: str) -> descriptor_pb2.FileDescriptorProto:
    shim = '"$(/opt/s2i/tools/bin/python -I -c "from builders.run import APP_DIR; print(APP_DIR)")"'
    script = (
        f"PYTHONPATH={shim} "
        "exec python -c 'import base64, seldon_s2i_inference_pb2 as pb; "
        "print(base64.b64encode(pb.DESCRIPTOR.serialized_pb).decode())'"
    )
    out = harness.docker("run", "--rm", "--entrypoint", "sh", image, "-c", script).stdout
    return descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(out))


def messages(file: descriptor_pb2.FileDescriptorProto) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def walk(prefix: str, message: Any) -> None:
        name = f"{prefix}.{message.name}"
        found[name] = sorted(
            (f.name, f.number, f.type, f.label, f.type_name, f.HasField("oneof_index")) for f in message.field
        )
        for nested in message.nested_type:
            walk(name, nested)

    for message in file.message_type:
        walk(".inference", message)
    return found


def test_the_proto_matches_tritonclients_generated_stubs(image: str) -> None:
    """Every message, field (name, number, type, label) and rpc of the image's .proto is the same in
    tritonclient's own stubs (Triton's grpc_service.proto, a superset of the protocol)."""
    ours = our_descriptor(image)
    theirs = descriptor_pb2.FileDescriptorProto()
    service_pb2.DESCRIPTOR.CopyToProto(theirs)
    assert ours.package == theirs.package == "inference"
    our_messages, their_messages = messages(ours), messages(theirs)
    assert len(our_messages) >= 20
    for name, fields in our_messages.items():
        assert fields == their_messages.get(name), name
    (service,) = ours.service
    (triton,) = [s for s in theirs.service if s.name == service.name == "GRPCInferenceService"]
    their_methods = {m.name: (m.input_type, m.output_type) for m in triton.method}
    our_methods = {m.name: (m.input_type, m.output_type) for m in service.method}
    assert set(our_methods) == {
        "ServerLive",
        "ServerReady",
        "ModelReady",
        "ServerMetadata",
        "ModelMetadata",
        "ModelInfer",
    }
    assert {name: their_methods[name] for name in our_methods} == our_methods


def test_health_and_metadata_paths_with_and_without_versions(server: harness.Server) -> None:
    get = lambda path: requests.get(server.url(path), timeout=10)  # noqa: E731
    assert get("/v2/health/live").status_code == get("/v2/health/ready").status_code == 200
    assert get("/v2").json()["name"] == "seldon-core-s2i"
    for prefix in (f"/v2/models/{MODEL}", f"/v2/models/{MODEL}/versions/1"):
        assert get(prefix).json() == {
            "name": MODEL,
            "versions": [],
            "platform": "seldon-core-python",
            "inputs": [],
            "outputs": [],
        }
        assert get(prefix + "/ready").status_code == 200
    versioned = requests.post(
        server.url(f"/v2/models/{MODEL}/versions/7/infer"),
        json={"inputs": [{"name": "x", "datatype": "INT32", "shape": [1], "data": [5]}]},
        timeout=10,
    )
    assert versioned.json()["outputs"][0]["data"] == [5]
    # the Seldon protocol is still there, unchanged
    seldon = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1, 2]]}})
    assert seldon.json()["data"]["ndarray"] == [[1, 2]]
    assert get("/health/ping").text == "pong"


BAD_REQUESTS = {
    "not json": (b"{nope", "not JSON"),
    "no inputs": (b'{"id": "1"}', '"inputs" list'),
    "shape mismatch": (
        json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3]}]}),
        "shape [2, 2] holds 4 values, data has 3",
    ),
    "bad datatype": (
        json.dumps({"inputs": [{"name": "x", "datatype": "FLOAT", "shape": [1], "data": [1]}]}),
        "datatype 'FLOAT' is not one of",
    ),
    "out of range": (
        json.dumps({"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1], "data": [256]}]}),
        "data is not UINT8",
    ),
    "bad shape": (
        json.dumps({"inputs": [{"name": "x", "datatype": "INT8", "shape": [-1], "data": [1]}]}),
        "non-negative integers",
    ),
    "unknown output": (
        json.dumps(
            {
                "inputs": [{"name": "x", "datatype": "INT8", "shape": [1], "data": [1]}],
                "outputs": [{"name": "a"}, {"name": "b"}],
            }
        ),
        "unknown output 'a'",
    ),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_rest_requests_are_400_with_an_error(server: harness.Server, case: str) -> None:
    body, message = BAD_REQUESTS[case]
    reply = requests.post(infer_url(server), data=body, timeout=10)
    assert reply.status_code == 400, reply.text
    assert message in reply.json()["error"]


def test_bad_binary_data_is_400(server: harness.Server) -> None:
    head = json.dumps(
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}}]}
    ).encode()
    short = requests.post(
        infer_url(server),
        data=head + b"\0" * 4,
        headers={"Inference-Header-Content-Length": str(len(head))},
        timeout=10,
    )
    assert short.status_code == 400 and "binary_data_size 8" in short.json()["error"]
    wrong = requests.post(
        infer_url(server),
        data=head + b"\0" * 8,
        headers={"Inference-Header-Content-Length": str(len(head) + 100)},
        timeout=10,
    )
    assert wrong.status_code == 400 and "Inference-Header-Content-Length" in wrong.json()["error"]


def test_unknown_model_is_404_and_not_found(server: harness.Server) -> None:
    for path in ("/v2/models/Other", "/v2/models/Other/ready", "/v2/models/Other/versions/1/ready"):
        reply = requests.get(server.url(path), timeout=10)
        assert reply.status_code == 404 and "'Other'" in reply.json()["error"], path
    reply = requests.post(infer_url(server, "Other"), json={"inputs": []}, timeout=10)
    assert reply.status_code == 404 and MODEL in reply.json()["error"]
    client = triton_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc}")
    tensor = triton_grpc.InferInput("x", [1], "INT32")
    tensor.set_data_from_numpy(np.array([1], dtype=np.int32))
    with pytest.raises(InferenceServerException) as error:
        client.infer("Other", [tensor])
    assert error.value.status() == "StatusCode.NOT_FOUND"
    with pytest.raises(InferenceServerException) as error:
        client.is_model_ready("Other")
    assert error.value.status() == "StatusCode.NOT_FOUND"
    client.close()


def test_bad_grpc_tensors_are_invalid_argument(server: harness.Server) -> None:
    grpc_stub = stub(server)
    mismatch = service_pb2.ModelInferRequest(model_name=MODEL)
    mismatch.inputs.add(name="x", datatype="FP32", shape=[2, 2]).contents.fp32_contents.extend([1, 2, 3])
    raw_short = service_pb2.ModelInferRequest(model_name=MODEL, raw_input_contents=[b"\0" * 5])
    raw_short.inputs.add(name="x", datatype="INT32", shape=[2])
    fp16_contents = service_pb2.ModelInferRequest(model_name=MODEL)
    fp16_contents.inputs.add(name="x", datatype="FP16", shape=[1])
    for request, message in (
        (mismatch, "holds 4 values, fp32_contents has 3"),
        (raw_short, "needs 8 bytes, got 5"),
        (fp16_contents, "send it in raw_input_contents"),
    ):
        with pytest.raises(grpc.RpcError) as error:
            grpc_stub.ModelInfer(request, timeout=10)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in error.value.details()


def test_scikit_learn_model_and_model_name_variable(image: str) -> None:
    """The same class answers both protocols with the same numbers; SELDON_S2I_V2_MODEL_NAME names it."""
    env = {"PREDICTIVE_UNIT_PARAMETERS": SKLEARN, "SELDON_S2I_V2_MODEL_NAME": "iris"}
    with harness.serve(image, env=env) as server:
        seldon = server.post("/api/v1.0/predictions", json={"data": {"ndarray": IRIS.tolist()}})
        expected = np.array(seldon.json()["data"]["ndarray"])
        assert expected.shape == (2, 3) and expected.argmax(axis=1).tolist() == [0, 2]
        assert requests.get(server.url(f"/v2/models/{MODEL}"), timeout=10).status_code == 404
        http = triton_http.InferenceServerClient(f"127.0.0.1:{server.http}")
        rows = triton_http.InferInput("input-0", [2, 4], "FP64")
        rows.set_data_from_numpy(IRIS)
        result = http.infer("iris", [rows])
        assert result.as_numpy("output-0").ravel().tolist() == pytest.approx(expected.ravel().tolist())
        assert result.get_response()["outputs"][0]["datatype"] == "FP64"
        client = triton_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc}")
        rows = triton_grpc.InferInput("input-0", [2, 4], "FP32")
        rows.set_data_from_numpy(IRIS.astype(np.float32))
        result = client.infer("iris", [rows], outputs=[triton_grpc.InferRequestedOutput("probabilities")])
        got = result.as_numpy("probabilities")
        assert got.shape == (2, 3)
        assert got.ravel().tolist() == pytest.approx(expected.ravel().tolist(), abs=1e-6)
        http.close()
        client.close()


def test_v2_off_serves_the_seldon_protocol_only(image: str) -> None:
    """SELDON_S2I_V2=off: no V2 inference or metadata over REST or gRPC; the Seldon protocol and the
    probes (V2's health routes among them) as usual."""
    with harness.serve(image, env={"SELDON_S2I_V2": "off"}) as server:
        seldon = server.post("/api/v1.0/predictions", json={"data": {"ndarray": [[1.0, 2.0]]}})
        assert seldon.status_code == 200, seldon.text
        assert requests.post(infer_url(server), json={"inputs": []}, timeout=10).status_code == 404
        assert requests.get(server.url(f"/v2/models/{MODEL}"), timeout=10).status_code == 404
        assert requests.get(server.url("/v2/health/ready"), timeout=10).status_code == 200
        client = triton_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc}")
        with pytest.raises(InferenceServerException) as error:
            client.is_server_live()
        assert error.value.status() == "StatusCode.UNIMPLEMENTED"
        client.close()
        services, _ = reflected(server)
        assert "seldon.protos.Model" in services and "inference.GRPCInferenceService" not in services


def v2_json(server: harness.Server, name: str, array: list[Any]) -> requests.Response:
    tensor = {"name": "x", "datatype": "FP64", "shape": list(np.shape(array)), "data": array}
    return requests.post(infer_url(server, name), json={"inputs": [tensor]}, timeout=30)


def test_component_types(built: Build) -> None:
    """TRANSFORMER and OUTPUT_TRANSFORMER answer infer with their transform; ROUTER and COMBINER say
    that V2 has no call for them (501 / UNIMPLEMENTED) while their probes and metadata answer."""
    template = lambda name: built(harness.TEMPLATES / f"{name}-template-app")  # noqa: E731
    with harness.serve(template("transformer")) as server:
        seldon = server.post("/transform-input", json={"data": {"ndarray": IRIS.tolist()}}).json()
        reply = v2_json(server, "MyTransformer", IRIS.tolist())
        assert reply.status_code == 200, reply.text
        assert reply.json()["outputs"][0]["data"] == pytest.approx(harness.flat(seldon["data"]["ndarray"]))
    with harness.serve(template("output-transformer")) as server:
        probabilities = [[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]]
        seldon = server.post("/transform-output", json={"data": {"ndarray": probabilities}}).json()
        reply = v2_json(server, "MyOutputTransformer", probabilities)
        assert reply.status_code == 200, reply.text
        output = reply.json()["outputs"][0]
        rows = seldon["data"]["ndarray"]  # [[label, probability], ...]: numpy makes it a string tensor
        assert (output["datatype"], output["shape"]) == ("BYTES", [2, 2])
        assert output["data"][0::2] == [row[0] for row in rows] == ["versicolor", "setosa"]
        assert [float(p) for p in output["data"][1::2]] == [row[1] for row in rows]
    for name, call in (("router", "route"), ("combiner", "aggregate")):
        with harness.serve(template(name)) as server:
            model = f"My{name.title()}"
            assert requests.get(server.url(f"/v2/models/{model}/ready"), timeout=10).status_code == 200
            reply = v2_json(server, model, [[1.0, 2.0]])
            assert reply.status_code == 501, reply.text
            assert f"no {call} call" in reply.json()["error"]
            request = service_pb2.ModelInferRequest(model_name=model)
            request.inputs.add(name="x", datatype="FP64", shape=[1]).contents.fp64_contents.append(1.0)
            with pytest.raises(grpc.RpcError) as error:
                stub(server).ModelInfer(request, timeout=10)
            assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED and call in error.value.details()


def test_payload_passthrough_hands_over_the_v2_request(built: Build) -> None:
    with harness.serve(built(harness.FIXTURES / "payload_passthrough")) as server:
        body = b'{"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["hi"]}]}'
        reply = requests.post(infer_url(server, "Passthrough"), data=body, timeout=10)
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"type": "bytes", "length": len(body), "upper": body.decode().upper()}
        request = service_pb2.ModelInferRequest(model_name="Passthrough", id="p-1")
        response = stub(server).ModelInfer(request, timeout=10)
        assert (response.model_name, response.id) == ("Passthrough", "p-1")
        assert response.parameters["type"].string_param == "ModelInferRequest"


def scrape(server: harness.Server) -> str:
    return requests.get(server.url("/metrics", server.metrics), timeout=5).text


def total(metrics: str, family: str, method: str = "predict") -> float:
    pattern = rf'^{family}\{{(.*method="{method}".*)\}} (\S+)$'
    return sum(float(m.group(2)) for m in re.finditer(pattern, metrics, re.M))


def test_metrics_and_tags_of_v2_calls(built: Build) -> None:
    """serving_model's custom metrics (metrics() and SeldonResponse's) and tags, for REST and gRPC V2."""
    with harness.serve(built(harness.FIXTURES / "serving_model")) as server:
        for _ in range(3):
            reply = requests.post(
                infer_url(server, "ServingModel"),
                json={"inputs": [{"name": "x", "datatype": "FP64", "shape": [2, 2], "data": [0, 1, 0, 1]}]},
                timeout=30,
            )
            assert reply.status_code == 200, reply.text
            assert reply.json()["parameters"]["slept"] == 0.0
        client = triton_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc}")
        tensor = triton_grpc.InferInput("x", [1, 2], "FP64")
        tensor.set_data_from_numpy(np.array([[0.0, 1.0]]))
        for _ in range(2):
            assert client.infer("ServingModel", [tensor]).get_response().parameters["slept"].double_param == 0
        client.close()
        metrics = scrape(server)
    assert total(metrics, "answered_total") == 5, metrics
    assert total(metrics, "rows_total") == 3 * 2 + 2 * 1, metrics
    assert total(metrics, "sleep_ms_count") == 5, metrics


def test_sigterm_answers_v2_calls_in_flight(built: Build) -> None:
    """2 V2 REST requests on 2 workers plus 2 waiting, and 2 V2 gRPC calls, 2 s each, then `docker
    stop`: every one is answered, and the container exits 0."""
    env = {"GUNICORN_WORKERS": "2", "SELDON_S2I_DRAIN_SECONDS": "0"}
    image = built(harness.FIXTURES / "serving_model")

    def rest(i: int) -> requests.Response:
        return v2_json(server, "ServingModel", [[2.0, float(i)]])

    def call(i: int) -> Any:
        client = triton_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc}")
        tensor = triton_grpc.InferInput("x", [1, 2], "FP64")
        tensor.set_data_from_numpy(np.array([[2.0, 10.0 + i]]))
        return client.infer("ServingModel", [tensor], client_timeout=60).as_numpy("output-0").tolist()

    with harness.serve(image, env=env) as server, ThreadPoolExecutor(6) as pool:
        assert triton_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc}").is_server_ready()
        rest_calls = [pool.submit(rest, i) for i in range(4)]
        grpc_calls = [pool.submit(call, i) for i in range(2)]
        time.sleep(1)
        harness.docker("stop", "--time", "30", server.container)
        for i, future in enumerate(rest_calls):
            reply = future.result()
            assert reply.status_code == 200, reply.text
            assert reply.json()["outputs"][0]["data"] == [2.0, float(i)]
        for i, future in enumerate(grpc_calls):
            assert future.result() == [[2.0, 10.0 + i]]
        state = json.loads(harness.docker("inspect", server.container).stdout)[0]["State"]
        assert state["ExitCode"] == 0, server.logs()


def test_readiness_is_false_while_draining(built: Build) -> None:
    with harness.serve(
        built(harness.FIXTURES / "serving_model"), env={"SELDON_S2I_DRAIN_SECONDS": "4"}
    ) as server:
        client = triton_grpc.InferenceServerClient(f"127.0.0.1:{server.grpc}")
        assert client.is_server_ready()
        harness.docker("kill", "--signal", "TERM", server.container)
        time.sleep(1)
        assert requests.get(server.url("/v2/health/ready"), timeout=5).status_code == 503
        assert requests.get(server.url("/v2/health/live"), timeout=5).status_code == 200
        assert not client.is_server_ready() and client.is_server_live()
        client.close()
