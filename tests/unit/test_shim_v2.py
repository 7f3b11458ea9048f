"""The V2 shim's tensor codec, in this interpreter, against what Triton's own client writes and reads
(tritonclient.utils: the binary extension's and raw contents' layout, BYTES length prefixes). The
Docker tests (tests/docker/test_v2.py) call the served images with the clients themselves."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from tritonclient.utils import deserialize_bytes_tensor, np_to_triton_dtype, serialize_byte_tensor

from builders.run import APP_DIR

sys.path.insert(0, str(APP_DIR))
from seldon_s2i_v2_tensors import V2Error, as_tensor, from_list, from_raw, scalar, to_list, to_raw

ARRAYS = [
    np.array([[True, False], [False, True]]),
    *[np.arange(-3, 3, dtype=t).reshape(2, 3) for t in (np.int8, np.int16, np.int32, np.int64)],
    *[np.arange(0, 6, dtype=t).reshape(3, 2) for t in (np.uint8, np.uint16, np.uint32, np.uint64)],
    *[np.array([[0.5, -1.25, 1e4]], dtype=t) for t in (np.float16, np.float32, np.float64)],
    np.array([b"a", b"", "\u2603".encode(), b"\x00\xff"], dtype=object),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: str(a.dtype) if a.dtype != object else "bytes")
def test_raw_layout_is_tritonclients(array: np.ndarray) -> None:
    datatype, tensor = as_tensor("out", array)
    assert datatype == np_to_triton_dtype(array.dtype)
    theirs = serialize_byte_tensor(array).item() if datatype == "BYTES" else array.tobytes()
    assert to_raw(datatype, tensor) == theirs
    back = from_raw("in", datatype, list(array.shape), theirs)
    assert back.dtype == array.dtype and back.tolist() == array.tolist()
    if datatype == "BYTES":
        assert deserialize_bytes_tensor(to_raw(datatype, tensor)).tolist() == array.tolist()
    else:
        back[...] = back  # a writable copy, which the class may change in place


def test_json_data_flat_or_nested() -> None:
    nested = from_list("x", "INT16", [2, 2], [[1, 2], [3, 4]])
    assert nested.dtype == np.int16 and nested.tolist() == [[1, 2], [3, 4]]
    assert from_list("x", "BYTES", [1, 2], ["a", "\u00e9"]).tolist() == [[b"a", "\u00e9".encode()]]
    assert to_list("y", "BYTES", np.array([b"a", "\u00e9".encode()], dtype=object)) == ["a", "\u00e9"]
    assert to_list("y", "FP16", np.array([0.5], dtype=np.float16)) == [0.5]


@pytest.mark.parametrize(
    ("datatype", "shape", "data", "message"),
    [
        ("FP32", [2, 2], [1, 2, 3], "shape [2, 2] holds 4 values, data has 3"),
        ("INT8", [1], [128], "data is not INT8"),
        ("BOOL", [2], [1, 0], "BOOL data must be true or false"),
        ("BYTES", [1], [3], "BYTES data in JSON must be strings"),
        ("FLOAT", [1], [1], "datatype 'FLOAT' is not one of BOOL"),
        ("FP64", [2], [[1, 2], [3]], "data is not FP64"),
    ],
)
def test_bad_json_tensors(datatype: str, shape: list[int], data: list[object], message: str) -> None:
    with pytest.raises(V2Error, match=message.replace("[", r"\[")) as caught:
        from_list("x", datatype, shape, data)
    assert (caught.value.status, caught.value.code) == (400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    ("datatype", "shape", "raw", "message"),
    [
        ("INT32", [2], b"\0" * 7, "needs 8 bytes, got 7"),
        ("BYTES", [1], b"\x05\0\0\0abc", "runs past the data"),
        ("BYTES", [1], b"\x01\0", "ends inside an element's 4-byte length"),
        ("BYTES", [2], b"\x01\0\0\0a", "holds 2 values, data has 1"),
    ],
)
def test_bad_raw_tensors(datatype: str, shape: list[int], raw: bytes, message: str) -> None:
    with pytest.raises(V2Error, match=message):
        from_raw("x", datatype, shape, raw)


def test_what_the_class_returns() -> None:
    assert as_tensor("o", "text")[0] == "BYTES" and as_tensor("o", "text")[1].tolist() == [b"text"]
    assert as_tensor("o", [[1, 2]])[0] == "INT64" and as_tensor("o", [[1.5]])[0] == "FP64"
    assert as_tensor("o", np.float32(2))[1].shape == (1,)
    assert as_tensor("o", np.array(["a", "b"]))[1].tolist() == [b"a", b"b"]
    with pytest.raises(V2Error, match="complex128 values, which have no V2 datatype"):
        as_tensor("o", np.array([1j]))
    with pytest.raises(V2Error, match="not UTF-8"):
        to_list("o", "BYTES", np.array([b"\xff"], dtype=object))
    values = (True, 3, 0.5, "s", np.int8(2), [1, "a"])
    assert [scalar(v) for v in values] == [True, 3, 0.5, "s", 2, '[1, "a"]']
