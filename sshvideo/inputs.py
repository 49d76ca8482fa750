"""Expanding command-line inputs (files, folders searched recursively, globs) into files."""
from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from core.file_types import IMAGE_SUFFIXES, VIDEO_SUFFIXES  # noqa: F401  (callers pass them to expand_inputs)


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: Path  # path under the folder it was found in (mirrored under --out), or its name


def expand_inputs(specs: list[str], suffixes: tuple[str, ...]) -> tuple[list[InputFile], list[str]]:
    """Files for the given specs, and one message per spec that matched nothing.

    A folder contributes every file with one of ``suffixes`` below it (sorted); a file is taken as
    it is (whatever its suffix, so a broken or mislabelled file is reported when it is read); a glob
    pattern is expanded.
    """
    files: list[InputFile] = []
    problems: list[str] = []
    seen: set[Path] = set()

    def add(path: Path, relative: Path):
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(InputFile(path, relative))

    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            if not found:
                problems.append(f"{spec}: folder contains no files of type {', '.join(suffixes)}")
            for p in found:
                add(p, p.relative_to(path))
        elif path.is_file():
            add(path, Path(path.name))
        elif any(ch in spec for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not matches:
                problems.append(f"{spec}: no file matches this pattern")
            for p in matches:
                add(p, Path(p.name))
        else:
            problems.append(f"{spec}: no such file or folder")
    return files, problems
