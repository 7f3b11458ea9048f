"""The one place that runs subprocesses, plus the `---> ` step log that s2i users know.

Commands are argv lists (never a shell). Output is streamed to our stderr line by line and the last
lines are kept for the error message. Child environments are new dicts; `os.environ` is not mutated.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from builders.errors import CommandError

TAIL_LINES = 25


def log(message: str) -> None:
    """A line of the build log. Logs go to stderr: stdout belongs to save-artifacts' tar stream."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def step(title: str) -> Iterator[None]:
    """Announce a build step with s2i's `---> ` prefix and report how long it took."""
    log(f"---> {title}")
    started = time.monotonic()
    yield
    log(f"     done in {time.monotonic() - started:.1f}s")


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    redact: Sequence[str] = (),
    tip: str = "",
    quiet: bool = False,
    prefix: str = "     ",
) -> str:
    """Run argv, stream its output (unless quiet), return it; raise CommandError on failure.

    `redact` lists secrets (index passwords) that must never reach the log or an error message.
    """

    def clean(text: str) -> str:
        for secret in redact:
            if secret:
                text = text.replace(secret, "****")
        return text

    shown = [clean(a) for a in argv]
    if not quiet:
        log("     $ " + " ".join(shown))
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
        for line in child.stdout:
            line = clean(line.rstrip("\n"))
            tail.append(line)
            collected.append(line)
            if not quiet:
                log(prefix + line)
    if child.returncode != 0:
        raise CommandError(shown, child.returncode, "\n".join(tail), tip)
    return "\n".join(collected)


def output(argv: Sequence[str], *, stdin: bytes | None = None, tip: str = "") -> bytes:
    """Run argv quietly with optional bytes on stdin; return its stdout bytes (for tar streams)."""
    completed = subprocess.run(list(argv), input=stdin, capture_output=True, check=False)
    if completed.returncode != 0:
        tail = completed.stderr.decode(errors="replace").strip().splitlines()[-TAIL_LINES:]
        raise CommandError(list(argv), completed.returncode, "\n".join(tail), tip)
    return completed.stdout
