"""udata 17.18's own application on loopback (``tools/udata_portal/serve.py``), driven from tests.

The server runs in the udata tool venv made by ``make tools`` (which ``make test`` runs); tests
never install it. Every API request it answers is logged, so a test counts the write requests
(POST, PUT, DELETE) a command sent; ``api`` calls the portal's API as its user does (adding an extra, deleting a dataset).
"""

from __future__ import annotations

import json
import select
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT

PYTHON = ROOT / ".venv-tools" / "udata" / "bin" / "python"
SERVE = ROOT / "tools" / "udata_portal" / "serve.py"
WRITES = ("POST", "PUT", "DELETE", "PATCH")


@dataclass
class UdataPortal:
    """A running udata: its address, the seeded key and organisation, and its request log."""

    process: subprocess.Popen[str]
    log: Path
    base: str
    key: str = field(repr=False)
    other_key: str = field(repr=False)
    organization: str
    started_in: float

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The API requests answered, in order, from the ``since``-th on."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()][since:]

    def mark(self) -> int:
        """How many requests were answered so far: give it to ``requests``/``writes`` later."""
        return len(self.requests())

    def writes(self, since: int = 0) -> list[tuple[str, str, int]]:
        """The write requests (method, path, status) answered from the ``since``-th request on."""
        return [(r["method"], r["path"], r["status"]) for r in self.requests(since) if r["method"] in WRITES]

    def api(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> Any:
        """One call to the API as the seeded user (or with ``key``); the JSON answer, None if empty."""
        response = requests.request(
            method, f"{self.base}/api/1{path}", timeout=30, headers={"X-API-KEY": key or self.key}, **kwargs
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def datasets(self) -> list[dict[str, Any]]:
        """The user's and organisation's datasets as udata lists them (deleted ones included)."""
        return list(self.api("GET", "/me/org_datasets/"))

    def fault(
        self,
        method: str,
        *,
        status: int = 0,
        after: bool,
        path: str | None = None,
        suffix: str | None = None,
        reset: bool = False,
    ) -> None:
        """Queues one fault for the next request matching ``method`` and ``path`` (or ``suffix``):
        answered ``status`` (or, ``reset``, the connection closed unanswered) without reaching
        udata, or (``after``) once udata has processed it."""
        requests.post(
            f"{self.base}/_test/faults",
            timeout=10,
            json={
                "method": method,
                "path": path,
                "suffix": suffix,
                "status": status,
                "after": after,
                "reset": reset,
            },
        ).raise_for_status()

    def reset(self) -> None:
        """Deletes every dataset and queued fault: the portal as seeded."""
        requests.post(f"{self.base}/_test/reset", timeout=30).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_udata(folder: Path, *options: str) -> UdataPortal:
    """Starts the server with its log and uploads in ``folder``; fails the test (naming
    ``make tools``) if the udata venv is missing."""
    if not PYTHON.exists():
        pytest.fail(f"udata's venv is missing ({PYTHON}): run make tools")
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "requests.jsonl"
    began = time.monotonic()
    process = subprocess.Popen(
        [str(PYTHON), str(SERVE), "--log", str(log), "--fs-root", str(folder / "fs"), *options],
        stdout=subprocess.PIPE,
        stderr=(folder / "stderr.log").open("w"),
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 60)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()
        pytest.fail(f"udata did not start: {(folder / 'stderr.log').read_text()[-2000:]}")
    info = json.loads(line)
    return UdataPortal(
        process,
        log,
        info["base"],
        info["key"],
        info["other_key"],
        info["organization"],
        time.monotonic() - began,
    )
