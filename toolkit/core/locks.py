"""Serialised writers: a lock file for each file that several processes may change.

Every read-change-write of a shared file (the evidence ledger, a priors file) runs inside
:func:`locked`, so two ``evidence add`` commands, or an add racing a retract or a dashboard
save, never lose each other's work: the second waits, then re-reads the file the first
wrote. A report holds its output folder's lock from its overwrite check to its manifest, so
two reports into one folder cannot mix their files. The lock is an OS file lock
(``filelock``), released by the kernel if its holder dies, so a killed process leaves no
stale lock.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from toolkit.core.errors import CaseError, Problem

#: Seconds a writer waits for another one before giving up with a message.
LOCK_TIMEOUT = 60.0


def lock_path(root: Path, target: Path) -> Path:
    """The lock file of ``target``: ``<root>/.locks/<path-relative-to-root>.lock``.

    Locks live apart from the case's files, so ``evidence/`` and ``priors/`` hold only what
    the analyst wrote.
    """
    try:
        relative = target.resolve().relative_to(root.resolve())
    except ValueError:  # a file outside the root (a symlinked ledger): lock beside it
        return target.parent / f".{target.name}.lock"
    return root / ".locks" / ("-".join(relative.parts) + ".lock")


def folder_lock_path(folder: Path) -> Path:
    """The lock file of an output folder, kept out of it (in the system's temp folder).

    Report folders may be anywhere (``--out``) and must hold only the report's files, so
    their locks live in ``<tmp>/scenario-toolkit-locks/``, named by the folder's real path.
    """
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / "scenario-toolkit-locks" / f"{digest}.lock"


@contextmanager
def locked(lock_file: Path, shown: str, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold a write lock for the duration of the block.

    Parameters
    ----------
    lock_file : Path
        The lock (:func:`lock_path` for a case file, :func:`folder_lock_path` for a folder).
    shown : str
        How the file is named in messages.
    timeout : float
        Seconds to wait for another writer.

    Raises
    ------
    CaseError
        When another process holds the lock for longer than ``timeout``.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_file, timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise CaseError([Problem(shown, None, "", f"another process has been changing this "
                                 f"file for over {timeout:g} s",
                                 "wait for it to finish and try again")]) from None
    try:
        yield
    finally:
        lock.release()
