"""I/O: named points where a test may kill the process, to prove crash safety.

``reached(name)`` does nothing in normal runs. With ``OGP_FAILPOINT_LOG`` set, it appends
the name of every point reached to that file (a test learns the points of a run); with
``OGP_FAILPOINT_KILL=N``, the N-th point reached kills the process with SIGKILL, the way
a power cut or the OOM killer would: no ``finally``, no flush, no clean-up.
"""

from __future__ import annotations

import os
import signal

_count = 0


def reached(name: str) -> None:
    global _count
    log = os.environ.get("OGP_FAILPOINT_LOG")
    kill_at = os.environ.get("OGP_FAILPOINT_KILL")
    if not log and not kill_at:
        return
    _count += 1
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{_count} {name}\n")
    if kill_at and int(kill_at) == _count:
        os.kill(os.getpid(), signal.SIGKILL)
