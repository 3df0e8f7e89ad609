"""A file put in an inbox as a body's file arrives: its bytes, and a modification time that
says when (the arrival order the pipeline merges reports by); and what a campaign test
expects of each file it sent."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Sent:
    """A file a test put in the inbox, and what it expects of it: its rows (as the test
    wrote them), whether it is accepted."""

    relative: str
    content: bytes
    arrived: str  # YYYY-MM-DD, at 09:00 UTC
    body: str
    rows: list[Any]
    accepted: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def drop(inbox: Path, relative: str, content: bytes, arrived: str) -> Path:
    """Writes ``content`` at ``inbox/relative``, modified on ``arrived`` (YYYY-MM-DD) at 09:00 UTC."""
    path = inbox / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    stamp = dt.datetime.fromisoformat(f"{arrived}T09:00:00+00:00").timestamp()
    os.utime(path, (stamp, stamp))
    return path
