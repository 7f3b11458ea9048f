"""What the build compiles: modules without bytecode, outside the packages' test suites."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from builders import bytecode
from builders.run import APP_DIR

sys.path.insert(0, str(APP_DIR))
import seldon_s2i_bytecode as compile_bytecode


def test_compile_command_runs_the_script_with_the_application_interpreter() -> None:
    assert bytecode.compile_argv("/opt/app-root/bin/python") == [
        "/opt/app-root/bin/python", "-I", str(APP_DIR / "seldon_s2i_bytecode.py"),
    ]  # fmt: skip


def test_modules_without_bytecode_outside_test_suites(tmp_path: Path) -> None:
    for name in ("pkg/__init__.py", "pkg/core.py", "pkg/tests/test_core.py", "pkg/test/helpers.py",
                 "pkg/testing.py", "pkg/sub/tests_data.py", "pkg/data.txt", "done.py"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("X = 1\n")
    assert compile_bytecode.compile_one(str(tmp_path / "done.py"))

    missing = compile_bytecode.without_bytecode(str(tmp_path))
    found = sorted(Path(p).relative_to(tmp_path).as_posix() for p in missing)
    assert found == ["pkg/__init__.py", "pkg/core.py", "pkg/sub/tests_data.py", "pkg/testing.py"]


def test_a_module_that_is_not_python_3_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "old.py").write_text("print 'python 2'\n")
    assert not compile_bytecode.compile_one(str(tmp_path / "old.py"))
    (tmp_path / "new.py").write_text("print('python 3')\n")
    assert compile_bytecode.compile_one(str(tmp_path / "new.py"))
    assert Path(importlib.util.cache_from_source(str(tmp_path / "new.py"))).is_file()
