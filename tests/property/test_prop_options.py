"""Option parsing as a hostile-input surface: any argument list for any command either parses into the
command's validated ``Options`` or is refused as a usage error (argparse's exit code 2, or the project's
``UserError`` naming the option) — never another exception, and never options outside their ranges."""
from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from property_helpers import SETTINGS

from core.errors import SshvideoError
from sshvideo.cli import build_parser
from sshvideo.commands import COMMANDS, load_command

VALUES = ["0", "-1", "1", "2", "0.5", "1.5", "-5", "nan", "inf", "-inf", "1e999", "", "x", "3:4", "native",
          "0:0", "640x480", "a=b", "jsonl,csv", "xml", "blur", "mosaic", "none", "ssh_lite", "ssh_vgg16", "auto",
          "cpu", "cuda:9", "--", "video=cam", "lavfi:testsrc", "0.3,0.5", "0,2.5", "\x00", "é"]


def option_strings(command: str) -> list[str]:
    parser = build_parser(command)
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices[command]
    return [s for a in sub._actions for s in a.option_strings if s.startswith("--") and s != "--help"]


def numbers_in(value) -> list[float]:
    """Every float inside an options dataclass, nested ones and tuples included."""
    if isinstance(value, float):
        return [value]
    if dataclasses.is_dataclass(value):
        return [x for f in dataclasses.fields(value) for x in numbers_in(getattr(value, f.name))]
    if isinstance(value, (tuple, list)):
        return [x for item in value for x in numbers_in(item)]
    if isinstance(value, dict):
        return [x for item in value.values() for x in numbers_in(item)]
    return []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_any_arguments_give_valid_options_or_a_usage_error(command, tmp_path_factory):
    options = option_strings(command)
    module = load_command(command)
    workdir = tmp_path_factory.mktemp(command)

    flags = st.sampled_from(options) if options else st.nothing()

    @SETTINGS
    @given(st.lists(st.one_of(flags, st.sampled_from(VALUES)), max_size=8),
           st.lists(st.sampled_from(VALUES), max_size=2))
    def check(tokens, positionals):
        argv = [command, *positionals, *tokens]
        if command == "train":
            argv += ["--data", str(workdir), "--out", str(workdir / "run")]
        try:
            args = build_parser(command).parse_args(argv)
            parsed = module.Options.from_args(args)
        except SystemExit as exit_info:
            assert exit_info.code == 2
            return
        except SshvideoError as exc:
            assert str(exc)
            return
        assert all(math.isfinite(v) for v in numbers_in(parsed))  # whatever got through is finite

    check()
