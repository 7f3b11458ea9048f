"""Checks that the user's component class exists and has what its SERVICE_TYPE needs.

Two passes. `check_source` reads the file with `ast` before anything is installed, so a syntax error, a
missing class or a missing method fails the build in seconds. It only decides what it can see: a class
with base classes other than `object` may inherit its methods, so `check_import` settles those after
the dependencies are installed, by importing the class in the application interpreter.
"""

from __future__ import annotations

import ast
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from builders import log, proc
from builders.app import seldon_s2i_settings as app
from builders.config import BuildConfig, ServiceType
from builders.errors import CommandError, ComponentError

PROBE = Path(app.FOLDER, app.PROBE_SCRIPT)


def _missing(config: BuildConfig, methods: set[str]) -> list[tuple[str, ...]]:
    return [group for group in config.service_type.required_methods if not methods & set(group)]


def _method_error(config: BuildConfig, where: str, groups: list[tuple[str, ...]]) -> ComponentError:
    wanted = " and ".join(" or ".join(f"{m}()" for m in group) for group in groups)
    return ComponentError(
        f"class {config.class_name} in {where} has no {wanted}, which SERVICE_TYPE="
        f"{config.service_type.value} needs",
        f"Add the method to {config.class_name}, or set SERVICE_TYPE to the component type the class "
        "implements (MODEL: predict, ROUTER: route, TRANSFORMER: transform_input, OUTPUT_TRANSFORMER: "
        "transform_output, COMBINER: aggregate, OUTLIER_DETECTOR: score or transform_input).",
    )


def _serves_instead(config: BuildConfig, methods: set[str]) -> list[ServiceType]:
    """The other component types whose methods the class has (seldon-core serves every endpoint
    whatever SERVICE_TYPE says: a COMBINER declared as MODEL still answers /aggregate)."""
    return [
        other
        for other in ServiceType
        if other is not config.service_type and all(methods & set(group) for group in other.required_methods)
    ]


def _mismatch_warning(
    config: BuildConfig, where: str, groups: list[tuple[str, ...]], other: ServiceType
) -> str:
    wanted = " and ".join(" or ".join(f"{m}()" for m in group) for group in groups)
    has = " or ".join(f"{m}()" for m in other.required_methods[0])
    return (
        f"class {config.class_name} in {where} has no {wanted}, which SERVICE_TYPE="
        f"{config.service_type.value} needs, but has {has} of a {other.value}: it is built and serves "
        f"that endpoint; set SERVICE_TYPE={other.value} in .s2i/environment if it is one"
    )


def needs_score_adapter(config: BuildConfig, methods: list[str]) -> bool:
    """An OUTLIER_DETECTOR written for seldon-core 0.x's `score`, which the 1.x wrapper never calls."""
    return (
        config.service_type is ServiceType.OUTLIER_DETECTOR
        and "score" in methods
        and not {"transform_input", "transform_input_raw"} & set(methods)
    )


def check_source(path: Path, config: BuildConfig) -> None:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        raise ComponentError(
            f"{path} line {exc.lineno}: syntax error: {exc.msg}",
            f"Fix the syntax of {path.name}; `python -m py_compile {path.name}` shows the same error.",
        ) from None
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    node = classes.get(config.class_name)
    if node is None:
        if _binds_name(tree, config.class_name):
            return  # imported or assigned at module level: only the import check can tell
        raise ComponentError(
            f"{path} defines no class {config.class_name} (MODEL_NAME={config.model_name!r})"
            + (f"; it defines {', '.join(sorted(classes))}" if classes else ""),
            f"Name the class {config.class_name}, or set MODEL_NAME to the class your file defines.",
        )
    if any(not (isinstance(b, ast.Name) and b.id == "object") for b in node.bases):
        return  # methods may be inherited
    methods = {item.name for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
    methods |= {
        t.id
        for item in node.body
        if isinstance(item, ast.Assign)
        for t in item.targets
        if isinstance(t, ast.Name)
    }
    missing = _missing(config, methods)
    if missing and not _serves_instead(config, methods):  # otherwise check_import warns
        raise _method_error(config, f"{path} line {node.lineno}", missing)


def _binds_name(tree: ast.Module, name: str) -> bool:
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name.split(".")[0]) == name for a in node.names):
                return True
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                return True
    return False


def check_import(
    python: str, app_dir: Path, config: BuildConfig, env: Mapping[str, str] | None = None
) -> list[str]:
    """Import the class with the application interpreter (and `env`, the server's environment);
    return its public methods."""
    where = f"{config.module} ({config.model_name})"
    with tempfile.TemporaryDirectory(prefix="s2i-probe-") as folder:
        channel = Path(folder) / "answer.json"
        argv = [python, str(PROBE), config.model_name, str(channel)]
        try:
            proc.run(argv, env=env, cwd=app_dir, quiet=True)
            failure = None
        except CommandError as exc:
            failure = exc
        result = _answer(channel)
    if result is None:
        status = f"status {failure.returncode}" if failure else "status 0"
        printed = f"; it printed last:\n{failure.output_tail}" if failure and failure.output_tail else ""
        raise ComponentError(
            f"importing {where} from {app_dir} ended the interpreter ({status}) before the builder "
            f"could look for class {config.class_name}{printed}",
            f"Something at the import of {config.module} exits the process (sys.exit, os._exit, a "
            f"crash in a compiled library): run `python -c 'import {config.module}'` in your source "
            "folder with the same dependencies to see it, and keep such code out of module level.",
        )
    if failure is not None:
        log.warning(
            f"the interpreter exited with status {failure.returncode} after importing {where} "
            "(an exit handler of the module?); the class itself was found"
        )
    return _methods(config, result)


def _answer(channel: Path) -> dict[str, Any] | None:
    try:
        result = json.loads(channel.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def _methods(config: BuildConfig, result: dict[str, Any]) -> list[str]:
    error = result.get("error")
    where = f"{result.get('file')}" + (f" line {result['line']}" if result.get("line") else "")
    if error == "syntax":
        raise ComponentError(
            f"{where}: syntax error: {result['detail']}", "Fix the syntax error in that file."
        )
    if error == "import":
        raise ComponentError(
            f"importing {config.module} failed at {where}: {result['detail']}",
            "Add the missing package to requirements.txt (or setup.py / pyproject.toml), or fix the "
            "import in your code; the builder imports your class exactly as the server will.",
        )
    if error == "class":
        classes = result.get("classes") or []
        raise ComponentError(
            f"{where}: {result['detail']}" + (f" (classes there: {', '.join(classes)})" if classes else ""),
            f"Set MODEL_NAME to the class the server should load, or define {config.class_name}.",
        )
    methods: list[str] = result["methods"]
    missing = _missing(config, set(methods))
    if missing:
        instead = _serves_instead(config, set(methods))
        if not instead:
            raise _method_error(config, where, missing)
        log.warning(_mismatch_warning(config, where, missing, instead[0]))
    return methods
