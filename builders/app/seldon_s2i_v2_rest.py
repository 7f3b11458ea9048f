"""The Open Inference Protocol over REST: a WSGI middleware in front of the wrapper's Flask app that
answers the `/v2` paths (every other path goes to Flask untouched), on the same processes and port as
the Seldon protocol. seldon_s2i_v2 says how a request maps to the class; the binary tensor data
extension (Inference-Header-Content-Length, `binary_data_size`, `binary_data`) is served both ways.

This file runs in the application interpreter (seldon_s2i_settings says what that allows).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import seldon_s2i_v2 as v2
from seldon_s2i_v2_tensors import Tensor, V2Error, checked_shape, from_list, from_raw, to_list, to_raw

logger = logging.getLogger(__name__)

HEADER_LENGTH = "HTTP_INFERENCE_HEADER_CONTENT_LENGTH"
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

    def __init__(self, served: v2.Served, app: Callable[..., Any]) -> None:
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
                    raise v2.not_found(name, self.served.name)
                if rest:
                    return _probe("ready", v2.readiness())
                return 200, _JSON, _dumps(self.served.metadata())
        elif parts in ([], ["health", "live"], ["health", "ready"]):
            _method(method, "GET")
            if not parts:
                from seldon_core import __version__

                info = {"name": v2.SERVER_NAME, "version": __version__, "extensions": v2.EXTENSIONS}
                return 200, _JSON, _dumps(info)
            return _probe(parts[1], True if parts[1] == "live" else v2.readiness())
        raise V2Error(f"No V2 endpoint at {environ.get('PATH_INFO')}", 404, "NOT_FOUND")

    def infer(self, environ: dict[str, Any], name: str) -> tuple[int, list[Any], bytes]:
        served = self.served
        served.check(name)
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        body: bytes = stream.read(int(length)) if length else stream.read()
        if served.raw is not None:
            return self.passthrough(body)
        head, binary = _split_binary(body, environ.get(HEADER_LENGTH))
        request, parameters = _request(head)
        inputs = _inputs(request["inputs"], binary)
        requested = _requested_outputs(request)
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
        added = [_add_output(response, t, wants_binary.get(t.name, binary_all)) for t in outputs]
        chunks = [raw for raw in added if raw is not None]
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


def _split_binary(body: bytes, header: str | None) -> tuple[bytes, memoryview | None]:
    """The JSON head of the body and, with the binary data extension, the tensors' bytes after it."""
    if header is None:
        return body, None
    try:
        head_size = int(header)
    except ValueError:
        head_size = -1
    if not 0 <= head_size <= len(body):
        raise V2Error(f"Inference-Header-Content-Length {header!r} is not within the body")
    return body[:head_size], memoryview(body)[head_size:]


def _request(head: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The inference request and its parameters, checked for the shape every later step relies on."""
    try:
        request = json.loads(head)
    except ValueError as e:
        raise V2Error(f"the request is not JSON: {e}") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise V2Error('the request must be a JSON object with an "inputs" list')
    parameters = request.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise V2Error('"parameters" must be an object')
    return request, parameters


def _inputs(items: list[Any], binary: memoryview | None) -> list[Tensor]:
    """The request's inputs as arrays: from JSON `data`, or from their slices of the binary data."""
    inputs, offset = [], 0
    for item in items:
        if not isinstance(item, dict):
            raise V2Error("each input must be an object with name, datatype, shape and data")
        name = item.get("name")
        if not isinstance(name, str):
            raise V2Error(f"an input has no name: {str(item)[:100]}")
        datatype = str(item.get("datatype"))
        shape = checked_shape(name, item.get("shape"))
        own = item.get("parameters") or {}
        size = own.get("binary_data_size") if isinstance(own, dict) else None
        if size is not None:
            if binary is None or type(size) is not int or offset + size > len(binary):
                raise V2Error(
                    f"input {name!r}: binary_data_size {size!r} is not in the request's "
                    "binary data (Inference-Header-Content-Length)"
                )
            array = from_raw(name, datatype, shape, binary[offset : offset + size])
            offset += size
        elif "data" in item:
            array = from_list(name, datatype, shape, item["data"])
        else:
            raise V2Error(f"input {name!r} has no data")
        inputs.append(Tensor(name, datatype, array))
    if binary is not None and offset != len(binary):
        raise V2Error(
            f"the request's binary data has {len(binary)} bytes, its inputs' binary_data_size "
            f"add up to {offset}"
        )
    return inputs


def _requested_outputs(request: dict[str, Any]) -> list[dict[str, Any]]:
    requested = request.get("outputs") or []
    if not isinstance(requested, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in requested
    ):
        raise V2Error('"outputs" must be a list of objects with a name')
    return requested


def _add_output(response: dict[str, Any], tensor: Tensor, binary: bool) -> bytes | None:
    """Add the output to the response's JSON; return its bytes when they go after the JSON instead."""
    entry: dict[str, Any] = {
        "name": tensor.name,
        "datatype": tensor.datatype,
        "shape": list(tensor.array.shape),
    }
    response["outputs"].append(entry)
    if not binary:
        entry["data"] = to_list(tensor.name, tensor.datatype, tensor.array)
        return None
    raw: bytes = to_raw(tensor.datatype, tensor.array)
    entry["parameters"] = {"binary_data_size": len(raw)}
    return raw
