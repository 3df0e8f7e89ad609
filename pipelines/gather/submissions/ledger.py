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

from pipelines.state.archive import SubmissionArchive
from pipelines.state.journal import Origin, Reception


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


def door_of(origin: Origin) -> str:
    """The door of an origin: its kind only (``depot``, ``guichet``, ``url``, ``exemple``),
    never where in it (a path in the inbox, an address, an access)."""
    return origin.door.value


def utc_seconds(text: str) -> dt.datetime:
    """An ISO 8601 UTC time of the journal as published: aware, to the second."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC).replace(microsecond=0)


def received_files(archive: SubmissionArchive, sample: bool, *, rejected: bool = False) -> list[ReceivedFile]:
    """Every accepted file of the campaign (sample or real), withdrawn ones included, and
    with ``rejected`` the files never accepted; in sha256 order.

    A file received several times is one record: its first accepted reception in merge
    order (when the pipeline first received it, the time its published rows carry: a later
    reception of the same rows leaves them in place), else its last reception."""
    withdrawals = archive.withdrawals()
    files: dict[str, ReceivedFile] = {}
    for submission in archive.accepted(sample, withdrawn=True):
        if submission.sha256 in files:
            continue
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
                r
                for r in archive.receptions()
                if r.sample == sample and r.sha256 not in files and not r.accepted
            ),
            key=Reception.order_key,
        )
        for reception in refused:  # the last reception of each file wins
            withdrawal = withdrawals.get(reception.sha256)
            files[reception.sha256] = ReceivedFile(
                reception.sha256,
                reception.organisation or None,
                utc_seconds(reception.arrived_at),
                door_of(reception.origin),
                False,
                withdrawn_at=utc_seconds(withdrawal.date) if withdrawal else None,
                withdrawal_reason=withdrawal.reason if withdrawal else None,
            )
    return [files[sha] for sha in sorted(files)]
