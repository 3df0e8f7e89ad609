"""State: the journal of a campaign's archive, one typed record per line.

``journal.jsonl`` is appended, never rewritten: each line is a reception (a file received
and validated), a withdrawal (a received file retracted) or a refusal (something the
intake would not read, such as a link out of the inbox). Each record has one reader
(``entry_from_json``) and one writer (``to_json``); nothing else spells its keys. Journals
written by earlier versions still read: a line without ``evenement`` is a reception, a
reception without ``collecte`` is of the old format (its order was its file's modification
time, ``arrivee``), a reception without ``organisme`` takes its body from its report.

Where a file came from is an :class:`Origin`: its door (an inbox folder, the bundled
samples, a URL, the bodies' web door, a file validated on the command line) and where in
that door. Its JSON form is the string the journal has always held (``depot:ditp/x.xlsx``,
``exemple:…``, ``fichier:…``, ``guichet:<access id>``, or the URL itself).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class Door(StrEnum):
    """How a file reached the campaign; the value is the prefix of its origin's JSON form."""

    INBOX = "depot"  # a file in the inbox folder, in the sub-folder of its body
    SAMPLE = "exemple"  # a bundled, invented sample
    URL = "url"  # fetched from an address a body publishes at
    DROPOFF = "guichet"  # uploaded by a body through its own web door
    FILE = "fichier"  # a file validated on the command line (never archived)

    @property
    def label(self) -> str:
        """The door in French, as the status and the published ``soumissions`` say it."""
        return _DOOR_LABELS[self]


_DOOR_LABELS = {
    Door.INBOX: "boîte de dépôt",
    Door.SAMPLE: "exemple",
    Door.URL: "adresse web",
    Door.DROPOFF: "guichet en ligne",
    Door.FILE: "fichier local",
}
# Doors whose origins are written ``<prefix>:<where>``; a URL is written as it is.
_PREFIXED = (Door.INBOX, Door.SAMPLE, Door.DROPOFF, Door.FILE)


@dataclass(frozen=True, order=True)
class Origin:
    """Where one received file came from: its door and where in it (the path relative to
    the inbox, the URL with its secrets redacted, the access id of the web door)."""

    door: Door
    where: str

    def to_json(self) -> str:
        return self.where if self.door is Door.URL else f"{self.door.value}:{self.where}"

    @classmethod
    def from_json(cls, text: str) -> Origin:
        prefix, separator, rest = text.partition(":")
        for door in _PREFIXED:
            if separator and prefix == door.value:
                return cls(door, rest)
        return cls(Door.URL, text)

    def __str__(self) -> str:
        return self.to_json()


class Verdict(StrEnum):
    ACCEPTED = "accepte"
    REJECTED = "rejete"


RECEPTION = "reception"
WITHDRAWAL = "retrait"
REFUSAL = "refus"


@dataclass(frozen=True)
class Reception:
    """One reception of a file: received, archived, validated, reported.

    ``received_at`` is when the pipeline received it (UTC, ISO 8601). ``arrived_at`` is the
    time published as the rows' ``date_reception``: the reception time, except for the
    invented samples (a fixed, declared time, so that they give the same bytes) and for
    journals of the old format (the file's modification time, then their merge order).
    ``collection`` is the number of the collection (a run of the intake, or one upload
    through the door) that received it: receptions are merged by collection, then by their
    line in the journal (within a collection, files are received in the order of their
    modification times, then paths). ``modified_at`` is the file's own modification time
    when it has one (informational). ``report`` is the folder of this reception's report,
    relative to the archive; ``None`` for journals of before each reception kept its own."""

    n: int
    sha256: str
    file_name: str
    origin: Origin
    received_at: str
    arrived_at: str
    organisation: str | None
    sample: bool
    verdict: Verdict
    collection: int | None = None
    modified_at: str | None = None
    report: str | None = None
    # Old journals without ``organisme``: the body is read from the report.
    organisation_recorded: bool = True

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPTED

    def order_key(self) -> tuple[int, str, str, int]:
        """The merge order: old-format receptions first, among themselves by their recorded
        arrival and origin (as they were merged); then by collection and journal line."""
        if self.collection is None:
            return (0, self.arrived_at, self.origin.to_json(), self.n)
        return (1, f"{self.collection:012d}", "", self.n)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "n": self.n,
            "sha256": self.sha256,
            "fichier": self.file_name,
            "origine": self.origin.to_json(),
            "recu_le": self.received_at,
            "arrivee": self.arrived_at,
            "organisme": self.organisation,
            "exemple": self.sample,
            "verdict": self.verdict.value,
        }
        if self.collection is not None:
            document["collecte"] = self.collection
        if self.modified_at is not None:
            document["modifie_le"] = self.modified_at
        if self.report is not None:
            document["rapport"] = self.report
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Reception:
        collection = document.get("collecte")
        received = str(document["recu_le"])
        return cls(
            n=int(document["n"]),
            sha256=str(document["sha256"]),
            file_name=str(document.get("fichier", "")),
            origin=Origin.from_json(str(document.get("origine", ""))),
            received_at=received,
            arrived_at=str(document.get("arrivee") or received),
            organisation=document.get("organisme"),
            sample=bool(document.get("exemple", False)),
            verdict=Verdict(document["verdict"]),
            collection=int(collection) if collection is not None else None,
            modified_at=document.get("modifie_le"),
            report=document.get("rapport"),
            organisation_recorded="organisme" in document,
        )


@dataclass(frozen=True)
class Withdrawal:
    """A received file retracted by the steward (``ogp withdraw``): nothing is deleted, its
    rows are left out of the next publication."""

    n: int
    sha256: str
    file_name: str
    reason: str
    date: str

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "evenement": WITHDRAWAL,
            "sha256": self.sha256,
            "fichier": self.file_name,
            "motif": self.reason,
            "date": self.date,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Withdrawal:
        return cls(
            n=int(document["n"]),
            sha256=str(document["sha256"]),
            file_name=str(document.get("fichier", "")),
            reason=str(document.get("motif", "")),
            date=str(document["date"]),
        )


@dataclass(frozen=True)
class Refusal:
    """Something the intake would not read (a link whose target is out of the inbox, a file
    over the size limit at a URL): journalled once per origin and reason, nothing archived.
    ``code`` is stable (``lien-hors-boite``); ``reason`` the French sentence shown."""

    n: int
    origin: Origin
    file_name: str
    code: str
    reason: str
    date: str
    collection: int | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "n": self.n,
            "evenement": REFUSAL,
            "origine": self.origin.to_json(),
            "fichier": self.file_name,
            "code": self.code,
            "motif": self.reason,
            "date": self.date,
        }
        if self.collection is not None:
            document["collecte"] = self.collection
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Refusal:
        collection = document.get("collecte")
        return cls(
            n=int(document["n"]),
            origin=Origin.from_json(str(document["origine"])),
            file_name=str(document.get("fichier", "")),
            code=str(document["code"]),
            reason=str(document.get("motif", "")),
            date=str(document["date"]),
            collection=int(collection) if collection is not None else None,
        )


JournalEntry = Reception | Withdrawal | Refusal


def entry_from_json(document: dict[str, Any]) -> JournalEntry:
    """The one reader of a journal line."""
    event = document.get("evenement", RECEPTION)
    if event == WITHDRAWAL:
        return Withdrawal.from_json(document)
    if event == REFUSAL:
        return Refusal.from_json(document)
    return Reception.from_json(document)


class Journal:
    """The journal file of one archive, read once and kept in step with what is appended;
    read again if another process appended since (its size changed).

    Appends are whole lines, fsynced: a crash can only cut the last line, which reading
    skips. The caller holds the archive's lock when it appends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: list[JournalEntry] | None = None
        self._size = -1

    def _current_size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def entries(self) -> list[JournalEntry]:
        size = self._current_size()
        if self._entries is None or size != self._size:
            self._size = size
            lines = self.path.read_text(encoding="utf-8").splitlines() if size else []
            entries: list[JournalEntry] = []
            for line in lines:
                try:
                    entries.append(entry_from_json(json.loads(line)))
                except (json.JSONDecodeError, KeyError, ValueError, TypeError):
                    continue  # a line cut by a crash mid-append
            self._entries = entries
        return self._entries

    def receptions(self) -> list[Reception]:
        """Receptions in the order they were written."""
        return [e for e in self.entries() if isinstance(e, Reception)]

    def withdrawals(self) -> dict[str, Withdrawal]:
        """Withdrawn files by sha256."""
        return {e.sha256: e for e in self.entries() if isinstance(e, Withdrawal)}

    def refusals(self) -> list[Refusal]:
        return [e for e in self.entries() if isinstance(e, Refusal)]

    def next_n(self) -> int:
        return max((e.n for e in self.entries()), default=0) + 1

    def next_collection(self) -> int:
        """The number the next collection's receptions carry: after every earlier one."""
        numbers = [
            e.collection for e in self.entries() if isinstance(e, Reception | Refusal) and e.collection
        ]
        return max(numbers, default=0) + 1

    def append(self, entry: JournalEntry) -> None:
        entries = self.entries()  # up to date with the file before this line is added
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        entries.append(entry)
        self._size = self._current_size()
