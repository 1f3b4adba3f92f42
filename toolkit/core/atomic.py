"""Atomic file writes: a crash leaves the old file or the new one, never half of either.

A write goes to a temporary file beside its target, ``.<name>.<host>-<pid>.<random>.tmp``,
which is renamed over the target once complete. A process killed mid-write (``kill -9``)
leaves that temporary file behind; :func:`remove_abandoned` removes the ones whose writer is
gone (a process of this machine that no longer runs; a writer on another machine sharing
the folder only after :data:`ABANDONED_AFTER`). The writers of the ledger, the priors and
the report folders call it under their locks, a saved run before it starts, so the next
command leaves the folder clean.

New files get the permissions the process's umask allows (``0o666 & ~umask``, as ``open``
would); a replaced file keeps its own. A symbolic link is written through: the file it
points to is replaced and the link stays.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Temporary files of :func:`atomic_path`: ``.<name>.<host>-<pid>.<random>.tmp``.
TEMP_FILE = re.compile(
    r"^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")
#: A leftover is removed after this long (seconds) even when its writer seems alive (the
#: process id may have been reused) or ran on another machine (whose processes this one
#: cannot see).
ABANDONED_AFTER = 24 * 3600.0


def writer_tag() -> str:
    """``<host>-<pid>``: who writes a temporary file (the host name's letters and digits)."""
    host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
    return f"{host}-{os.getpid()}"


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (the only portable way)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """Permissions of a newly created file under the current umask."""
    return 0o666 & ~current_umask()


def new_folder_mode() -> int:
    """Permissions of a newly created folder under the current umask."""
    return 0o777 & ~current_umask()


def _written_path(target: Path) -> Path:
    """The file a write to ``target`` replaces: a symbolic link's destination."""
    return Path(os.path.realpath(target)) if target.is_symlink() else target


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    Parameters
    ----------
    target : Path or str
        The file to create or replace (through a symbolic link: the link stays).

    Yields
    ------
    Path
        Where to write. If the block raises, the temporary file is removed and
        ``target`` is untouched.
    """
    target = _written_path(Path(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{writer_tag()}.", suffix=".tmp",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if target.exists():
            shutil.copymode(target, tmp)
        else:
            os.chmod(tmp, new_file_mode())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(target: Path | str, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: Path | str, text: str) -> None:
    """Write UTF-8 ``text`` to ``target`` atomically."""
    write_bytes_atomic(target, text.encode("utf-8"))


def rewrite_text_atomic(target: Path | str, text: str) -> None:
    """Replace a UTF-8 text file atomically, keeping the byte-order mark it had."""
    target = Path(target)
    bom = ""
    if target.exists():
        with open(target, "rb") as handle:
            bom = "\ufeff" if handle.read(3) == b"\xef\xbb\xbf" else ""
    write_text_atomic(target, bom + text)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return False
    return True


def remove_abandoned(folder: Path | str,
                     patterns: Iterable[re.Pattern[str]] = (TEMP_FILE,)) -> list[Path]:
    """Remove the leftovers of writers that were killed: files or folders in ``folder``.

    Parameters
    ----------
    folder : Path or str
        Where to look (not recursively).
    patterns : iterable of compiled regex
        Names of leftovers, each with ``host`` and ``pid`` groups (see :func:`writer_tag`).
        One is removed when it was written on this machine by a process that is gone, or
        when it is older than :data:`ABANDONED_AFTER`.

    Returns
    -------
    list of Path
        What was removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed, now, patterns = [], time.time(), list(patterns)
    here = writer_tag().rsplit("-", 1)[0]
    for entry in folder.iterdir():
        match = next((m for p in patterns if (m := p.match(entry.name))), None)
        if match is None:
            continue
        try:
            old = now - entry.lstat().st_mtime > ABANDONED_AFTER
        except OSError:
            continue
        gone = match["host"] == here and not _alive(int(match["pid"]))
        if not (gone or old):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
