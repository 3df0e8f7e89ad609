"""One publisher at a time: a second run waits or fails clearly; a killed run's lock is gone."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.core.errors import PublishError
from pipelines.io.lock import LOCK_FILE, exclusive

HOLD = """
import sys, time
from pathlib import Path
from pipelines.io.lock import exclusive
with exclusive(Path(sys.argv[1]), timeout=5, what="test"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(folder: Path, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_held_lock_times_out_with_the_holders_pid(tmp_path: Path) -> None:
    holder = hold(tmp_path, 30)
    try:
        with pytest.raises(PublishError) as caught, exclusive(tmp_path, timeout=0.3, what="Publication"):
            pass
        assert f"processus {holder.pid}" in caught.value.message
        assert "relancez" in caught.value.hint
    finally:
        holder.kill()
        holder.wait()


def test_a_second_run_waits_for_the_first(tmp_path: Path) -> None:
    holder = hold(tmp_path, 0.6)
    start = time.monotonic()
    with exclusive(tmp_path, timeout=10, what="Publication"):
        waited = time.monotonic() - start
    holder.wait()
    assert 0.3 < waited < 10


def test_the_lock_of_a_killed_run_does_not_block(tmp_path: Path) -> None:
    holder = hold(tmp_path, 600)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    start = time.monotonic()
    with exclusive(tmp_path, timeout=5, what="Publication"):
        assert time.monotonic() - start < 1
    assert (tmp_path / LOCK_FILE).read_bytes() == b""  # nothing run-specific left behind
