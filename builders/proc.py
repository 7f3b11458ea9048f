"""The one place that runs subprocesses.

Commands are argv lists (never a shell). Output is streamed to the build log line by line (redacted,
as every log line is) and the last lines are kept for the error message. Child environments are new
dicts; `os.environ` is not mutated. Large data (tar streams) flows through pipes and files, never
whole through memory.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from builders import log
from builders.errors import CommandError

TAIL_LINES = 25


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    tip: str = "",
    quiet: bool = False,
    indent: bool = True,
    echo: bool = True,
) -> str:
    """Run argv, stream its output to the log (unless quiet), return it; raise CommandError on
    failure. `indent=False` passes the output on as it is (a child that writes the log itself);
    `echo=False` leaves the command line itself out of the log."""
    if echo and not quiet:
        log.command(argv)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    collected: list[str] = []
    with subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as child:
        assert child.stdout is not None
        for raw in child.stdout:
            line = raw.rstrip("\n")
            tail.append(log.redact(line))
            collected.append(line)
            if not quiet:
                log.output(line, indent=indent)
    if child.returncode != 0:
        raise CommandError([log.redact(a) for a in argv], child.returncode, "\n".join(tail), tip)
    return "\n".join(collected)


def output(argv: Sequence[str], *, env: Mapping[str, str] | None = None, tip: str = "") -> str:
    """Run argv quietly; return its stdout alone (small outputs: an ID, a JSON document, a freeze;
    what the command says on stderr, such as uv's "Using Python ... environment", stays out)."""
    completed = subprocess.run(
        list(argv), env=dict(env) if env is not None else None, capture_output=True, check=False
    )
    _check(argv, completed.returncode, completed.stderr, tip)
    return completed.stdout.decode(errors="replace")


def feed(argv: Sequence[str], write: Callable[[IO[bytes]], None], *, tip: str = "") -> None:
    """Run argv with `write(stdin)` producing its input as a stream (a tar of any size). Its
    stderr goes to a file, so a chatty child can never block on a full pipe while we write."""
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(list(argv), stdin=subprocess.PIPE, stderr=errors) as child,
    ):
        assert child.stdin is not None
        try:
            write(child.stdin)
        except BrokenPipeError:
            pass  # the child stopped reading; its status and stderr say why
        finally:
            try:
                child.stdin.close()
            except BrokenPipeError:
                pass
        child.wait()
        errors.seek(0)
        _check(argv, child.returncode, errors.read(), tip)


def to_file(argv: Sequence[str], target: IO[bytes], *, tip: str = "") -> None:
    """Run argv with its stdout copied into `target` as a stream."""
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=errors) as child,
    ):
        assert child.stdout is not None
        shutil.copyfileobj(child.stdout, target, 1 << 20)
        child.wait()
        errors.seek(0)
        _check(argv, child.returncode, errors.read(), tip)


def _check(argv: Sequence[str], status: int | None, stderr: bytes, tip: str) -> None:
    if status:
        tail = stderr.decode(errors="replace").strip().splitlines()[-TAIL_LINES:]
        shown = [log.redact(a) for a in argv]
        raise CommandError(shown, status, log.redact("\n".join(tail)), tip)
