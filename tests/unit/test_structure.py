"""The package's shape: no import cycle anywhere, and the code that ships in the images never imports
the host side (builders.host), which .dockerignore keeps out of them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "builders"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every builders module and the builders modules it imports (TYPE_CHECKING imports included)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "shim" not in p.parts}
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
