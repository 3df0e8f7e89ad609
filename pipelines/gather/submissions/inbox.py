"""Gather stage: the files of an inbox folder, with the body each comes from and when it arrived."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

# Files an inbox collects that are not submissions: editor lock files, system files.
_IGNORED_PREFIXES = (".", "~$")
_IGNORED_NAMES = {"readme.md", "lisezmoi.md", "thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class InboxFile:
    """A file of the inbox: its body (sub-folder) and when it arrived there (UTC)."""

    path: Path
    organisation: str | None
    arrived_at: str


def _utc(timestamp_ns: int) -> str:
    moment = dt.datetime.fromtimestamp(timestamp_ns / 1e9, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def inbox_files(inbox: Path, sample_arrival: dt.datetime | None = None) -> list[InboxFile]:
    """Files of the inbox in arrival order, with the body named by their sub-folder.

    Arrival is the file's modification time (what a mail client or a file share gives a
    saved attachment); ties are broken by path. ``inbox/ditp/rapport.xlsx`` comes from
    ``ditp``; a file at the top of the inbox from an unidentified body (its template may
    still say who it is). Bundled samples all arrive at ``sample_arrival``, in path order.
    """
    found: list[tuple[int, str, InboxFile]] = []
    for path in inbox.rglob("*"):
        relative = path.relative_to(inbox)
        if not path.is_file() or any(p.startswith(_IGNORED_PREFIXES) for p in relative.parts):
            continue
        if path.name.lower() in _IGNORED_NAMES:
            continue
        organisation = relative.parts[0] if len(relative.parts) > 1 else None
        stamp = (
            int(sample_arrival.timestamp() * 1e9) if sample_arrival is not None else path.stat().st_mtime_ns
        )
        found.append((stamp, relative.as_posix(), InboxFile(path, organisation, _utc(stamp))))
    return [f for _, _, f in sorted(found, key=lambda item: item[:2])]
