"""Expanding command-line inputs (files, folders searched recursively, globs) into files, each with an
output name that no other input shares."""
from __future__ import annotations

import glob
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from core.atomic import is_partial
from core.file_types import IMAGE_SUFFIXES, VIDEO_SUFFIXES  # noqa: F401  (callers pass them to expand_inputs)


@dataclass(frozen=True)
class InputFile:
    """One input. ``relative`` is its path under the folder it was found in (mirrored under ``--out``),
    or its name; ``output_base`` is what its outputs are named after: ``relative`` without the suffix,
    or with it when another input of the same run has the same stem (``clip.avi`` + ``clip.mp4``)."""

    path: Path
    relative: Path
    output_base: Path | None = None

    def __post_init__(self):
        if self.output_base is None:
            object.__setattr__(self, "output_base", self.relative.with_suffix(""))


def _is_under(path: Path, folders: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == folder or folder in resolved.parents for folder in folders)


def expand_inputs(specs: list[str], suffixes: tuple[str, ...],
                  exclude: tuple[Path, ...] = ()) -> tuple[list[InputFile], list[str]]:
    """Files for the given specs, and one message per spec that matched nothing or input left out.

    A folder contributes every file with one of ``suffixes`` below it (sorted); a file is taken as
    it is (whatever its suffix, so a broken or mislabelled file is reported when it is read); a glob
    pattern is expanded. Files inside an ``exclude`` folder (the run's own output folder, so a rerun
    never annotates its own outputs) and temporary ``.partial`` files are never inputs. Outputs are
    named so that no two inputs share one (``with_distinct_outputs``).
    """
    files: list[InputFile] = []
    problems: list[str] = []
    seen: set[Path] = set()
    excluded = [Path(folder).resolve() for folder in exclude]

    def add(path: Path, relative: Path):
        key = path.resolve()
        if key not in seen and not is_partial(path):
            seen.add(key)
            files.append(InputFile(path, relative))

    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                           and not is_partial(p) and not _is_under(p, excluded))
            if not found:
                problems.append(f"{spec}: folder contains no files of type {', '.join(suffixes)}"
                                + (" (outside the output folder)" if excluded else ""))
            for p in found:
                add(p, p.relative_to(path))
        elif path.is_file():
            if _is_under(path, excluded):
                problems.append(f"{spec}: inside the output folder; not taken as an input")
            else:
                add(path, Path(path.name))
        elif any(ch in spec for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(spec, recursive=True)
                             if Path(p).is_file() and not _is_under(Path(p), excluded))
            if not matches:
                problems.append(f"{spec}: no file matches this pattern")
            for p in matches:
                add(p, Path(p.name))
        else:
            problems.append(f"{spec}: no such file or folder")
    distinct, clashes = with_distinct_outputs(files)
    return distinct, problems + clashes


def with_distinct_outputs(files: list[InputFile]) -> tuple[list[InputFile], list[str]]:
    """Give inputs that share an output stem (``clip.avi`` and ``clip.mp4``; compared case-blind, as
    some file systems do) their full name as output base (``clip.avi.jsonl``, ``clip.mp4.jsonl``); an
    input whose full relative name is another's too (``a/clip.mp4`` and ``b/clip.mp4`` given as files)
    is left out with a message, never allowed to overwrite the other's outputs."""
    stems = Counter(str(f.relative.with_suffix("")).casefold() for f in files)
    renamed = [replace(f, output_base=f.relative) if stems[str(f.relative.with_suffix("")).casefold()] > 1 else f
               for f in files]
    kept, taken, clashes = [], {}, []
    for f in renamed:
        key = str(f.output_base).casefold()
        if key in taken:
            clashes.append(f"{f.path}: its outputs would overwrite those of {taken[key]} (same name); "
                           "rename it or annotate it in a separate run")
            continue
        taken[key] = f.path
        kept.append(f)
    return kept, clashes
