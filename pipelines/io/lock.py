"""Publish stage: one writer at a time per output (or state) folder, even across crashes.

The lock is ``flock`` on a file beside what it protects: the kernel releases it when the
holding process ends, however it ends, so a run killed with SIGKILL never leaves a lock
that blocks the next one. A second run waits for the first (up to a timeout), then says
who holds the lock instead of failing obscurely. The lock file stays empty (the holder is
read from the kernel's lock table), so two runs leave byte-identical output folders.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.core.errors import PublishError

LOCK_FILE = ".lock"


def holder_pid(path: Path) -> int | None:
    """The process holding the flock of ``path``, from the kernel's table (Linux)."""
    try:
        inode = os.stat(path).st_ino
        with open("/proc/locks", encoding="ascii") as table:
            for line in table:
                parts = line.split()
                if len(parts) > 5 and parts[1] == "FLOCK" and parts[5].endswith(f":{inode}"):
                    return int(parts[4])
    except (OSError, ValueError):
        return None
    return None


@contextmanager
def exclusive(
    folder: Path, *, timeout: float, what: str, poll: float = 0.2, name: str = LOCK_FILE
) -> Iterator[None]:
    """Holds the lock of ``folder`` for the ``with`` block; waits up to ``timeout`` seconds.

    ``name``: another lock file of the same folder, for what is written apart from the rest
    (the door's accesses are not held up by a collection)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pid = holder_pid(folder / name)
                    raise PublishError(
                        f"{what} : une autre exécution"
                        f"{f' (processus {pid})' if pid else ''} tient le verrou de {folder} "
                        f"depuis plus de {timeout:.0f} s.",
                        hint="Attendez la fin de l'autre exécution puis relancez ; un verrou "
                        "laissé par une exécution interrompue se libère de lui-même.",
                    ) from None
                time.sleep(poll)
        yield
    finally:
        os.close(handle)  # releases the flock
