"""A file put in an inbox as a body's file arrives: its bytes, and a modification time that
says when (the arrival order the pipeline merges reports by)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path


def drop(inbox: Path, relative: str, content: bytes, arrived: str) -> Path:
    """Writes ``content`` at ``inbox/relative``, modified on ``arrived`` (YYYY-MM-DD) at 09:00 UTC."""
    path = inbox / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    stamp = dt.datetime.fromisoformat(f"{arrived}T09:00:00+00:00").timestamp()
    os.utime(path, (stamp, stamp))
    return path
