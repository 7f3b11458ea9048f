"""Bytecode for what the application installed, compiled once at build time, test suites excepted.

Without bytecode every new container compiles scikit-learn, scipy and the rest again before it can
serve (`make bench` measured a much longer start to ready), so the build compiles. But it need not
compile everything: for scikit-learn, a large part of the modules the install adds, and of their
bytecode, are the packages' own test suites (`scipy/**/tests`, `sklearn/**/tests`), which a server
never imports, and compiling everything took most of an assemble's time. So the installers write no
bytecode, and app/seldon_s2i_bytecode.py compiles, with the application's interpreter, every module
of its site-packages outside a `test` or `tests` folder that has no bytecode yet (the builder image's
own modules have theirs). Whatever is not compiled here Python still compiles on first import: only
slower, never wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from builders import log, proc
from builders.app import seldon_s2i_settings as app

SCRIPT = Path(app.FOLDER, app.BYTECODE_SCRIPT)


def compile_argv(python: str) -> list[str]:
    return [python, "-I", str(SCRIPT)]


def compile_environment(python: str, env: Mapping[str, str]) -> None:
    with log.step("Compiling bytecode (packages' test suites excepted)"):
        log.detail(proc.run(compile_argv(python), env=env, quiet=True).strip())
