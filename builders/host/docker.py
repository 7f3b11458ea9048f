"""The Docker CLI calls the build command makes, each a small function over `builders.proc`.

Data moves as a stream: the upload is written into `docker cp -`'s stdin. Removing a container never
raises: a cleanup failure is logged and never hides the error that got us there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from builders import log, proc
from builders.errors import BuilderError, DockerUnavailable


@dataclass(frozen=True)
class Docker:
    command: str = "docker"

    def check(self) -> None:
        """Raise DockerUnavailable unless an engine answers: after this, a failed `image inspect`
        means the image is absent, not that the daemon is stopped."""
        try:
            proc.output([self.command, "version", "--format", "{{.Server.Version}}"])
        except BuilderError as exc:
            raise DockerUnavailable(self.command, exc.what) from None

    def inspect(self, image: str) -> dict[str, Any] | None:
        """The image's configuration, or None when the engine has no such image (call check() first)."""
        try:
            raw = proc.output([self.command, "image", "inspect", image])
        except BuilderError:
            return None
        data: list[dict[str, Any]] = json.loads(raw)
        return data[0]

    def create(self, options: Sequence[str], command: Sequence[str]) -> str:
        return proc.output([self.command, "create", *options, *command]).strip()

    def upload(self, container: str, destination: str, write: Callable[[IO[bytes]], None]) -> None:
        """Unpack the tar stream that `write` produces at `destination` in the container."""
        proc.feed([self.command, "cp", "-", f"{container}:{destination}"], write)

    def start(self, container: str, *, show_output: bool) -> int:
        """Start the container attached, streaming its output to the log; return its exit status."""
        argv = [self.command, "start", "--attach", container]
        try:
            proc.run(argv, quiet=not show_output, indent=False, echo=False)
        except BuilderError:
            pass  # the status below is what counts; the container already said why
        return int(proc.output([self.command, "wait", container]).strip() or "1")

    def commit(self, container: str, image: str, changes: Sequence[str]) -> None:
        argv = [self.command, "commit"]
        for change in changes:
            argv += ["--change", change]
        proc.output([*argv, container, image])

    def remove(self, container: str) -> None:
        try:
            proc.output([self.command, "rm", "--force", "--volumes", container])
        except BuilderError as exc:
            log.warning(f"could not remove container {container}: {exc.what}")
