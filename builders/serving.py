"""The serving shim's runtime variables, checked by `run` before the server starts.

`run` execs `builders/shim/seldon_s2i_serve.py` in the application interpreter; that shim reads these
variables itself (it cannot import this package), so a bad value is stopped here, with the variable
named, instead of silently falling back inside the server.
"""

from __future__ import annotations

from collections.abc import Mapping

from builders.config import unquote
from builders.errors import ConfigError, InvalidValueError

METRICS = "SELDON_S2I_METRICS"  # mmap (default): per-process files; stock: the wrapper's Manager
METRICS_VALUES = ("mmap", "stock")
SERVER = "SELDON_S2I_SERVER"  # granian (default): the REST server; gunicorn: the wrapper's own
SERVER_VALUES = ("granian", "gunicorn")
SECONDS = {
    "SELDON_S2I_DRAIN_SECONDS": "5",  # /health/ping answers 503 while everything still serves
    "SELDON_S2I_GRACE_SECONDS": "20",  # then requests in progress get this long to complete
}


def checked(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment, with these variables validated and unquoted (s2i may hand values over quoted)."""
    env = dict(environ)
    for variable, allowed in ((METRICS, METRICS_VALUES), (SERVER, SERVER_VALUES)):
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
