"""Gather stage: the files of an inbox folder, with the body each comes from, in the order
they are received.

Only what lies inside the inbox is read. A symbolic link whose target is outside it (a
file or a folder elsewhere on the machine) is not followed: it is returned as a refusal,
and nothing of its target is opened. A link inside the inbox to a file or folder inside
it is not read twice: the target is received under its own path.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

# Files an inbox collects that are not submissions: editor lock files, system files.
_IGNORED_PREFIXES = (".", "~$")
_IGNORED_NAMES = {"readme.md", "lisezmoi.md", "thumbs.db", "desktop.ini"}
LINK_OUT_OF_INBOX = "lien-hors-boite"


@dataclass(frozen=True)
class InboxFile:
    """A file of the inbox: its body (sub-folder) and its modification time (UTC)."""

    path: Path
    relative: str
    organisation: str | None
    modified_at: str


@dataclass(frozen=True)
class RefusedLink:
    """A symbolic link of the inbox whose target is outside it: never followed."""

    relative: str
    organisation: str | None
    code: str = LINK_OUT_OF_INBOX

    @property
    def reason(self) -> str:
        return (
            f"« {self.relative} » est un lien symbolique vers un emplacement hors de la boîte de dépôt : "
            "il n'est pas suivi, rien de sa cible n'est lu ni publié."
        )


@dataclass(frozen=True)
class InboxContents:
    files: list[InboxFile]
    refused: list[RefusedLink]


def utc_iso(timestamp_ns: int) -> str:
    moment = dt.datetime.fromtimestamp(timestamp_ns / 1e9, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ignored(relative: Path) -> bool:
    return (
        any(p.startswith(_IGNORED_PREFIXES) for p in relative.parts)
        or relative.name.lower() in _IGNORED_NAMES
    )


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def inbox_files(inbox: Path) -> InboxContents:
    """Files of the inbox in the order they are received, and the links refused.

    The order: the file's modification time (what a mail client or a file share gives a
    saved attachment), ties broken by path. ``inbox/ditp/rapport.xlsx`` comes from
    ``ditp``; a file at the top of the inbox from an unidentified body (its template may
    still say who it is). Folders are walked without following links; a link is resolved
    once, and read only through its target's own path inside the inbox."""
    root = inbox.resolve()
    found: list[tuple[int, str, InboxFile]] = []
    refused: list[RefusedLink] = []
    for directory, folders, names in os.walk(root, followlinks=False):
        here = Path(directory)
        for name in sorted([*folders, *names]):
            path = here / name
            relative = path.relative_to(root)
            if _ignored(relative):
                continue
            organisation = relative.parts[0] if len(relative.parts) > 1 else None
            if path.is_symlink():
                target = path.resolve()
                if not _inside(target, root):
                    refused.append(RefusedLink(relative.as_posix(), organisation))
                continue  # inside: its target is received under its own path
            if not path.is_file():
                continue
            stamp = path.stat().st_mtime_ns
            found.append(
                (
                    stamp,
                    relative.as_posix(),
                    InboxFile(path, relative.as_posix(), organisation, utc_iso(stamp)),
                )
            )
    files = [f for _, _, f in sorted(found, key=lambda item: item[:2])]
    return InboxContents(files, sorted(refused, key=lambda r: r.relative))
