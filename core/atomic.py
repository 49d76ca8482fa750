"""Atomic output: write under a temporary name in the target folder, rename when complete.

Every file the project writes for the user goes through here, so an interrupted run never leaves a
half-written file under a final name. Temporary names start with a dot, name their writer
(``@host+pid@``) and contain ``.partial`` (``PARTIAL_MARKER``), so input discovery can skip them and a
later run can remove those whose writer is gone (``stale_partials``: killed with SIGKILL, or a crash).
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import time
from pathlib import Path

PARTIAL_MARKER = ".partial"
_WRITER = re.compile(r"@([A-Za-z0-9_-]+)\+(\d+)@")
UNTAGGED_STALE_SECONDS = 3600  # temporaries of older versions name no writer: stale when this old


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "host"


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary_next_to(final: Path) -> tuple[int, Path]:
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.@{_host()}+{os.getpid()}@.",
                               suffix=f"{PARTIAL_MARKER}{final.suffix}", dir=final.parent)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp creates 0600; outputs get the usual permissions
    return fd, Path(tmp)


def is_partial(path: str | Path) -> bool:
    """Whether ``path`` is one of this module's temporary files (a leftover of a killed run)."""
    name = Path(path).name
    return name.startswith(".") and PARTIAL_MARKER in name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def stale_partials(folder: str | Path) -> list[Path]:
    """Temporary files below ``folder`` whose writer is gone: written on this host by a process that no
    longer runs, or untagged and older than ``UNTAGGED_STALE_SECONDS``. Another live run's are kept."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale, host, now = [], _host(), time.time()
    for path in folder.rglob(f".*{PARTIAL_MARKER}*"):
        if not path.is_file():
            continue
        writer = _WRITER.search(path.name)
        if writer is None:
            if now - path.stat().st_mtime > UNTAGGED_STALE_SECONDS:
                stale.append(path)
        elif writer.group(1) == host and not _alive(int(writer.group(2))):
            stale.append(path)
    return sorted(stale)


def remove_stale_partials(folder: str | Path) -> list[Path]:
    """Delete ``stale_partials(folder)``; returns what was removed."""
    removed = []
    for path in stale_partials(folder):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


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
