"""A command run as a service stops, with everything it started, on one signal.

The command stands for Prefect's worker: it ignores SIGTERM at first (as an idle worker
did), and starts a « flow run » in a session of its own, which also ignores SIGTERM, and a
grandchild that outlives its parent (reparented to the service, a child subreaper)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

STUBBORN = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pids = sys.argv[1]
    run = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"],
        start_new_session=True,
    )
    # A process whose parent ends at once: reparented to the nearest subreaper.
    orphan_parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
         " start_new_session=True); print(p.pid, flush=True)"],
        stdout=subprocess.PIPE, text=True,
    )
    orphan = int(orphan_parent.stdout.readline())
    orphan_parent.wait()
    with open(pids, "w") as f:
        f.write(f"{os.getpid()} {run.pid} {orphan}")
    time.sleep(600)
    """
)


def start(tmp_path: Path, grace: float) -> tuple[subprocess.Popen[bytes], list[int]]:
    script = tmp_path / "stubborn.py"
    script.write_text(STUBBORN)
    pids = tmp_path / "pids"
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.io.service",
            "--grace",
            str(grace),
            "--",
            sys.executable,
            str(script),
            str(pids),
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not (pids.exists() and pids.read_text().count(" ") == 2):
        assert service.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    return service, [service.pid, *(int(p) for p in pids.read_text().split())]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_one_signal_ends_the_command_and_everything_it_started(tmp_path: Path, signum: int) -> None:
    service, pids = start(tmp_path, grace=2)
    assert all(alive(p) for p in pids)
    started = time.monotonic()
    os.kill(service.pid, signum)
    assert service.wait(timeout=20) == 0
    assert time.monotonic() - started < 10
    assert [p for p in pids if alive(p)] == []


def test_a_second_signal_kills_at_once(tmp_path: Path) -> None:
    service, pids = start(tmp_path, grace=60)
    os.kill(service.pid, signal.SIGTERM)
    time.sleep(1)
    assert alive(pids[1])  # waiting out its grace: the worker ignores SIGTERM
    started = time.monotonic()
    os.kill(service.pid, signal.SIGTERM)
    assert service.wait(timeout=20) == 0
    assert time.monotonic() - started < 5
    assert [p for p in pids if alive(p)] == []


def test_the_command_ending_on_its_own_gives_its_status_and_ends_what_it_left(tmp_path: Path) -> None:
    leftover = tmp_path / "leftover"
    code = (
        "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        f" start_new_session=True); open({str(leftover)!r}, 'w').write(str(p.pid)); sys.exit(3)"
    )
    service = subprocess.run(
        [sys.executable, "-m", "pipelines.io.service", "--grace", "2", "--", sys.executable, "-c", code],
        timeout=30,
    )
    assert service.returncode == 3
    assert not alive(int(leftover.read_text()))


def test_the_command_dies_with_the_service(tmp_path: Path) -> None:
    service, pids = start(tmp_path, grace=2)
    os.kill(service.pid, signal.SIGKILL)
    service.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(pids[1]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pids[1])  # PR_SET_PDEATHSIG
    for pid in pids[2:]:  # out of reach once the service is killed: ended here
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


ORDERED = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    log = sys.argv[1]
    def said(who):
        def handler(signum, frame):
            with open(log, "a") as f:
                f.write(who + "\\n")
            sys.exit(0)
        return handler
    signal.signal(signal.SIGTERM, said("worker"))
    run = subprocess.Popen(
        [sys.executable, "-c",
         "import signal, sys, time\\n"
         "def h(s, f):\\n"
         f"    open({log!r}, 'a').write('run\\\\n'); sys.exit(0)\\n"
         "signal.signal(signal.SIGTERM, h)\\n"
         "open(sys.argv[1], 'w').write('ready')\\n"
         "time.sleep(600)", log + ".ready"],
        start_new_session=True,
    )
    time.sleep(600)
    """
)


def test_what_the_command_started_is_ended_before_the_command(tmp_path: Path) -> None:
    """A flow run gets its SIGTERM while its worker is paused, and ends before the worker
    is told: it reports its own end, the worker takes nothing new meanwhile."""
    script = tmp_path / "ordered.py"
    script.write_text(ORDERED)
    log = tmp_path / "log"
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.io.service",
            "--grace",
            "10",
            "--",
            sys.executable,
            str(script),
            str(log),
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not Path(f"{log}.ready").exists():
        assert service.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    os.kill(service.pid, signal.SIGTERM)
    assert service.wait(timeout=20) == 0
    assert log.read_text().split() == ["run", "worker"]
