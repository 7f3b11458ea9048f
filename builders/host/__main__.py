"""`python -m builders.host SRC BUILDER IMAGE` (also installed as `seldon-s2i-build`): the host-side
entry point, and the only place on the host that prints errors and chooses exit codes (2 for bad
configuration, 1 for a failed build step)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from builders import __version__, log
from builders.host.build import BuildRequest, build, parse_env_args, parse_injections
from builders.host.docker import Docker


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m builders.host",
        description="Build SRC with BUILDER into IMAGE the way `s2i build` does, with Docker only.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("source", help="the source folder")
    parser.add_argument("builder", help="the builder image")
    parser.add_argument("image", help="the image to create")
    parser.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "-i",
        "--inject",
        action="append",
        default=[],
        metavar="DIR:DEST",
        help="bind a folder in for assemble only (read-only, in no layer of the result)",
    )
    parser.add_argument("--incremental", action="store_true", help="reuse the previous image's artifacts")
    parser.add_argument(
        "--network", help="docker network for the build containers (default: Docker's own, as `s2i build`)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def command() -> int:
        build(
            BuildRequest(
                source=Path(args.source),
                builder=args.builder,
                image=args.image,
                env=parse_env_args(args.env),
                injections=parse_injections(args.inject),
                incremental=args.incremental,
                network=args.network,
                docker=Docker(os.environ.get("DOCKER", "docker")),
            )
        )
        return 0

    return log.exit_code(command)


if __name__ == "__main__":
    sys.exit(main())
