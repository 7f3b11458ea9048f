"""The Open Inference Protocol's tensors as numpy arrays: its datatypes, a JSON tensor's `data`, the
bytes of the binary data extension and of gRPC's raw contents, and the errors the protocol answers.

Shared by the REST layer (seldon_s2i_v2_rest), the gRPC servicer (seldon_s2i_v2_grpc) and the call to
the class (seldon_s2i_v2). This file runs in the application interpreter (seldon_s2i_settings says
what that allows).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


@dataclass(slots=True)
class Tensor:
    name: str
    datatype: str
    array: Any
    parameters: dict[str, Any] = field(default_factory=dict)


def scalar(value: Any) -> bool | int | float | str:
    """A parameter's value as the protocol allows one: a boolean, a number or a string (JSON text for
    anything else, such as a tag holding a list)."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()  # type: ignore[no-any-return]
    return json.dumps(value, default=str)
