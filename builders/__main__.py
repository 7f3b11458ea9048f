"""`python -m builders COMMAND`: the only place that prints errors and chooses exit codes.

Exit 0 on success, 2 for bad configuration (ConfigError), 1 for a failed build step, 3 when
`assemble --in-place` finds the dependencies changed.
"""

from __future__ import annotations

import argparse
import os
import sys

from builders import __version__
from builders.errors import BuilderError, DependenciesChanged


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m builders", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    assemble = commands.add_parser("assemble", help="s2i assemble: install the source at /tmp/src")
    assemble.add_argument(
        "--in-place",
        action="store_true",
        help="run in the previous application image: replace the code only, exit 3 if the "
        "dependencies changed (used by `build --incremental`)",
    )
    commands.add_parser("run", help="s2i run: exec seldon-core-microservice")
    commands.add_parser("usage", help="s2i usage: print how to use this builder")
    commands.add_parser("save-artifacts", help="s2i save-artifacts: tar stream on stdout")
    build = commands.add_parser(
        "build", help="build SRC with BUILDER into IMAGE the way `s2i build` does, with Docker only"
    )
    build.add_argument("source", help="the source folder")
    build.add_argument("builder", help="the builder image")
    build.add_argument("image", help="the image to create")
    build.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VALUE")
    build.add_argument(
        "-i",
        "--inject",
        action="append",
        default=[],
        metavar="DIR:DEST",
        help="bind a folder in for assemble only (read-only, in no layer of the result)",
    )
    build.add_argument("--incremental", action="store_true", help="reuse the previous image's artifacts")
    build.add_argument("--network", default="host", help="docker network for the build (default host)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "assemble":
            from builders.assemble import assemble

            assemble(os.environ, in_place=args.in_place)
        elif args.command == "run":
            from builders.run import run

            run(os.environ)
        elif args.command == "usage":
            from builders.usage import text

            sys.stdout.write(text())
        elif args.command == "save-artifacts":
            from builders.artifacts import save

            save(sys.stdout.buffer)
        else:
            from builders.dockerbuild import run_cli

            run_cli(
                args.source,
                args.builder,
                args.image,
                args.env,
                args.inject,
                args.incremental,
                args.network,
            )
    except DependenciesChanged as exc:  # not a failure: the caller builds the usual way
        print(f"---> {exc.what}", file=sys.stderr)
        return exc.exit_code
    except BuilderError as exc:
        print(f"ERROR {exc.what}", file=sys.stderr)
        if exc.tip:
            print(f"TIP {exc.tip}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ERROR interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
