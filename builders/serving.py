"""The serving shim's runtime variables, checked by `run` before the server starts.

`run` execs `builders/shim/seldon_s2i_serve.py` in the application interpreter; that shim reads these
variables itself (it cannot import this package), so a bad value is stopped here, with the variable
named, instead of silently falling back inside the server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from builders.config import unquote
from builders.errors import ConfigError, InvalidValueError

METRICS = "SELDON_S2I_METRICS"  # mmap (default): per-process files; stock: the wrapper's Manager
METRICS_VALUES = ("mmap", "stock")
SERVER = "SELDON_S2I_SERVER"  # granian (default): the REST server; gunicorn: the wrapper's own
SERVER_VALUES = ("granian", "gunicorn")
V2 = "SELDON_S2I_V2"  # on (default): the Open Inference Protocol beside the Seldon protocol; off: not
V2_VALUES = ("on", "off")
SECONDS = {
    "SELDON_S2I_DRAIN_SECONDS": "5",  # /health/ping answers 503 while everything still serves
    "SELDON_S2I_GRACE_SECONDS": "20",  # then requests in progress get this long to complete
}


V2_MODEL_NAME = "SELDON_S2I_V2_MODEL_NAME"  # the Open Inference Protocol's model name (default: the class)
V2_MODEL_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def checked(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment, with these variables validated and unquoted (s2i may hand values over quoted)."""
    env = dict(environ)
    v2_name = unquote(environ.get(V2_MODEL_NAME, "").strip())
    if v2_name and not V2_MODEL_NAME_PATTERN.fullmatch(v2_name):
        raise ConfigError(
            f"{V2_MODEL_NAME}={v2_name!r} cannot be a model name in /v2/models/<name>/infer",
            f"Set {V2_MODEL_NAME} to letters, digits, '_', '.' and '-' (like iris-classifier), "
            "or leave it unset for the class name.",
        )
    if v2_name:
        env[V2_MODEL_NAME] = v2_name
    for variable, allowed in ((METRICS, METRICS_VALUES), (SERVER, SERVER_VALUES), (V2, V2_VALUES)):
        value = unquote(environ.get(variable, "").strip()).lower()
        if value and value not in allowed:
            raise InvalidValueError(variable, value, ", ".join(allowed), "the container's environment")
        if value:
            env[variable] = value
    for variable, default in SECONDS.items():
        value = unquote(environ.get(variable, "").strip())
        try:
            ok = not value or float(value) >= 0
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(
                f"{variable}={value!r} is not a number of seconds",
                f"Set {variable} to a number of seconds, 0 or more (default {default}).",
            )
        if value:
            env[variable] = value
    return env
