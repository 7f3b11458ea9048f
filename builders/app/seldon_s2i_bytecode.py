"""Compile the bytecode of every module in this interpreter's site-packages that has none yet,
outside the packages' test suites (`test` and `tests` folders).

Run as a script by the *application* interpreter (`/opt/app-root/bin/python -I seldon_s2i_bytecode.py`),
so the bytecode matches it. Standard library only. builders/bytecode.py says why.
Modules that fail to compile are skipped, as pip and uv skip them: packages ship files that are not
valid Python 3 (templates, examples), and the import check after the install is what must pass.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import sysconfig
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

SKIPPED_FOLDERS = {"test", "tests", "__pycache__"}


def without_bytecode(folder: str) -> Iterator[str]:
    """Modules in `folder` with no bytecode file (the builder image's own are compiled already)."""
    for directory, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if name not in SKIPPED_FOLDERS]
        for name in files:
            path = os.path.join(directory, name)
            if name.endswith(".py") and not os.path.exists(importlib.util.cache_from_source(path)):
                yield path


def compile_one(path: str) -> bool:
    try:
        py_compile.compile(path, doraise=True)
    except (py_compile.PyCompileError, OSError, ValueError):
        return False
    return True


def main() -> None:
    folders = dict.fromkeys(sysconfig.get_path(name) for name in ("purelib", "platlib"))
    paths = [path for folder in folders if os.path.isdir(folder) for path in without_bytecode(folder)]
    with ProcessPoolExecutor() as pool:
        compiled = sum(pool.map(compile_one, paths, chunksize=32))
    print(f"{compiled} modules compiled, {len(paths) - compiled} skipped (not valid Python 3)")


if __name__ == "__main__":
    main()
