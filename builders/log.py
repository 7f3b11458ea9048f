"""The build log's vocabulary: the only module that knows what a line of the log looks like.

    ---> Installing requirements.txt with uv        step(): s2i's prefix; the step ends with
         dependency files found: requirements.txt   detail()          "done in 1.2s" or
         WARNING EXTRA_INDEX_URL carries ...        warning()         "failed after 1.2s"
         NOTICE API_TYPE is a legacy setting ...    notice()
         $ uv pip install ... --index-url ****@..   command()  (a command line, redacted)
           Resolved 12 packages                     output()   (what the command printed)

Every line passes through `redact()`: the user part of every URL is masked by URL component (a
`user:password@` and a token alone as `TOKEN@` alike), and values registered with `hide()` (netrc
passwords) are masked where they stand as whole words. Lines go to stderr: stdout belongs to
save-artifacts' tar stream.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from builders import credentials
from builders.errors import BuilderError

STEP = "---> "
INDENT = "     "
OUTPUT_INDENT = INDENT + "  "
_hidden: set[str] = set()


def hide(secrets: Iterable[str]) -> None:
    """Mask these values in every later log line (secrets that are not inside a URL)."""
    _hidden.update(s for s in secrets if s)


def redact(text: str) -> str:
    text = credentials.redact_urls(text)
    for secret in sorted(_hidden, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", "****", text)
    return text


def _emit(line: str) -> None:
    print(redact(line), file=sys.stderr, flush=True)


def announce(title: str) -> None:
    """A line with s2i's `---> ` prefix that is not a timed step (a route taken, a result)."""
    _emit(STEP + title)


@contextmanager
def step(title: str) -> Iterator[None]:
    """Announce a build step and report how long it took, or after how long it failed."""
    announce(title)
    started = time.monotonic()
    try:
        yield
    except BaseException:
        _emit(f"{INDENT}failed after {time.monotonic() - started:.1f}s")
        raise
    _emit(f"{INDENT}done in {time.monotonic() - started:.1f}s")


def detail(message: str) -> None:
    _emit(INDENT + message)


def listing(lines: Iterable[str]) -> None:
    """Lines that belong to the detail above them (a compiled file, a package list)."""
    for line in lines:
        _emit(OUTPUT_INDENT + line)


def warning(message: str) -> None:
    _emit(f"{INDENT}WARNING {message}")


def notice(message: str) -> None:
    _emit(f"{INDENT}NOTICE {message}")


def command(argv: Iterable[str]) -> None:
    _emit(f"{INDENT}$ " + " ".join(argv))


def output(line: str, indent: bool = True) -> None:
    """A line a command printed; `indent=False` passes it on as it is (assemble's own log lines)."""
    _emit((INDENT if indent else "") + line)


def error(what: str, tip: str) -> None:
    """The last words of a failed command (only exit_code() calls this)."""
    _emit(f"ERROR {what}")
    if tip:
        _emit(f"TIP {tip}")


def exit_code(command: Callable[[], int]) -> int:
    """What a command line returns (both `__main__` modules): the command's own code, or, when it
    raises a BuilderError, that error's code after its ERROR and TIP lines."""
    try:
        return command()
    except BuilderError as exc:
        error(exc.what, exc.tip)
        return exc.exit_code
    except KeyboardInterrupt:
        error("interrupted", "")
        return 130
