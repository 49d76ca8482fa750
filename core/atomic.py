"""Atomic output: write under a temporary name in the target folder, rename when complete.

Every file the project writes for the user goes through here, so an interrupted run never leaves a
half-written file under a final name. Temporary names start with a dot and contain ``.partial``
(``PARTIAL_MARKER``), so input discovery can skip them and a later run can remove stale ones.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PARTIAL_MARKER = ".partial"


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary_next_to(final: Path) -> tuple[int, Path]:
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f"{PARTIAL_MARKER}{final.suffix}", dir=final.parent)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp creates 0600; outputs get the usual permissions
    return fd, Path(tmp)


def is_partial(path: str | Path) -> bool:
    """Whether ``path`` is one of this module's temporary files (a leftover of a killed run)."""
    name = Path(path).name
    return name.startswith(".") and PARTIAL_MARKER in name


@contextlib.contextmanager
def atomic_path(final: str | Path):
    """Yield a temporary path next to ``final``; on success it replaces ``final``, on error it is removed.

    The temporary name keeps the suffix, so encoders that pick a container by extension still work.
    """
    final = Path(final)
    fd, tmp = _temporary_next_to(final)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(final: str | Path, text: str) -> None:
    with atomic_path(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


class AtomicTextFile:
    """A UTF-8 text file streamed under a temporary name: ``commit()`` renames it to ``path``,
    ``abort()`` removes it. For writers that append as results arrive (one line per video frame)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        fd, self._tmp = _temporary_next_to(self.path)
        self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def write(self, text: str) -> None:
        self._fh.write(text)

    def commit(self) -> None:
        self._fh.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)
