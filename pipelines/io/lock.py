"""I/O: one writer at a time per output (or state) folder, even across crashes.

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

from pipelines.core.errors import PipelineError

LOCK_FILE = ".lock"


class LockHeld(PipelineError):
    """Another process held the lock of ``folder`` for longer than ``timeout`` seconds.

    ``holder`` is its pid (``None`` when the kernel's table does not say), ``what`` the work
    that waited (« Publication », « Réception des soumissions »…). Not a publication error:
    the same lock guards the state folder. Nothing was written by the run that waited."""

    def __init__(self, folder: Path, *, holder: int | None, timeout: float, what: str) -> None:
        super().__init__(
            f"{what} : une autre exécution{f' (processus {holder})' if holder else ''} tient le verrou "
            f"de {folder} depuis plus de {timeout:.0f} s.",
            hint="Attendez la fin de l'autre exécution puis relancez ; un verrou laissé par une "
            "exécution interrompue se libère de lui-même.",
            folder=folder,
            holder=holder,
            timeout=timeout,
            what=what,
        )
        self.folder = folder
        self.holder = holder
        self.timeout = timeout
        self.what = what


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
    """Holds the lock of ``folder`` for the ``with`` block; waits up to ``timeout`` seconds,
    then raises :class:`LockHeld`.

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
                    holder = holder_pid(folder / name)
                    raise LockHeld(folder, holder=holder, timeout=timeout, what=what) from None
                time.sleep(poll)
        yield
    finally:
        os.close(handle)  # releases the flock
