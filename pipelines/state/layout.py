"""State: where each thing of a campaign's state folder lives, in one place.

Under ``<state_dir>/<dataset slug>/`` (never under the published output)::

    campagne.json                      the recorded campaign (see ``state.campaign``)
    journal.jsonl                      receptions, withdrawals, refusals (``state.journal``)
    soumissions/<sha256>/original.<ext>     the bytes as received, once per content
    soumissions/<sha256>/lignes.json        canonical progress rows (accepted files)
    soumissions/<sha256>/cibles.json        canonical target values (accepted files with some)
    soumissions/<sha256>/receptions/<n>/rapport.{json,md,html}   the report of reception n
    soumissions/<sha256>/rapport.{json,md,html}   the report, in archives of before each
                                                  reception kept its own
    http.json                          ETag / Last-Modified of each polled URL
    etat-collecte.{json,html}          the campaign's status, after each collection
    contacts.json                      the bodies' contacts (personal data: never published)
    courriels/journal.jsonl            the journal of mails (``state.mails``)
    courriels/<n>.eml                  each mail as planned (bytes sent, Message-ID)
    acces.json                         the door's accesses: token hashes, never a token
                                       (``state.accesses``), under its own lock ``.acces.lock``

Every module that reads or writes these asks this object; none spells a path itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from pipelines.state.journal import Reception

SUBMISSIONS = "soumissions"
RECEPTIONS = "receptions"
REPORT_NAME = "rapport"
STATUS_NAME = "etat-collecte"
MAILS = "courriels"


def _suffix(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"


@dataclass(frozen=True)
class ArchiveLayout:
    """The paths of one dataset's state folder."""

    root: Path

    @property
    def journal(self) -> Path:
        return self.root / "journal.jsonl"

    @property
    def campaign(self) -> Path:
        return self.root / "campagne.json"

    @property
    def accesses(self) -> Path:
        return self.root / "acces.json"

    @property
    def http_validators(self) -> Path:
        return self.root / "http.json"

    @property
    def contacts(self) -> Path:
        return self.root / "contacts.json"

    @property
    def mail_folder(self) -> Path:
        """The journal of mails, their bytes and the lock of their sending."""
        return self.root / MAILS

    @property
    def mail_journal(self) -> Path:
        return self.mail_folder / "journal.jsonl"

    def mail_message(self, n: int) -> Path:
        return self.mail_folder / f"{n}.eml"

    def status(self, suffix: str) -> Path:
        return self.root / f"{STATUS_NAME}.{suffix}"

    def submission(self, sha256: str) -> Path:
        return self.root / SUBMISSIONS / sha256

    def original(self, sha256: str, file_name: str) -> Path:
        return self.submission(sha256) / f"original{_suffix(file_name)}"

    def rows(self, sha256: str) -> Path:
        return self.submission(sha256) / "lignes.json"

    def target_rows(self, sha256: str) -> Path:
        return self.submission(sha256) / "cibles.json"

    def reception_folder(self, sha256: str, n: int) -> str:
        """The report folder of reception ``n`` of a file, relative to the root (recorded in
        the journal)."""
        return f"{SUBMISSIONS}/{sha256}/{RECEPTIONS}/{n}"

    def report_folder(self, reception: Reception) -> Path:
        """Where the report of a reception is: its own folder, or the file's folder in an
        archive of the earlier layout."""
        if reception.report is not None:
            return self.root / reception.report
        return self.submission(reception.sha256)

    def report(self, reception: Reception, suffix: str = "json") -> Path:
        return self.report_folder(reception) / f"{REPORT_NAME}.{suffix}"
