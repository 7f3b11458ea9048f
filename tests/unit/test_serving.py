"""The serving shim's runtime variables, checked by `run` before the server starts."""

from __future__ import annotations

import pytest

from builders import serving
from builders.errors import ConfigError


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"SELDON_S2I_METRICS": "stock", "SELDON_S2I_DRAIN_SECONDS": "0", "SELDON_S2I_GRACE_SECONDS": "7.5"},
        {"SELDON_S2I_METRICS": '"MMAP"', "SELDON_S2I_DRAIN_SECONDS": " "},
        {"SELDON_S2I_V2_MODEL_NAME": "iris-classifier.v2_1"},
        {"SELDON_S2I_SERVER": "gunicorn"},
        {"SELDON_S2I_SERVER": "'Granian'"},
        {"SELDON_S2I_V2": "OFF"},
    ],
)
def test_accepted(environ: dict[str, str]) -> None:
    env = serving.checked(environ)
    assert env.get("SELDON_S2I_METRICS", "mmap") in ("mmap", "stock")
    assert env.get("SELDON_S2I_SERVER", "granian") in ("granian", "gunicorn")
    assert env.get("SELDON_S2I_V2", "on") in ("on", "off")
    assert all(not value.startswith('"') for value in env.values())


def test_unquoted_for_the_shim() -> None:
    quoted = {"SELDON_S2I_METRICS": '"Stock"', "SELDON_S2I_DRAIN_SECONDS": "'2'", "OTHER": '"x"'}
    env = serving.checked(quoted)
    assert env == {"SELDON_S2I_METRICS": "stock", "SELDON_S2I_DRAIN_SECONDS": "2", "OTHER": '"x"'}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SELDON_S2I_METRICS": "manager"}, "SELDON_S2I_METRICS='manager'"),
        ({"SELDON_S2I_SERVER": "uvicorn"}, "SELDON_S2I_SERVER='uvicorn'"),
        ({"SELDON_S2I_V2": "false"}, "SELDON_S2I_V2='false'"),
        ({"SELDON_S2I_DRAIN_SECONDS": "5s"}, "SELDON_S2I_DRAIN_SECONDS='5s' is not a number of seconds"),
        ({"SELDON_S2I_GRACE_SECONDS": "-1"}, "SELDON_S2I_GRACE_SECONDS='-1' is not a number of seconds"),
        ({"SELDON_S2I_V2_MODEL_NAME": "my model"}, "SELDON_S2I_V2_MODEL_NAME='my model' cannot be a"),
        ({"SELDON_S2I_V2_MODEL_NAME": "a/b"}, "SELDON_S2I_V2_MODEL_NAME='a/b'"),
    ],
)
def test_rejected_with_the_variable_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        serving.checked(environ)
    assert caught.value.tip
