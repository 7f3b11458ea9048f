"""The serving shim's runtime variables, checked by `run` before the server starts.

`run` execs `builders/app/seldon_s2i_serve.py` in the application interpreter; that shim reads these
variables itself (it cannot import this package), so a bad value is stopped here, with the variable
named, instead of silently falling back inside the server. Their names, allowed values and defaults
are written once, in builders/app/seldon_s2i_settings.py, which both sides import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from builders.app import seldon_s2i_settings as app
from builders.config import unquote
from builders.errors import ConfigError, InvalidValueError

SECONDS = {app.DRAIN: app.DRAIN_DEFAULT, app.GRACE: app.GRACE_DEFAULT}
V2_MODEL_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def checked(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment, with these variables validated and unquoted (s2i may hand values over quoted)."""
    env = dict(environ)
    v2_name = unquote(environ.get(app.V2_MODEL_NAME, "").strip())
    if v2_name and not V2_MODEL_NAME_PATTERN.fullmatch(v2_name):
        raise ConfigError(
            f"{app.V2_MODEL_NAME}={v2_name!r} cannot be a model name in /v2/models/<name>/infer",
            f"Set {app.V2_MODEL_NAME} to letters, digits, '_', '.' and '-' (like iris-classifier), "
            "or leave it unset for the class name.",
        )
    if v2_name:
        env[app.V2_MODEL_NAME] = v2_name
    choices = ((app.METRICS, app.METRICS_VALUES), (app.SERVER, app.SERVER_VALUES), (app.V2, app.V2_VALUES))
    for variable, allowed in choices:
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
                f"Set {variable} to a number of seconds, 0 or more (default {default:g}).",
            )
        if value:
            env[variable] = value
    return env
