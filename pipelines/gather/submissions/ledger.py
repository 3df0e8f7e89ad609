"""Gather stage: the received files as the published ``soumissions`` table tells them.

The one place the flat tables read the archive of receptions, and only through
``SubmissionArchive.accepted``, ``.withdrawals`` and ``.receptions``: whatever the
journal's form, the rest of the views sees :class:`ReceivedFile` records. What is read:
per file (its sha256), the body, the arrival time its rows carry, the door it came
through (a kind, never a path or an address), how many rows it brought, and its
withdrawal. Rejected files are read only when asked (a dataset setting).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipelines.state.archive import AcceptedSubmission, SubmissionArchive, arrival

# The doors a file comes through, as origins name them (``<door>:<where>``; an address
# fetched over HTTP is written as it is).
DOORS = ("depot", "guichet", "exemple")
URL_DOOR = "url"


@dataclass(frozen=True)
class ReceivedFile:
    """One received file (one sha256) as the ``soumissions`` table publishes it."""

    sha256: str
    organisation: str | None
    arrived_at: dt.datetime  # UTC, to the second: the ``date_reception`` of its rows
    door: str
    accepted: bool
    rows: int = 0  # progress rows accepted
    target_rows: int = 0  # values reached of targets accepted
    withdrawn_at: dt.datetime | None = None
    withdrawal_reason: str | None = None


def door_of(origin: object) -> str:
    """The door of an origin: its kind only (``depot``, ``guichet``, ``url``, ``exemple``).

    An origin is a typed record with a ``door`` or, in journals of the first form, the text
    ``<door>:<where>`` (or an address for a file fetched over HTTP)."""
    door = getattr(origin, "door", None)
    if door is not None:
        return str(getattr(door, "value", door))
    prefix, separator, _ = str(origin).partition(":")
    return prefix if separator and prefix in DOORS else URL_DOOR


def utc_seconds(text: str) -> dt.datetime:
    """An ISO 8601 UTC time of the journal as published: aware, to the second."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC).replace(microsecond=0)


def received_files(archive: SubmissionArchive, sample: bool, *, rejected: bool = False) -> list[ReceivedFile]:
    """Every accepted file of the campaign (sample or real), withdrawn ones included, and
    with ``rejected`` the files never accepted; in sha256 order.

    A file received several times is one record: its last accepted reception in merge
    order (whose arrival and body its published rows carry), else its last reception."""
    withdrawals = archive.withdrawals()
    files: dict[str, ReceivedFile] = {}
    submission: AcceptedSubmission
    for submission in archive.accepted(sample, withdrawn=True):
        withdrawal = withdrawals.get(submission.sha256)
        files[submission.sha256] = ReceivedFile(
            submission.sha256,
            submission.organisation,
            utc_seconds(submission.arrived_at),
            door_of(submission.origin),
            True,
            len(submission.rows),
            len(submission.target_rows),
            utc_seconds(withdrawal.date) if withdrawal else None,
            withdrawal.reason if withdrawal else None,
        )
    if rejected:
        refused = sorted(
            (
                e
                for e in archive.receptions()
                if e.get("exemple", False) == sample
                and e["sha256"] not in files
                and e["verdict"] != "accepte"
            ),
            key=lambda e: (arrival(e), e["origine"], e["n"]),
        )
        for entry in refused:  # the last reception of each file wins
            withdrawal = withdrawals.get(entry["sha256"])
            files[entry["sha256"]] = ReceivedFile(
                entry["sha256"],
                entry.get("organisme") or None,
                utc_seconds(arrival(entry)),
                door_of(entry["origine"]),
                False,
                withdrawn_at=utc_seconds(withdrawal.date) if withdrawal else None,
                withdrawal_reason=withdrawal.reason if withdrawal else None,
            )
    return [files[sha] for sha in sorted(files)]
