"""I/O: a long-running command (Prefect's worker, its server) as a service that stops on one signal.

``python -m pipelines.io.service [--grace S] -- COMMAND...`` runs ``COMMAND`` and, on the
first SIGTERM or SIGINT it receives (``systemctl stop``, ``kill PID``, Ctrl-C, ``make``
forwarding its own SIGTERM), stops it and everything it started, then exits 0. What is
guaranteed:

- the command's whole process tree is ended, what it started first: the command is
  paused (SIGSTOP, so that a worker takes no new run), every process below it is sent
  SIGTERM, including the flow runs a Prefect worker starts in sessions of their own (they
  reach this process, a child subreaper, if their parent dies first), then the command is
  resumed and sent SIGTERM;
  whatever is still alive after ``--grace`` seconds (or at a second signal) is killed;
- nothing is left behind when this process itself dies: the command gets SIGKILL from the
  kernel then (``PR_SET_PDEATHSIG``);
- when the command ends on its own, what it started is ended too and its exit status is
  this process's, so that a service manager restarts it.

Why: ``prefect worker start`` (Prefect 3.9) turns SIGTERM into a SIGINT to itself, and an
idle worker then waits on its server connection's teardown without end; ``make`` forwards
SIGTERM to its child only, so a shell between them, or a worker that does not stop, was an
orphan that kept taking runs. The command runs in a session of its own, so that a
terminal's Ctrl-C reaches it through this process only, in this order.

A flow run stopped this way ends Crashed in Prefect; every stage of a run is safe to stop
at any point (atomic writes, the commit protocol) and a rerun completes it.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

import psutil

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
DEFAULT_GRACE = 20.0
TICK = 0.2


def _prctl(option: int, value: int) -> None:
    """``prctl(2)``, Linux only; elsewhere nothing (the guarantees above are then weaker)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _die_with_parent() -> None:  # run in the child between fork and exec
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _exit_status(code: int) -> int:
    """A child's status as a shell gives it: 128 + N for a child ended by signal N."""
    return 128 - code if code < 0 else code


class Service:
    """One command run under this process (see the module)."""

    def __init__(self, command: Sequence[str], grace: float = DEFAULT_GRACE) -> None:
        self.command = list(command)
        self.grace = grace
        self.signals = 0
        self.process: subprocess.Popen[bytes] | None = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1

    def _descendants(self) -> list[psutil.Process]:
        try:
            return list(psutil.Process().children(recursive=True))
        except psutil.Error:
            return []

    def _reap(self) -> int | None:
        """Collects every ended child (orphans included); the command's exit status once
        it has ended, else ``None``."""
        assert self.process is not None
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == self.process.pid:
                self.process.returncode = os.waitstatus_to_exitcode(status)
        return self.process.returncode

    def _signal_all(self, signum: int) -> None:
        for process in self._descendants():
            try:
                process.send_signal(signum)
            except psutil.Error:
                pass

    def _signal_command(self, signum: int) -> None:
        assert self.process is not None
        try:
            os.kill(self.process.pid, signum)
        except OSError:
            pass  # it has ended

    def _work_alive(self) -> bool:
        """Whether a process the command started is still running (the command aside)."""
        assert self.process is not None
        self._reap()
        pid = self.process.pid
        return any(_alive(p) for p in self._descendants() if p.pid != pid)

    def _end_tree(self) -> None:
        """Ends the command's tree, what it started first: the command is stopped
        (SIGSTOP: it takes no new work), every process below it gets SIGTERM and up to half
        the grace period to end (a Prefect flow run then reports itself Crashed, which it
        does not when its worker has ordered its end and is gone); then the command gets
        SIGCONT and SIGTERM. SIGKILL to what is left after the grace period or at a second
        signal; returns once none is left."""
        seen = self.signals
        started = time.monotonic()
        self._signal_command(signal.SIGSTOP)
        self._signal_all(signal.SIGTERM)  # the command's SIGTERM waits until SIGCONT
        while self._work_alive() and time.monotonic() < started + self.grace / 2:
            if self.signals > max(seen, 1):
                break
            time.sleep(TICK)
        self._signal_command(signal.SIGCONT)
        self._signal_all(signal.SIGTERM)
        deadline = started + self.grace
        while self._descendants_alive():
            if time.monotonic() >= deadline or self.signals > max(seen, 1):
                self._signal_all(signal.SIGKILL)
            time.sleep(TICK)
        self._reap()

    def _descendants_alive(self) -> bool:
        self._reap()
        return any(_alive(p) for p in self._descendants())

    def run(self) -> int:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.process = subprocess.Popen(self.command, start_new_session=True, preexec_fn=_die_with_parent)
        while True:
            ended = self._reap()
            if self.signals:
                self._end_tree()
                return 0
            if ended is not None:
                self._end_tree()  # what the command left running
                return _exit_status(ended)
            time.sleep(TICK)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.io.service",
        description="Lance une commande comme un service qui s'arrête au premier SIGTERM ou SIGINT.",
    )
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE, help="secondes avant SIGKILL")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- commande et arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("indiquez la commande après --")
    return Service(command, args.grace).run()


if __name__ == "__main__":
    sys.exit(main())
