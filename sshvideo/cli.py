"""The ``sshvideo`` command line: parse, build the command's typed options, run it.

Only the chosen command's options are built (``add_arguments`` may import torch to list its choices),
so ``sshvideo --version`` and ``sshvideo --help`` need neither torch nor Qt.
"""
from __future__ import annotations

import argparse
import logging
import sys

from core.errors import SshvideoError
from sshvideo import __version__
from sshvideo.commands import COMMANDS, exit_codes, load_command

GLOBAL_FLAGS = ("--quiet", "-q")


def chosen_command(argv: list[str]) -> str | None:
    """The command named in ``argv`` (the first argument that is not a global flag), if any."""
    for arg in argv:
        if arg in GLOBAL_FLAGS:
            continue
        return arg if arg in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command listed and ``command``'s options added (all of them when None)."""
    parser = argparse.ArgumentParser(prog="sshvideo", description="SSH face detection for images, video files, "
                                     "streams and webcams.")
    parser.add_argument("--version", action="version", version=f"sshvideo {__version__}")
    parser.add_argument(*GLOBAL_FLAGS, dest="quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = load_command(name)
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        if command is None or name == command:
            module.add_arguments(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = chosen_command(argv)
    parser = build_parser(command or "")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return exit_codes.USAGE
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    module = load_command(args.command)
    try:
        return module.run(module.Options.from_args(args))
    except (SshvideoError, OSError) as exc:  # the user's input or environment: a message naming the file
        print(f"error: {exc}", file=sys.stderr)
        return exit_codes.USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return exit_codes.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
