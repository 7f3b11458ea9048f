"""The package's shape: no import cycle anywhere, the code that ships in the images never imports the
host side (builders.host), which .dockerignore keeps out of them, and the code that runs in the
application's interpreter (builders/app) imports only what that interpreter always has."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "builders"
APP = PACKAGE / "app"
# Distributions of the wrapper stack whose import name is not their normalized name.
IMPORT_NAMES = {
    "grpcio": "grpc",
    "grpcio-health-checking": "grpc_health",
    "grpcio-opentracing": "grpc_opentracing",
    "grpcio-reflection": "grpc_reflection",
    "protobuf": "google",
    "pyyaml": "yaml",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every builders module and the builders modules it imports (TYPE_CHECKING imports included)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if APP not in p.parents}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("builders"):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if candidate in modules else node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("builders")}
        graph[name] = {m for m in found if m in modules and m != name and m != "builders"}
    return graph


def test_no_import_cycle() -> None:
    graph = _imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            assert state.get(target) != 1, "import cycle: " + " -> ".join([*path, module, target])
            if target not in state:
                visit(target, [*path, module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_image_code_never_imports_the_host_side() -> None:
    graph = _imports()
    for module, targets in graph.items():
        if not module.startswith("builders.host"):
            assert not any(t.startswith("builders.host") for t in targets), f"{module} imports {targets}"
    assert "builders/host" in (ROOT / ".dockerignore").read_text().splitlines()


def test_the_cycle_check_sees_type_checking_imports() -> None:
    # install.py (now dependencies.py) once imported Plan from assemble.py under TYPE_CHECKING: an edge
    assert "builders.plan" in _imports()["builders.dependencies"]


def test_version_comes_from_the_package_metadata() -> None:
    # the images install the package (`uv pip install`), and run it far from this repository
    from importlib.metadata import version

    import builders

    assert builders.__version__ == version("seldon-s2i-builders") == (ROOT / "VERSION").read_text().strip()


def _wrapper_stack() -> set[str]:
    """The import names of every distribution the application environment always has: the wrapper's
    requirements and their locked dependencies (builders/wrapper-requirements.txt, wrapper-lock.txt)."""
    names: set[str] = set()
    for requirements in ("wrapper-requirements.txt", "wrapper-lock.txt"):
        for line in (PACKAGE / requirements).read_text().splitlines():
            found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            if found:
                names.add(re.sub(r"[-_.]+", "-", found.group()).lower())
    assert set(IMPORT_NAMES) <= names, "IMPORT_NAMES names a distribution the wrapper stack no longer has"
    return {IMPORT_NAMES.get(name, name.replace("-", "_")) for name in names}


def _top_level_imports(path: Path) -> set[str]:
    """The top-level names a module imports, anywhere in it (functions and TYPE_CHECKING included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, (
                f"{path.name}: a relative import, but builders/app is no package"
            )
            found.add(node.module.split(".")[0])
    return found - {"__future__"}


def test_app_code_imports_only_the_standard_library_itself_and_the_wrapper_stack() -> None:
    # builders/app runs in the application's interpreter, where neither `builders` nor anything of the
    # builder's tools environment exists (seldon_s2i_settings' docstring states the contract)
    own = {p.stem for p in APP.glob("*.py")} | {
        f"{p.stem}_pb2{s}" for p in APP.glob("*.proto") for s in ("", "_grpc")
    }
    allowed = set(sys.stdlib_module_names) | own | _wrapper_stack()
    modules = sorted(APP.glob("*.py"))
    assert len(modules) >= 10, modules
    for path in modules:
        assert path.stem.startswith("seldon_s2i_"), f"{path.name} could hide a user's module of that name"
        imported = _top_level_imports(path)
        assert "builders" not in imported, path.name
        assert imported <= allowed, f"{path.name} imports {sorted(imported - allowed)}"
    assert not (APP / "__init__.py").exists()


def test_app_settings_are_standard_library_only() -> None:
    # the builder side imports it too (builders/serving.py, run.py), in the tools environment
    imported = _top_level_imports(APP / "seldon_s2i_settings.py")
    assert imported <= set(sys.stdlib_module_names), imported


def test_the_app_contract_check_sees_the_builders_and_tool_imports(tmp_path: Path) -> None:
    module = tmp_path / "seldon_s2i_bad.py"
    module.write_text("def f():\n    from builders import log\n    import yaml, rattler, uv\n")
    imported = _top_level_imports(module)
    assert {"builders", "rattler", "uv"} <= imported
    assert not {"builders", "rattler", "uv"} & _wrapper_stack()


def test_modules_and_functions_stay_small() -> None:
    # each module of builders/ has one concern (the V2 codec, REST layer and call are three)
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 300, f"{path.name}: over 300 lines, split it by concern"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                length = node.end_lineno - node.lineno + 1
                assert length <= 50, f"{path.name}: {node.name} is {length} lines"
