"""Import the user's component class and list its public methods.

Run as a script by the *application* interpreter
(`/opt/app-root/bin/python seldon_s2i_probe.py MODEL_NAME ANSWER`, by builders/component.py), in the
application folder, so it sees exactly what the wrapper will see. Standard library only: it must not
depend on anything in the builder's tool environment (seldon_s2i_settings says why).

The answer, one JSON object, goes to the file ANSWER and nowhere else: whatever the user's module
prints (at import, on stderr, from an exit handler) is its own business and never mistaken for it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback


def probe(model_name: str) -> dict[str, object]:
    sys.path.insert(0, os.getcwd())
    module_name, _, class_name = model_name.rpartition(".")
    module_name = module_name or model_name
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        return {"error": "syntax", "file": exc.filename, "line": exc.lineno, "detail": exc.msg}
    except BaseException as exc:  # noqa: BLE001 - any failure while importing user code is reported
        frames = traceback.extract_tb(exc.__traceback__)
        user = [f for f in frames if f.filename.startswith(os.getcwd())] or frames
        return {
            "error": "import",
            "file": user[-1].filename if user else None,
            "line": user[-1].lineno if user else None,
            "detail": f"{type(exc).__name__}: {exc}",
        }
    component = getattr(module, class_name, None)
    if not isinstance(component, type):
        return {
            "error": "class",
            "file": getattr(module, "__file__", None),
            "line": None,
            "detail": f"module {module_name!r} defines no class {class_name!r}",
            "classes": sorted(k for k, v in vars(module).items() if isinstance(v, type)),
        }
    methods = sorted(n for n in dir(component) if not n.startswith("_") and callable(getattr(component, n)))
    return {"file": getattr(module, "__file__", None), "methods": methods}


if __name__ == "__main__":
    answer = probe(sys.argv[1])
    with open(sys.argv[2], "w", encoding="utf-8") as channel:
        json.dump(answer, channel)
