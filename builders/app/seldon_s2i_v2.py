"""The Open Inference Protocol (V2, "KServe v2") for the class the wrapper serves, over REST.

The same processes and ports as the Seldon protocol: a WSGI middleware in front of the wrapper's Flask
app answers the `/v2` paths (every other path goes to Flask untouched), and seldon_s2i_v2_grpc adds
`inference.GRPCInferenceService` to the wrapper's gRPC server. Both call `Served.infer`.

The mapping (README "Open Inference Protocol (V2)"):
- The model's name is the class name of MODEL_NAME; SELDON_S2I_V2_MODEL_NAME replaces it.
- One input: the class receives it as X, a numpy array of the tensor's datatype and shape (BYTES:
  an object array of `bytes`). Several inputs: X is a dict {input name: array}, in request order.
- `names` are the request's `names` parameter (a list, or a comma-separated string), else [];
  `meta` is {"puid": the request id, "tags": the request parameters}.
- What the class returns: a dict {name: value} gives one output per key; anything else one output,
  named after the one output the request asks for, else "output-0". A value becomes a tensor:
  numpy arrays keep their datatype; lists become the array numpy makes of them; str/bytes are BYTES.
- The request's `id` comes back; its parameters come back with the class's tags added.
- MODEL answers infer with predict, TRANSFORMER with transform_input, OUTPUT_TRANSFORMER with
  transform_output; a ROUTER or COMBINER answers 501 (V2 has no route or aggregate call).
- PAYLOAD_PASSTHROUGH: the raw method (predict_raw, ...) gets the request as it came: the body's
  bytes over REST, the ModelInferRequest over gRPC; its result is sent back as it is.
- Custom metrics (SeldonResponse metrics and `metrics()`) go to the same SeldonMetrics as Seldon calls,
  under the same `method` label.

This file runs in the application interpreter: it imports nothing from the builder's tools.
"""

from __future__ import annotations

import json
import logging
import math
import os
import struct
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import seldon_s2i_settings as settings

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT = "output-0"
PLATFORM = "seldon-core-python"
SERVER_NAME = "seldon-core-s2i"
EXTENSIONS = ["binary_tensor_data"]
HEADER_LENGTH = "HTTP_INFERENCE_HEADER_CONTENT_LENGTH"

DATATYPES: dict[str, Any] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}
_NAMES = {dtype: name for name, dtype in DATATYPES.items() if name != "BYTES"}
# little-endian on the wire, whatever this machine's order
_WIRE = {name: dtype.newbyteorder("<") for name, dtype in DATATYPES.items() if name != "BYTES"}


class V2Error(Exception):
    """An error the protocol answers: its HTTP status and its gRPC status code's name."""

    def __init__(self, message: str, status: int = 400, code: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def not_found(name: str, served: str) -> V2Error:
    return V2Error(f"Model {name!r} is not served here: this server serves {served!r}", 404, "NOT_FOUND")


def _always() -> bool:
    return True


# One readiness function for every V2 probe (REST ready, model ready; gRPC ServerReady, ModelReady).
# seldon_s2i_serve sets it to the serving layer's own truth.
readiness: Callable[[], bool] = _always
# Whether the class has loaded in this process (seldon_s2i_serve sets it too): an infer before that gets
# UNAVAILABLE over gRPC (REST's answer, 503, comes from the probe layer in front of this app).
loaded: Callable[[], bool] = _always


# ---- tensors: V2 data <-> numpy -------------------------------------------------------------------


def elements(shape: list[int]) -> int:
    return math.prod(shape)


def checked_shape(name: str, shape: Any) -> list[int]:
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise V2Error(f"input {name!r}: shape must be a list of non-negative integers, got {shape!r}")
    return shape


def dtype_of(name: str, datatype: Any) -> Any:
    dtype = DATATYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise V2Error(f"input {name!r}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}")
    return dtype


def _flat(data: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for item in data:
        if isinstance(item, list):
            out.extend(_flat(item))
        else:
            out.append(item)
    return out


def from_list(name: str, datatype: str, shape: list[int], data: Any) -> Any:
    """A JSON tensor's `data` (flat or nested, row-major) as an array of its datatype and shape."""
    dtype = dtype_of(name, datatype)
    if not isinstance(data, list):
        raise V2Error(f"input {name!r}: data must be a list, got {type(data).__name__}")
    try:
        if datatype == "BYTES":
            flat = _flat(data)
            array = np.empty(len(flat), dtype=object)
            array[:] = [v.encode() if isinstance(v, str) else _not_text(name, v) for v in flat]
        else:
            array = np.array(data, dtype=dtype)
            if datatype == "BOOL" and not all(type(v) is bool for v in _flat(data)):
                raise V2Error(f"input {name!r}: BOOL data must be true or false")
    except (ValueError, TypeError, OverflowError) as e:
        raise V2Error(f"input {name!r}: data is not {datatype}: {e}") from None
    if array.size != elements(shape):
        raise V2Error(f"input {name!r}: shape {shape} holds {elements(shape)} values, data has {array.size}")
    return array.reshape(shape)


def _not_text(name: str, value: Any) -> bytes:
    raise V2Error(f"input {name!r}: BYTES data in JSON must be strings, got {value!r}")


def from_raw(name: str, datatype: str, shape: list[int], raw: bytes | memoryview) -> Any:
    """A tensor's bytes (binary extension, raw_input_contents) as an array of its datatype and shape."""
    dtype_of(name, datatype)
    count = elements(shape)
    if datatype == "BYTES":
        items, offset, size = [], 0, len(raw)
        while offset < size:
            if offset + 4 > size:
                raise V2Error(f"input {name!r}: BYTES data ends inside an element's 4-byte length")
            (length,) = struct.unpack_from("<I", raw, offset)
            offset += 4
            if offset + length > size:
                raise V2Error(f"input {name!r}: a BYTES element of {length} bytes runs past the data")
            items.append(bytes(raw[offset : offset + length]))
            offset += length
        array = np.empty(len(items), dtype=object)
        array[:] = items
    else:
        wire = _WIRE[datatype]
        if len(raw) != count * wire.itemsize:
            raise V2Error(
                f"input {name!r}: shape {shape} of {datatype} needs {count * wire.itemsize} bytes, "
                f"got {len(raw)}"
            )
        array = np.frombuffer(raw, dtype=wire).astype(DATATYPES[datatype])  # a writable copy
    if array.size != count:
        raise V2Error(f"input {name!r}: shape {shape} holds {count} values, data has {array.size}")
    return array.reshape(shape)


def to_raw(datatype: str, array: Any) -> bytes:
    if datatype == "BYTES":
        parts = []
        for item in array.ravel():
            parts.append(struct.pack("<I", len(item)))
            parts.append(item)
        return b"".join(parts)
    data: bytes = array.astype(_WIRE[datatype], copy=False).tobytes()
    return data


def to_list(name: str, datatype: str, array: Any) -> list[Any]:
    if datatype == "BYTES":
        try:
            return [item.decode() for item in array.ravel()]
        except UnicodeDecodeError:
            raise V2Error(
                f"output {name!r} holds bytes that are not UTF-8, which JSON cannot carry: ask for it "
                'with the binary data extension (parameters {"binary_data": true})',
                500,
                "INTERNAL",
            ) from None
    return array.ravel().tolist()  # type: ignore[no-any-return]


def as_tensor(name: str, value: Any) -> tuple[str, Any]:
    """What the class returned as (datatype, array); BYTES arrays hold `bytes`."""
    if isinstance(value, str | bytes):
        value = [value]
    array = np.asarray(value)
    if array.ndim == 0:
        array = array.reshape(1)
    datatype = _NAMES.get(array.dtype.newbyteorder("=")) if array.dtype.kind in "biuf" else None
    if datatype is not None:
        return datatype, array
    if array.dtype.kind in "OUS":
        items = [v.encode() if isinstance(v, str) else v for v in array.ravel().tolist()]
        if all(isinstance(v, bytes) for v in items):
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return "BYTES", out.reshape(array.shape)
    raise V2Error(
        f"output {name!r}: the class returned {array.dtype} values, which have no V2 datatype "
        "(bool, integers, floats, str or bytes)",
        500,
        "INTERNAL",
    )


# ---- the class behind it ---------------------------------------------------------------------------


class Tensor:
    __slots__ = ("array", "datatype", "name", "parameters")

    def __init__(self, name: str, datatype: str, array: Any, parameters: dict[str, Any] | None = None):
        self.name = name
        self.datatype = datatype
        self.array = array
        self.parameters = parameters or {}


class Served:
    """The class instance the wrapper serves, called the V2 way."""

    def __init__(
        self, user_model: Any, seldon_metrics: Any, service_type: str, name: str, passthrough: bool
    ) -> None:
        from seldon_core import metrics
        from seldon_core import user_model as calls

        self.user_model = user_model
        self.seldon_metrics = seldon_metrics
        self.service_type = service_type
        self.name = name
        self.passthrough = passthrough
        self._calls = calls
        methods = {
            "MODEL": (calls.client_predict, metrics.PREDICT_METRIC_METHOD_TAG, "predict_raw"),
            "TRANSFORMER": (
                calls.client_transform_input,
                metrics.INPUT_TRANSFORM_METRIC_METHOD_TAG,
                "transform_input_raw",
            ),
            # the Seldon protocol serves an outlier detector's transform_input too
            "OUTLIER_DETECTOR": (
                calls.client_transform_input,
                metrics.INPUT_TRANSFORM_METRIC_METHOD_TAG,
                "transform_input_raw",
            ),
            "OUTPUT_TRANSFORMER": (
                calls.client_transform_output,
                metrics.OUTPUT_TRANSFORM_METRIC_METHOD_TAG,
                "transform_output_raw",
            ),
        }
        self.method = methods.get(service_type)
        raw = self.method and getattr(user_model, self.method[2], None)
        self.raw: Callable[[Any], Any] | None = raw if passthrough and callable(raw) else None

    def check(self, name: str) -> None:
        if name != self.name:
            raise not_found(name, self.name)
        if self.method is None:
            call = "route" if self.service_type == "ROUTER" else "aggregate"
            raise V2Error(
                f"This image serves a {self.service_type}: the Open Inference Protocol has no {call} "
                f"call. Use the Seldon protocol (REST /{call}, gRPC {self.service_type.title()}"
                f"/{call.title()}) for it.",
                501,
                "UNIMPLEMENTED",
            )

    def metadata(self) -> dict[str, Any]:
        """Model metadata; inputs and outputs from the class's init_metadata() where it gives them in
        V2 form (name, datatype, shape)."""
        found: dict[str, list[dict[str, Any]]] = {"inputs": [], "outputs": []}
        init = getattr(self.user_model, "init_metadata", None)
        try:
            given = init() if callable(init) else {}
        except Exception:  # noqa: BLE001 -- the Seldon metadata endpoint reports it; V2 shows none
            given = {}
        for key in found:
            for tensor in given.get(key) or [] if isinstance(given, dict) else []:
                if isinstance(tensor, dict) and {"name", "datatype", "shape"} <= set(tensor):
                    found[key].append({k: tensor[k] for k in ("name", "datatype", "shape")})
        return {"name": self.name, "versions": [], "platform": PLATFORM, **found}

    def infer(
        self, inputs: list[Tensor], wanted: list[str], request_id: str, parameters: dict[str, Any]
    ) -> tuple[list[Tensor], dict[str, Any]]:
        assert self.method is not None
        call, tag, _raw = self.method
        if not inputs:
            raise V2Error("the request has no inputs")
        X: Any = inputs[0].array if len(inputs) == 1 else {t.name: t.array for t in inputs}
        if len(inputs) > 1 and len(X) != len(inputs):
            raise V2Error("two inputs have the same name")
        names = parameters.get("names", [])
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        meta = {"puid": request_id, "tags": dict(parameters)}
        response = call(self.user_model, X, names, meta=meta)
        self._calls.client_custom_metrics(self.user_model, self.seldon_metrics, tag, response.metrics)
        tags = {**self._calls.client_custom_tags(self.user_model), **(response.tags or {})}
        data = response.data
        if isinstance(data, dict):
            produced = [Tensor(str(k), *as_tensor(str(k), v)) for k, v in data.items()]
        else:
            name = wanted[0] if len(wanted) == 1 else DEFAULT_OUTPUT
            produced = [Tensor(name, *as_tensor(name, data))]
        if wanted:
            by_name = {t.name: t for t in produced}
            missing = [n for n in wanted if n not in by_name]
            if missing:
                raise V2Error(f"unknown output {missing[0]!r}: the model gives {', '.join(by_name)}")
            produced = [by_name[n] for n in wanted]
        out_parameters = {k: v for k, v in parameters.items() if k not in _EXTENSION_PARAMETERS}
        out_parameters.update(tags)
        return produced, {str(k): scalar(v) for k, v in out_parameters.items()}


def scalar(value: Any) -> bool | int | float | str:
    """A parameter's value as the protocol allows one: a boolean, a number or a string (JSON text for
    anything else, such as a tag holding a list)."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()  # type: ignore[no-any-return]
    return json.dumps(value, default=str)


_EXTENSION_PARAMETERS = {"binary_data_output", "names"}


def component_name(interface: str) -> str:
    """The V2 model name: SELDON_S2I_V2_MODEL_NAME, else MODEL_NAME's class name."""
    return os.environ.get(settings.V2_MODEL_NAME, "").strip() or interface.rsplit(".", 1)[-1]


# ---- REST --------------------------------------------------------------------------------------------

_JSON = [("Content-Type", "application/json")]
_STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    500: "500 Internal Server Error",
    501: "501 Not Implemented",
    503: "503 Service Unavailable",
}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class RestV2:
    """WSGI middleware: /v2 paths answered here, every other path by the wrapped app (the wrapper's
    Flask app, whose `wsgi_app` this replaces, so Flask's own hooks and tracing stay in place)."""

    def __init__(self, served: Served, app: Callable[..., Any]) -> None:
        self.served = served
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path: str = environ.get("PATH_INFO", "")
        if path != "/v2" and not path.startswith("/v2/"):
            return self.app(environ, start_response)
        try:
            status, headers, body = self.route(environ, path.rstrip("/").split("/")[2:])
        except V2Error as e:
            status, headers, body = e.status, _JSON, _dumps({"error": e.message})
        except Exception as e:
            logger.exception("V2 request failed")
            status = getattr(e, "status_code", 500)
            status = status if status in _STATUS else 500
            headers, body = _JSON, _dumps({"error": f"{type(e).__name__}: {e}"})
        start_response(_STATUS[status], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def route(self, environ: dict[str, Any], parts: list[str]) -> tuple[int, list[Any], bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if parts and parts[0] == "models" and len(parts) >= 2:
            name, rest = parts[1], parts[2:]
            if len(rest) >= 2 and rest[0] == "versions":
                rest = rest[2:]
            if rest == ["infer"]:
                _method(method, "POST")
                return self.infer(environ, name)
            if rest in ([], ["ready"]):
                _method(method, "GET")
                if name != self.served.name:
                    raise not_found(name, self.served.name)
                if rest:
                    return _probe("ready", readiness())
                return 200, _JSON, _dumps(self.served.metadata())
        elif parts in ([], ["health", "live"], ["health", "ready"]):
            _method(method, "GET")
            if not parts:
                from seldon_core import __version__

                info = {"name": SERVER_NAME, "version": __version__, "extensions": EXTENSIONS}
                return 200, _JSON, _dumps(info)
            return _probe(parts[1], True if parts[1] == "live" else readiness())
        raise V2Error(f"No V2 endpoint at {environ.get('PATH_INFO')}", 404, "NOT_FOUND")

    def infer(self, environ: dict[str, Any], name: str) -> tuple[int, list[Any], bytes]:
        served = self.served
        served.check(name)
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        body: bytes = stream.read(int(length)) if length else stream.read()
        if served.raw is not None:
            return self.passthrough(body)
        header = environ.get(HEADER_LENGTH)
        if header is not None:
            try:
                head_size = int(header)
            except ValueError:
                head_size = -1
            if not 0 <= head_size <= len(body):
                raise V2Error(f"Inference-Header-Content-Length {header!r} is not within the body")
            binary = memoryview(body)[head_size:]
            body = body[:head_size]
        else:
            binary = None
        try:
            request = json.loads(body)
        except ValueError as e:
            raise V2Error(f"the request is not JSON: {e}") from None
        if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
            raise V2Error('the request must be a JSON object with an "inputs" list')
        parameters = request.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise V2Error('"parameters" must be an object')
        inputs, offset = [], 0
        for item in request["inputs"]:
            if not isinstance(item, dict):
                raise V2Error("each input must be an object with name, datatype, shape and data")
            tensor_name = item.get("name")
            if not isinstance(tensor_name, str):
                raise V2Error(f"an input has no name: {str(item)[:100]}")
            datatype = str(item.get("datatype"))
            shape = checked_shape(tensor_name, item.get("shape"))
            own = item.get("parameters") or {}
            size = own.get("binary_data_size") if isinstance(own, dict) else None
            if size is not None:
                if binary is None or type(size) is not int or offset + size > len(binary):
                    raise V2Error(
                        f"input {tensor_name!r}: binary_data_size {size!r} is not in the request's "
                        "binary data (Inference-Header-Content-Length)"
                    )
                array = from_raw(tensor_name, datatype, shape, binary[offset : offset + size])
                offset += size
            elif "data" in item:
                array = from_list(tensor_name, datatype, shape, item["data"])
            else:
                raise V2Error(f"input {tensor_name!r} has no data")
            inputs.append(Tensor(tensor_name, datatype, array))
        if binary is not None and offset != len(binary):
            raise V2Error(
                f"the request's binary data has {len(binary)} bytes, its inputs' binary_data_size "
                f"add up to {offset}"
            )
        requested = request.get("outputs") or []
        if not isinstance(requested, list) or not all(
            isinstance(o, dict) and isinstance(o.get("name"), str) for o in requested
        ):
            raise V2Error('"outputs" must be a list of objects with a name')
        binary_all = parameters.get("binary_data_output") is True
        wants_binary = {
            o["name"]: (o.get("parameters") or {}).get("binary_data", binary_all) is True for o in requested
        }
        outputs, out_parameters = served.infer(
            inputs, [o["name"] for o in requested], str(request.get("id", "")), parameters
        )
        response: dict[str, Any] = {"model_name": served.name, "outputs": []}
        if "id" in request:
            response["id"] = request["id"]
        if out_parameters:
            response["parameters"] = out_parameters
        chunks = []
        for tensor in outputs:
            entry: dict[str, Any] = {
                "name": tensor.name,
                "datatype": tensor.datatype,
                "shape": list(tensor.array.shape),
            }
            if wants_binary.get(tensor.name, binary_all):
                raw = to_raw(tensor.datatype, tensor.array)
                entry["parameters"] = {"binary_data_size": len(raw)}
                chunks.append(raw)
            else:
                entry["data"] = to_list(tensor.name, tensor.datatype, tensor.array)
            response["outputs"].append(entry)
        head = _dumps(response)
        if not chunks:
            return 200, _JSON, head
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("Inference-Header-Content-Length", str(len(head))),
        ]
        return 200, headers, b"".join([head, *chunks])

    def passthrough(self, body: bytes) -> tuple[int, list[Any], bytes]:
        assert self.served.raw is not None
        result = self.served.raw(body)
        if isinstance(result, str):
            result = result.encode()
        if not isinstance(result, bytes):
            result = _dumps(result)
        return 200, _JSON, result


def _method(method: str, allowed: str) -> None:
    if method != allowed:
        raise V2Error(f"{method} is not allowed here: use {allowed}", 405, "UNIMPLEMENTED")


def _probe(what: str, ok: bool) -> tuple[int, list[Any], bytes]:
    return (200 if ok else 503), _JSON, _dumps({what: ok})
