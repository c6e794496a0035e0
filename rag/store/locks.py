"""One writer at a time on a data dir, and telling a live writer from a dead one.

Every write holds the data dir's write lock (a file lock, so a killed writer never leaves it held) for one
batch at a time, and records its process in the rows it leaves pending, so clean-up only removes what a dead
writer left.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from rag.errors import StoreError

log = logging.getLogger("rag.store")


def process_identity(pid: int | None = None) -> str:
    """'pid:start time' of a process (this one by default): a pid alone may be reused by a later process."""
    pid = pid or os.getpid()
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            started = handle.read().rsplit(b")", 1)[1].split()[19].decode()  # field 22, starttime
    except (OSError, IndexError):
        started = ""  # no /proc (macOS) or no such process: the pid alone
    return f"{pid}:{started}"


def writer_alive(identity: str | None) -> bool:
    """Whether the process that recorded this identity is still running (and is not a later one with its pid)."""
    pid, _, _ = (identity or "").partition(":")
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    return not os.path.exists("/proc/self/stat") or process_identity(int(pid)) == identity


class WriteLock:
    """One writer at a time on a data dir: across processes (a file lock) and threads (an RLock); reentrant.

    The holder writes who it is beside the lock, so a writer that has to wait can say whom it waits for.
    The kernel releases the file lock when its holder dies, so a killed writer never leaves the dir locked.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.holder_file = path.with_name(path.name + ".holder")
        self.timeout = timeout
        self._file = FileLock(str(path), thread_local=False)
        self._threads = threading.RLock()
        self._depth = 0

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock; when another process holds it, wait (saying so) up to the timeout, then StoreError."""
        if not self._threads.acquire(blocking=blocking):
            return False
        if self._depth == 0:
            try:
                self._file.acquire(timeout=0)
            except Timeout:
                if not blocking:
                    self._threads.release()
                    return False
                log.warning("waiting for the write lock on %s: %s", self.path.parent, self.holder())
                try:
                    self._file.acquire(timeout=self.timeout)
                except Timeout:
                    self._threads.release()
                    raise StoreError(
                        f"another process is writing to {self.path.parent} ({self.holder()}); waited "
                        f"{self.timeout:g} s (NEWSRAG_WRITE_LOCK_TIMEOUT). Try again when it has finished, or "
                        "give this command its own NEWSRAG_DATA_DIR"
                    ) from None
            info = {"pid": os.getpid(), "command": " ".join(sys.argv)[:300], "since": time.strftime("%H:%M:%S")}
            self.holder_file.write_text(json.dumps(info))
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._file.release()
        self._threads.release()

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def holder(self) -> str:
        """Who holds the lock, in words, from what the holder wrote."""
        try:
            info = json.loads(self.holder_file.read_text())
            return f"held by pid {info['pid']} (`{info['command']}`) since {info['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "held by another process"
