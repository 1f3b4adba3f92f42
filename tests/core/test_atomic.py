"""Atomic writes: the umask decides new files' permissions, links stay, leftovers go."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from toolkit.core.atomic import (
    ABANDONED_AFTER,
    current_umask,
    remove_abandoned,
    rewrite_text_atomic,
    write_text_atomic,
    writer_tag,
)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o077, 0o600), (0o002, 0o664), (0o022, 0o644)])
def test_new_files_get_the_permissions_the_umask_allows(tmp_path, umask, mask, mode):
    umask(mask)
    assert current_umask() == mask
    write_text_atomic(tmp_path / "new.txt", "x")
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == mode


def test_a_replaced_file_keeps_its_own_permissions(tmp_path, umask):
    path = tmp_path / "kept.txt"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    umask(0o000)
    write_text_atomic(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "new"


def test_a_symbolic_link_is_written_through(tmp_path):
    real = tmp_path / "data" / "ledger.csv"
    real.parent.mkdir()
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "ledger.csv"
    link.symlink_to(real)
    write_text_atomic(link, "new\n")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new\n"


def test_rewrite_keeps_a_byte_order_mark(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    rewrite_text_atomic(path, "a: 2\n")
    assert path.read_bytes() == b"\xef\xbb\xbfa: 2\n"
    plain = tmp_path / "q.yaml"
    rewrite_text_atomic(plain, "a: 2\n")
    assert plain.read_bytes() == b"a: 2\n"


def _dead_pid() -> int:
    process = multiprocessing.get_context("spawn").Process(target=int)
    process.start()
    process.join()
    return process.pid


def test_only_the_leftovers_of_gone_writers_are_removed(tmp_path):
    host = writer_tag().rsplit("-", 1)[0]
    dead, live = _dead_pid(), os.getpid()
    gone = tmp_path / f".ledger.csv.{host}-{dead}.abc_123x.tmp"
    mine = tmp_path / f".ledger.csv.{host}-{live}.zz9_00qq.tmp"
    stale = tmp_path / f".ledger.csv.{host}-{os.getppid()}.old00000.tmp"
    elsewhere = tmp_path / f".ledger.csv.otherhost{host}-{dead}.far00000.tmp"  # can't tell
    other = tmp_path / ".notes.tmp"  # not ours: no writer in the name
    for path in (gone, mine, stale, elsewhere, other):
        path.write_text("partial", encoding="utf-8")
    long_ago = time.time() - ABANDONED_AFTER - 60
    os.utime(stale, (long_ago, long_ago))
    assert sorted(remove_abandoned(tmp_path)) == sorted([gone, stale])
    assert mine.exists() and other.exists() and elsewhere.exists()
    os.utime(elsewhere, (long_ago, long_ago))  # another machine's: only once it is old
    assert remove_abandoned(tmp_path) == [elsewhere]
    assert remove_abandoned(tmp_path / "missing") == []


def test_a_write_names_its_temporary_file_with_its_process(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def spy(source, target):
        seen.append(Path(source).name)
        real(source, target)

    monkeypatch.setattr(os, "replace", spy)
    write_text_atomic(tmp_path / "a.txt", "x")
    assert seen and seen[0].startswith(f".a.txt.{writer_tag()}.") and seen[0].endswith(".tmp")
    assert writer_tag().endswith(f"-{os.getpid()}")
