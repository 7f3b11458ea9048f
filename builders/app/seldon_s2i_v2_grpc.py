"""The Open Inference Protocol's `inference.GRPCInferenceService`, added to the wrapper's gRPC server.

Its stubs (seldon_s2i_inference_pb2, _pb2_grpc) are generated with grpcio-tools at image build from
seldon_s2i_inference.proto, as the Seldon protocol's are. A request with `raw_input_contents` (what
Triton's client sends) is answered with `raw_output_contents`; one with `contents` with `contents`
(FP16, which has no `contents` field, always goes raw). The mapping to the class is seldon_s2i_v2's.

This file runs in the application interpreter: it imports nothing from the builder's tools.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import grpc
import numpy as np
import seldon_s2i_inference_pb2 as pb
import seldon_s2i_inference_pb2_grpc as pb_grpc
import seldon_s2i_v2 as v2
import seldon_s2i_v2_tensors as tensors
from google.protobuf import json_format

logger = logging.getLogger(__name__)
SERVICE = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name  # inference.GRPCInferenceService

# the InferTensorContents field of each datatype (FP16 has none: raw only)
CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def parameter_value(parameter: Any) -> Any:
    choice = parameter.WhichOneof("parameter_choice")
    return getattr(parameter, choice) if choice else None


def set_parameter(parameter: Any, value: Any) -> None:
    if isinstance(value, bool | np.bool_):
        parameter.bool_param = bool(value)
    elif isinstance(value, int | np.integer):
        if value < 0 or value < 2**63:
            parameter.int64_param = int(value)
        else:
            parameter.uint64_param = int(value)
    elif isinstance(value, float | np.floating):
        parameter.double_param = float(value)
    elif isinstance(value, str):
        parameter.string_param = value
    else:  # lists, dicts, None: as JSON text
        parameter.string_param = json.dumps(value, default=str)


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
    def __init__(self, served: v2.Served) -> None:
        self.served = served

    def ServerLive(self, request: Any, context: Any) -> Any:
        return pb.ServerLiveResponse(live=True)

    def ServerReady(self, request: Any, context: Any) -> Any:
        return pb.ServerReadyResponse(ready=v2.readiness())

    def ModelReady(self, request: Any, context: Any) -> Any:
        self._known(request.name, context)
        return pb.ModelReadyResponse(ready=v2.readiness())

    def ServerMetadata(self, request: Any, context: Any) -> Any:
        from seldon_core import __version__

        return pb.ServerMetadataResponse(name=v2.SERVER_NAME, version=__version__, extensions=v2.EXTENSIONS)

    def ModelMetadata(self, request: Any, context: Any) -> Any:
        self._known(request.name, context)
        return json_format.ParseDict(self.served.metadata(), pb.ModelMetadataResponse())

    def _known(self, name: str, context: Any) -> None:
        if name != self.served.name:
            _abort(context, v2.not_found(name, self.served.name))

    def ModelInfer(self, request: Any, context: Any) -> Any:
        if not v2.loaded():
            _abort(
                context,
                tensors.V2Error(
                    "the model is loading: call again once ModelReady is true", 503, "UNAVAILABLE"
                ),
            )
        try:
            return self._infer(request)
        except tensors.V2Error as e:
            _abort(context, e)
        except Exception as e:
            logger.exception("V2 gRPC request failed")
            _abort(context, tensors.V2Error(f"{type(e).__name__}: {e}", 500, "INTERNAL"))

    def _infer(self, request: Any) -> Any:
        served = self.served
        served.check(request.model_name)
        if served.raw is not None:
            return passthrough_response(served.raw(request))
        raw = request.raw_input_contents
        if raw and len(raw) != len(request.inputs):
            raise tensors.V2Error(
                f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs: with raw "
                "contents every input must be in it, in order"
            )
        inputs = []
        for i, item in enumerate(request.inputs):
            shape = list(item.shape)
            if any(d < 0 for d in shape):
                raise tensors.V2Error(f"input {item.name!r}: shape {shape} has a negative dimension")
            if raw:
                array = tensors.from_raw(item.name, item.datatype, shape, raw[i])
            else:
                array = from_contents(item.name, item.datatype, shape, item.contents)
            inputs.append(tensors.Tensor(item.name, item.datatype, array))
        parameters = {key: parameter_value(value) for key, value in request.parameters.items()}
        outputs, out_parameters = served.infer(
            inputs, [o.name for o in request.outputs], request.id, parameters
        )
        response = pb.ModelInferResponse(model_name=served.name, id=request.id)
        for key, value in out_parameters.items():
            set_parameter(response.parameters[key], value)
        as_raw = bool(raw) or any(t.datatype == "FP16" for t in outputs)
        for tensor in outputs:
            entry = response.outputs.add(name=tensor.name, datatype=tensor.datatype, shape=tensor.array.shape)
            if as_raw:
                response.raw_output_contents.append(tensors.to_raw(tensor.datatype, tensor.array))
            else:
                field = getattr(entry.contents, CONTENTS[tensor.datatype])
                field.extend(tensor.array.ravel().tolist())
        return response


def from_contents(name: str, datatype: str, shape: list[int], contents: Any) -> Any:
    dtype = tensors.dtype_of(name, datatype)
    field = CONTENTS.get(datatype)
    if field is None:
        raise tensors.V2Error(
            f"input {name!r}: {datatype} has no contents field: send it in raw_input_contents"
        )
    values = getattr(contents, field)
    count = tensors.elements(shape)
    if len(values) != count:
        raise tensors.V2Error(
            f"input {name!r}: shape {shape} holds {count} values, {field} has {len(values)}"
        )
    if datatype == "BYTES":
        array = np.empty(count, dtype=object)
        array[:] = list(values)
    else:
        try:
            array = np.array(values, dtype=dtype)
        except OverflowError as e:
            raise tensors.V2Error(f"input {name!r}: a value is out of range for {datatype}: {e}") from None
    return array.reshape(shape)


def passthrough_response(result: Any) -> Any:
    """What a raw method returned, as a ModelInferResponse: the message itself, its serialized bytes,
    or its JSON form (a dict, or text)."""
    if isinstance(result, pb.ModelInferResponse):
        return result
    if isinstance(result, bytes):
        return pb.ModelInferResponse.FromString(result)
    if isinstance(result, str):
        result = json.loads(result)
    return json_format.ParseDict(result, pb.ModelInferResponse())


def _abort(context: Any, error: tensors.V2Error) -> None:
    context.abort(getattr(grpc.StatusCode, error.code), error.message)


def add_to_server(server: Any, served: v2.Served) -> None:
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(served), server)


class _Pools:
    """What gRPC reflection asks of a descriptor pool (FindFileByName, FindFileContainingSymbol, ...),
    answered by the first of `pools` that knows the name."""

    def __init__(self, *pools: Any) -> None:
        self.pools = pools

    def __getattr__(self, method: str) -> Any:
        def find(*args: Any) -> Any:
            for pool in self.pools[:-1]:
                try:
                    return getattr(pool, method)(*args)
                except KeyError:
                    continue
            return getattr(self.pools[-1], method)(*args)

        return find


def enable_reflection(service_names: Any, server: Any) -> None:
    """The wrapper's reflection, with this service listed too: its descriptors are in a pool of
    their own (Dockerfile.python3), the wrapper's in protobuf's default one."""
    from google.protobuf import descriptor_pool
    from grpc_reflection.v1alpha import reflection

    pools = _Pools(descriptor_pool.Default(), pb.DESCRIPTOR.pool)
    reflection.enable_server_reflection((*service_names, SERVICE), server, pool=pools)
