"""A file put in an inbox as a body's file arrives: its bytes, and a modification time (the
order the pipeline receives the files of one collection in); what a campaign test expects of
each file it sent; and the journal's reception times, which the published rows carry."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
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
    arrived: str  # YYYY-MM-DD, at 09:00 UTC: its modification time
    body: str
    rows: list[Any]
    accepted: bool
    collection: int = 0  # the run that first receives it (set by the campaign that sends it)

    @property
    def order(self) -> tuple[int, str, str]:
        """The reception order: by run, then within a run by modification time and path."""
        return (self.collection, self.arrived, self.relative)

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


def reception_times(state: Path, slug: str) -> dict[str, str]:
    """The time each received file (by sha256) is published with (``date_reception``): its
    last reception in the journal, to the second, as the published CSV writes it."""
    times: dict[str, str] = {}
    for line in (state / slug / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("evenement", "reception") == "reception":
            times[entry["sha256"]] = entry["arrivee"][:19] + "Z"
    return times


def latest_report(state: Path, slug: str, sha256: str) -> dict[str, Any]:
    """The JSON report of a file's latest reception, where the journal says it is."""
    folder = None
    for line in (state / slug / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("sha256") == sha256 and entry.get("evenement", "reception") == "reception":
            folder = entry.get("rapport") or f"soumissions/{sha256}"
    assert folder is not None, f"{sha256} was never received"
    report: dict[str, Any] = json.loads((state / slug / folder / "rapport.json").read_text(encoding="utf-8"))
    return report
