"""`python -m builders COMMAND`, what the s2i scripts in the image call: the only place in the image
that prints errors and chooses exit codes.

Exit 0 on success, 2 for bad configuration (ConfigError), 1 for a failed build step, 3 when
`assemble --in-place` finds the dependencies changed.
"""

from __future__ import annotations

import argparse
import os
import sys

import builders
from builders import log
from builders.errors import DependenciesChanged


class _Version(argparse.Action):
    """--version, reading the version only when asked (`run` starts the server without it)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(builders.__version__)
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m builders", description=__doc__)
    parser.add_argument("--version", action=_Version, nargs=0, help="print the builder's version and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    assemble = commands.add_parser("assemble", help="s2i assemble: install the source at /tmp/src")
    assemble.add_argument(
        "--in-place",
        action="store_true",
        help="run in the previous application image: replace the code only, exit 3 if the "
        "dependencies changed (used by the host-side build command's --incremental)",
    )
    commands.add_parser("run", help="s2i run: exec seldon-core-microservice")
    commands.add_parser("usage", help="s2i usage: print how to use this builder")
    commands.add_parser("save-artifacts", help="s2i save-artifacts: tar stream on stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return log.exit_code(lambda: _command(args))


def _command(args: argparse.Namespace) -> int:
    try:
        if args.command == "assemble":
            from builders.assemble import assemble

            assemble(os.environ, in_place=args.in_place)
        elif args.command == "run":
            from builders.run import run

            run(os.environ)
        elif args.command == "usage":
            from builders.usage import text

            # On stderr: `s2i usage` trims the leading whitespace of every line a script prints on
            # stdout, which would flatten the tables; what it relays from stderr keeps its layout.
            sys.stderr.write(text())
        else:
            from builders.artifacts import save

            save(sys.stdout.buffer)
    except DependenciesChanged as exc:  # not a failure: the caller builds the usual way
        log.announce(exc.what)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
