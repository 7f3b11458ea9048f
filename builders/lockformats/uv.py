"""uv.lock: uv itself checks the lock against pyproject.toml and exports it (`uv export --locked`),
so the rule is always uv's own, for every lock revision the builder's uv reads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from builders import proc
from builders.errors import CommandError, StaleLock
from builders.readers import read_toml


def export(
    source: Path, uv: str, python: str, env: Mapping[str, str], output: Path
) -> tuple[str, tuple[str, ...]]:
    """Check uv.lock and write its default dependencies to `output` as hashed requirements."""
    _export(source, command(uv, python, source, output), env)
    return output.read_text(encoding="utf-8"), _indexes(read_toml(source / "uv.lock"))


# uv's exit status for `uv export --locked` (its ExitStatus; checked with uv 0.13.9, the builder's
# own, on locks of uv 0.5 to 0.13 by test_lock_verdicts): 1 when the lock does not satisfy
# pyproject.toml and uv would have to resolve again (it says "needs to be updated", or, offline, that
# a package it would need is unavailable); 2 for any other error (a broken pyproject.toml, an
# unreachable index). Not its wording.
_STALE = 1


def _export(source: Path, argv: list[str], env: Mapping[str, str]) -> None:
    """Offline first: a current lock satisfies pyproject.toml without the network. When uv has to
    resolve again (status 1 offline), the lock is stale; only a project whose dependencies are
    dynamic (computed by its build backend) is given a second, online try."""
    stale = StaleLock("uv.lock", "pyproject.toml", "uv lock", "")
    try:
        proc.run([*argv, "--offline"], env=env, cwd=source, quiet=True)
        return
    except CommandError as exc:
        dynamic = "dependencies" in read_toml(source / "pyproject.toml").get("project", {}).get("dynamic", [])
        if exc.returncode == _STALE and not dynamic:
            raise stale from None
    try:
        proc.run(argv, env=env, cwd=source, quiet=True)
    except CommandError as exc:
        if exc.returncode == _STALE:
            raise stale from None
        raise


def command(uv: str, python: str, project: Path, output: Path) -> list[str]:
    """`uv export` of the default dependencies (no dependency groups, no extras), hashes included.

    `--locked` fails when uv.lock no longer satisfies pyproject.toml. The project itself is left out
    of the export: when it is a package it is installed after its dependencies, the usual way.
    """
    return [uv, "export", "--locked", "--format", "requirements.txt", "--no-default-groups",
            "--no-emit-project", "--no-header", "--no-annotate", "--python", python,
            "--project", str(project), "--output-file", str(output), "--quiet"]  # fmt: skip


def _indexes(data: Mapping[str, Any]) -> tuple[str, ...]:
    urls: list[str] = []
    for package in data.get("package", []):
        registry = package.get("source", {}).get("registry")
        if isinstance(registry, str) and "://" in registry and registry not in urls:
            urls.append(registry)
    return tuple(urls)
