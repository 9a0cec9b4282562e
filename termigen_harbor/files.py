"""Writing files so that a crash never leaves half of one behind, and one writer per folder."""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def write_atomic(path: Path, text: str) -> None:
    """Writes `text` to a temporary file beside `path`, then renames it over `path`: a reader
    sees the old content or the new, never part of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


class FolderBusy(RuntimeError):
    """Another process is writing to the folder; the message says which and what to do."""


@contextmanager
def exclusive(path: Path, what: str | None = None) -> Iterator[None]:
    """Holds the lock file `path` (an advisory `flock`) while the block runs, or raises FolderBusy
    at once. The kernel drops the lock when its process ends, however it ends, so a lock left by a
    killed run is never stale: the file stays, and the next run simply takes it. An interrupted
    block (Ctrl-C, a cancelled task) leaves the lock to the process's end: work it started in
    threads (a Harbor trial) goes on until then, and a run started meanwhile must not take over
    the folder and remove that work's containers, which a real run did."""
    path = Path(path)
    what = what or str(path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    interrupted = False
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise FolderBusy(f"{what} is in use by {holder}: wait for it to finish or stop it (its lock goes with it), or use another folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} ({' '.join(sys.argv[:3])}, since {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        handle.flush()
        yield
    except BaseException as exc:
        interrupted = not isinstance(exc, Exception)
        raise
    finally:
        if interrupted:
            _HELD_TO_EXIT.append(handle)
        else:
            handle.close()  # closing releases the lock


_HELD_TO_EXIT: list[IO[str]] = []  # the locks of interrupted blocks, released by the kernel when the process ends
