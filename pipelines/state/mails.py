"""State: the journal of mails, one typed record per line, appended, never rewritten.

Each mail the campaign sends is first *planned* (its line written, fsynced, and its bytes
kept as ``courriels/<n>.eml``), then sent, then its *outcome* is appended. So:

- a message whose key (``accuse:12``: the receipt of reception 12; a reminder's key) was
  planned before is never planned again: a rerun sends nothing twice;
- a planned message without outcome is one whose sending was cut (a crash): it may have
  gone, so it is never sent again on its own (« incertain »);
- a message whose outcome is ``echec`` (the relay could not be reached, or answered « try
  later », after every attempt) was not taken: it is sent again, the same bytes and
  Message-ID, to the recipients that did not get it.

What the journal says of a recipient is the body and the contact's ``id``, never an
address: what is shown of a mail (``ogp status``, the console) is the body, the kind, the
subject, the time and the outcome.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

PLANNED = "prevu"
OUTCOME = "issue"


class MailKind(StrEnum):
    RECEIPT = "accuse"  # an « accusé de réception » of one reception
    REMINDER = "relance"  # what a body still owes
    ALERT = "alerte"  # a scheduled run's alert (issue #31)

    @property
    def label(self) -> str:
        return {"accuse": "accusé de réception", "relance": "relance", "alerte": "alerte"}[self.value]


class Outcome(StrEnum):
    SENT = "envoye"  # taken by the relay for at least one recipient, the others refused for good
    REFUSED = "refuse"  # every recipient refused for good
    FAILED = "echec"  # not taken (transient): to send again
    UNCERTAIN = "incertain"  # cut while being transferred: perhaps taken, never resent on its own

    @property
    def label(self) -> str:
        return {
            "envoye": "envoyé",
            "refuse": "refusé",
            "echec": "échec, à renvoyer",
            "incertain": "envoi incertain",
        }[self.value]


@dataclass(frozen=True)
class MailPlanned:
    """A message about to be sent: its key (what it is for), kind, body, subject, when, its
    Message-ID, and the contact ids it is addressed to."""

    n: int
    key: str
    kind: MailKind
    organisation: str
    subject: str
    date: str
    message_id: str
    contacts: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "evenement": PLANNED,
            "cle": self.key,
            "type": self.kind.value,
            "organisme": self.organisation,
            "objet": self.subject,
            "date": self.date,
            "message_id": self.message_id,
            "contacts": list(self.contacts),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> MailPlanned:
        return cls(
            n=int(document["n"]),
            key=str(document["cle"]),
            kind=MailKind(document["type"]),
            organisation=str(document["organisme"]),
            subject=str(document.get("objet", "")),
            date=str(document["date"]),
            message_id=str(document["message_id"]),
            contacts=tuple(document.get("contacts", ())),
        )


@dataclass(frozen=True)
class MailOutcome:
    """What became of a planned message (``n`` of its plan): the contact ids the relay took,
    refused for good (with its reply, addresses removed), left for later, or perhaps took."""

    n: int
    planned: int
    outcome: Outcome
    date: str
    accepted: tuple[str, ...] = ()
    refused: dict[str, str] = field(default_factory=dict)  # contact id → the relay's reply
    pending: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "evenement": OUTCOME,
            "prevu": self.planned,
            "issue": self.outcome.value,
            "date": self.date,
            "acceptes": list(self.accepted),
            "refuses": dict(sorted(self.refused.items())),
            "en_attente": list(self.pending),
            "incertains": list(self.uncertain),
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> MailOutcome:
        return cls(
            n=int(document["n"]),
            planned=int(document["prevu"]),
            outcome=Outcome(document["issue"]),
            date=str(document["date"]),
            accepted=tuple(document.get("acceptes", ())),
            refused=dict(document.get("refuses", {})),
            pending=tuple(document.get("en_attente", ())),
            uncertain=tuple(document.get("incertains", ())),
            detail=str(document.get("detail", "")),
        )


MailEntry = MailPlanned | MailOutcome


def mail_entry_from_json(document: dict[str, Any]) -> MailEntry:
    if document.get("evenement") == OUTCOME:
        return MailOutcome.from_json(document)
    return MailPlanned.from_json(document)


@dataclass(frozen=True)
class Mail:
    """A planned message with its outcomes so far (the last one decides)."""

    planned: MailPlanned
    outcomes: tuple[MailOutcome, ...] = ()

    @property
    def outcome(self) -> Outcome:
        """The message's state: its last outcome; ``incertain`` when it has none (cut)."""
        return self.outcomes[-1].outcome if self.outcomes else Outcome.UNCERTAIN

    @property
    def delivered(self) -> tuple[str, ...]:
        """Every contact id the relay took it for, over all attempts."""
        return tuple(dict.fromkeys(c for o in self.outcomes for c in o.accepted))

    @property
    def counts_as_sent(self) -> bool:
        """Sent, or perhaps sent: either way, not to send again within an interval."""
        return self.outcome in (Outcome.SENT, Outcome.UNCERTAIN) or bool(self.delivered)

    @property
    def date(self) -> str:
        return self.outcomes[-1].date if self.outcomes else self.planned.date


class MailJournal:
    """``courriels/journal.jsonl`` of a campaign. Appends are whole lines, fsynced; the caller
    holds the mail lock (``courriels/.lock``) from reading a key to appending its outcome."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[MailEntry]:
        if not self.path.exists():
            return []
        entries: list[MailEntry] = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(mail_entry_from_json(json.loads(line)))
            except (json.JSONDecodeError, KeyError, ValueError, TypeError):
                continue  # a line cut by a crash mid-append
        return entries

    def mails(self) -> list[Mail]:
        """Every planned message with its outcomes, in the order they were planned."""
        planned: dict[int, MailPlanned] = {}
        outcomes: dict[int, list[MailOutcome]] = {}
        for entry in self.entries():
            if isinstance(entry, MailPlanned):
                planned[entry.n] = entry
            else:
                outcomes.setdefault(entry.planned, []).append(entry)
        return [Mail(p, tuple(outcomes.get(n, ()))) for n, p in planned.items()]

    def by_key(self) -> dict[str, Mail]:
        """The latest message planned for each key."""
        return {m.planned.key: m for m in self.mails()}

    def next_n(self) -> int:
        return max((e.n for e in self.entries()), default=0) + 1

    def append(self, entry: MailEntry) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
