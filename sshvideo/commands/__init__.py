"""The sub-commands of ``sshvideo``, one module each, registered in ``COMMANDS``.

A command module has:
- ``HELP``: one line for ``sshvideo --help``;
- ``add_arguments(parser)``: its options, with choices taken from the project's registries;
- ``Options``: a frozen dataclass of typed values, built once at the edge by ``Options.from_args(args)``,
  which validates everything and raises ``UserError`` naming the option;
- ``run(options) -> int``: the work, returning the exit code (see ``sshvideo.commands.exit_codes``).

No argparse ``Namespace`` travels below ``from_args``. Command modules import their heavy parts (torch,
PyAV, Qt) inside ``add_arguments`` or ``run``, so ``sshvideo --help`` and ``sshvideo --version`` start
at once. A new command is one new module here and one line below.
"""
from __future__ import annotations

import importlib
from types import ModuleType

COMMANDS: dict[str, str] = {
    "detect": "sshvideo.commands.detect",
    "annotate": "sshvideo.commands.annotate",
    "view": "sshvideo.commands.view",
    "devices": "sshvideo.commands.devices",
    "train": "sshvideo.commands.train",
    "eval": "sshvideo.commands.eval",
    "export": "sshvideo.commands.export",
}


def load_command(name: str) -> ModuleType:
    """The module of command ``name`` (a key of ``COMMANDS``)."""
    return importlib.import_module(COMMANDS[name])
