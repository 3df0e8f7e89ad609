"""One publisher at a time: a second run waits or fails clearly; a killed run's lock is gone."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.io.lock import LOCK_FILE, LockHeld, exclusive

# Holds the lock of argv[1] for argv[2] seconds, then writes argv[3] before letting it go:
# whoever gets the lock next must find that file written.
HOLD = """
import sys, time
from pathlib import Path
from pipelines.io.lock import exclusive
with exclusive(Path(sys.argv[1]), timeout=5, what="test"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    Path(sys.argv[3]).write_text("fini", encoding="utf-8")
"""


def hold(folder: Path, seconds: float, marker: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder), str(seconds), str(marker)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_held_lock_times_out_with_the_holders_pid(tmp_path: Path) -> None:
    holder = hold(tmp_path / "site", 30, tmp_path / "fini")
    try:
        with pytest.raises(LockHeld) as caught, exclusive(tmp_path / "site", timeout=0.3, what="Publication"):
            pass
        assert (caught.value.holder, caught.value.folder) == (holder.pid, tmp_path / "site")
        assert (caught.value.what, caught.value.timeout, caught.value.exit_code) == ("Publication", 0.3, 2)
        assert not (tmp_path / "fini").exists()  # the holder was not disturbed
    finally:
        holder.kill()
        holder.wait()


def test_a_second_run_waits_for_the_first(tmp_path: Path) -> None:
    marker = tmp_path / "fini"
    holder = hold(tmp_path / "site", 0.6, marker)
    with exclusive(tmp_path / "site", timeout=60, what="Publication"):
        # The lock was granted only once the first run had finished its work under it.
        assert marker.read_text(encoding="utf-8") == "fini"
    assert holder.wait(timeout=60) == 0


def test_the_lock_of_a_killed_run_does_not_block(tmp_path: Path) -> None:
    holder = hold(tmp_path, 600, tmp_path / "fini")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with exclusive(tmp_path, timeout=0, what="Publication"):  # no wait at all: granted at once
        pass
    assert (tmp_path / LOCK_FILE).read_bytes() == b""  # nothing run-specific left behind
