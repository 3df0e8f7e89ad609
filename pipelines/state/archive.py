"""State: every received submission kept byte for byte, with the report of each reception.

Where things live is ``state.layout``'s to say; what the journal holds is
``state.journal``'s. A submission is named by its content hash, so receiving the same
bytes twice stores them once; each reception (a file received again, or moved to another
folder) keeps its own report and its own line in the journal. Files are written to a
temporary name then renamed, and the report is written before the journal line: a crash
leaves a file to receive again, never a half-written reception. Rejected submissions stay
here (quarantine): nothing of them is published. A withdrawal is a line of the journal:
nothing is ever deleted, the withdrawn file's rows are left out of what is published.

The merge order is the reception order: a file received in a later collection always
ranks after every file received before it; files of one collection are ordered by their
modification times, then paths (the order they were received in). Journals of the
earlier format keep their recorded order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.errors import ConfigError
from pipelines.io.atomic import copy_atomically, write_atomically
from pipelines.state.journal import (
    Journal,
    Origin,
    Reception,
    Refusal,
    Verdict,
    Withdrawal,
)
from pipelines.state.layout import ArchiveLayout
from pipelines.state.received import Received

Row = dict[str, str]


@dataclass(frozen=True)
class AcceptedSubmission:
    """One accepted reception: the rows of the file and who sent it, when."""

    reception: Reception
    organisation: str
    rows: list[Row]
    target_rows: tuple[Row, ...] = ()

    @property
    def sha256(self) -> str:
        return self.reception.sha256

    @property
    def file_name(self) -> str:
        return self.reception.file_name

    @property
    def origin(self) -> Origin:
        return self.reception.origin

    @property
    def arrived_at(self) -> str:
        return self.reception.arrived_at


def _json_bytes(document: Any) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


class SubmissionArchive:
    """One dataset's archive. The journal is read once per instance and kept up to date
    by what this instance appends: a writer holds the state lock, so nobody else appends
    meanwhile."""

    def __init__(self, root: Path) -> None:
        self.layout = ArchiveLayout(root)
        self.journal = Journal(self.layout.journal)
        # An accepted file's rows (progress, targets), read once: a file is named by its hash.
        self._rows: dict[str, tuple[list[Row], tuple[Row, ...]]] = {}

    @property
    def root(self) -> Path:
        return self.layout.root

    def receptions(self) -> list[Reception]:
        """The journal's receptions, in the order they were written."""
        return self.journal.receptions()

    def withdrawals(self) -> dict[str, Withdrawal]:
        """Withdrawn submissions by sha256."""
        return self.journal.withdrawals()

    def refusals(self) -> list[Refusal]:
        return self.journal.refusals()

    def is_known(self, origin: Origin, sha256: str) -> bool:
        """This exact file was already received from this origin and has its report."""
        return any(
            r.origin == origin and r.sha256 == sha256 and self.layout.report(r).exists()
            for r in self.receptions()
        )

    def is_refused(self, origin: Origin, code: str) -> bool:
        """This origin was already refused for this reason (refused once, not at every run)."""
        return any(r.origin == origin and r.code == code for r in self.refusals())

    def has_real_submissions(self) -> bool:
        """A real (not sample) file was ever received here, whatever its verdict."""
        return any(not r.sample for r in self.receptions())

    def find(self, prefix: str) -> str:
        """The sha256 of the received file that ``prefix`` names (the whole sha256 or a
        unique prefix of it); a clear error when none or several do."""
        wanted = prefix.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{4,64}", wanted):
            raise ConfigError(
                f"« {prefix} » n'est pas un identifiant de soumission.",
                hint="Donnez l'empreinte sha256 du fichier archivé (ou ses premiers caractères, "
                "au moins 4), telle que la donne le rapport ou le journal des réceptions.",
                submission=prefix,
            )
        found = sorted({r.sha256 for r in self.receptions() if r.sha256.startswith(wanted)})
        if not found:
            raise ConfigError(
                f"Aucune soumission reçue dans {self.root} n'a une empreinte commençant par « {prefix} ».",
                hint="Vérifiez l'identifiant et le dossier d'état (--state-dir).",
                submission=prefix,
            )
        if len(found) > 1:
            raise ConfigError(
                f"« {prefix} » désigne {len(found)} soumissions : " + ", ".join(f[:16] for f in found) + ".",
                hint="Donnez davantage de caractères de l'empreinte.",
                submission=prefix,
                candidates=found,
            )
        return found[0]

    def withdraw(self, sha256: str, reason: str, date: str) -> Withdrawal:
        """Records the withdrawal of a received file; deletes nothing.

        The caller holds the state lock. Withdrawing twice is an error that says when the
        first withdrawal was made."""
        if not reason.strip():
            raise ConfigError(
                "Le motif du retrait est vide.",
                hint="Indiquez pourquoi la soumission est retirée : --reason « … ».",
            )
        earlier = self.withdrawals().get(sha256)
        if earlier is not None:
            raise ConfigError(
                f"La soumission {sha256[:16]} ({earlier.file_name}) a déjà été retirée le "
                f"{earlier.date} (motif : {earlier.reason}).",
                hint="Rien à faire : ses lignes ne sont plus publiées.",
                submission=sha256,
                withdrawn_on=earlier.date,
            )
        name = next(r.file_name for r in self.receptions() if r.sha256 == sha256)
        withdrawal = Withdrawal(self.journal.next_n(), sha256, name, reason.strip(), date)
        self.journal.append(withdrawal)
        return withdrawal

    def refuse(
        self, origin: Origin, file_name: str, code: str, reason: str, date: str, collection: int | None
    ) -> Refusal:
        """Journals something the intake would not read; nothing is archived of it."""
        refusal = Refusal(self.journal.next_n(), origin, file_name, code, reason, date, collection)
        self.journal.append(refusal)
        return refusal

    def store(self, received: Received) -> Path:
        """Keeps the bytes (once per content) and returns where they are."""
        path = self.layout.original(received.sha256, received.name)
        if path.exists():
            return path
        if received.path is None:
            write_atomically(path, received.content)
        else:  # too large for memory: copied as a stream
            copy_atomically(received.path, path)
        return path

    def save(
        self,
        received: Received,
        reports: Mapping[str, bytes],
        rows: list[Row],
        *,
        accepted: bool,
        organisation: str | None,
        sample: bool,
        collection: int,
        target_rows: list[Row] | None = None,
    ) -> Reception:
        """Rows and report of a validated reception, then its line in the journal.

        ``reports`` are the rendered report files by suffix (``json``, ``md``, ``html``): the
        archive keeps them and does not know how they are made. The journal line is written
        last: a crash before it leaves a file to receive again."""
        n = self.journal.next_n()
        folder = self.layout.reception_folder(received.sha256, n)
        if accepted:
            write_atomically(self.layout.rows(received.sha256), _json_bytes(rows))
            if target_rows:
                write_atomically(self.layout.target_rows(received.sha256), _json_bytes(target_rows))
        for suffix in sorted(reports, key=lambda s: s == "json"):
            write_atomically(self.root / folder / f"rapport.{suffix}", reports[suffix])
        reception = Reception(
            n=n,
            sha256=received.sha256,
            file_name=received.name,
            origin=received.origin,
            received_at=received.received_at,
            arrived_at=received.arrived_at or received.received_at,
            organisation=organisation,
            sample=sample,
            verdict=Verdict.ACCEPTED if accepted else Verdict.REJECTED,
            collection=collection,
            modified_at=received.modified_at,
            report=folder,
        )
        self.journal.append(reception)
        return reception

    def report(self, reception: Reception) -> dict[str, Any]:
        """The JSON report of a reception."""
        document: dict[str, Any] = json.loads(self.layout.report(reception).read_text(encoding="utf-8"))
        return document

    def organisation_of(self, reception: Reception) -> str | None:
        """The reception's body: recorded in the journal, or (old journals) in its report."""
        if reception.organisation_recorded:
            return reception.organisation
        found = self.report(reception).get("organisme")
        return str(found) if found else None

    def ordered(self, sample: bool, *, withdrawn: bool = False) -> list[Reception]:
        """The campaign's receptions (sample or real), not withdrawn, in merge order;
        ``withdrawn``: withdrawn files too."""
        left_out = {} if withdrawn else self.withdrawals()
        found = [r for r in self.receptions() if r.sample == sample and r.sha256 not in left_out]
        return sorted(found, key=Reception.order_key)

    def rows_of(self, sha256: str) -> tuple[list[Row], tuple[Row, ...]]:
        """An accepted file's canonical rows (progress, targets), read once."""
        if sha256 not in self._rows:
            targets = self.layout.target_rows(sha256)
            self._rows[sha256] = (
                json.loads(self.layout.rows(sha256).read_text(encoding="utf-8")),
                tuple(json.loads(targets.read_text(encoding="utf-8"))) if targets.exists() else (),
            )
        return self._rows[sha256]

    def accepted(self, sample: bool, *, withdrawn: bool = False) -> Iterator[AcceptedSubmission]:
        """Accepted, attributed, not withdrawn receptions in merge order.

        A later reception's report of an action and date replaces an earlier one. A file
        received twice counts at each reception (its rows are the same). A reception without
        a body (journals of before attribution was required) is left out: no published row is
        without an author. ``withdrawn``: withdrawn files too, in the same order (what a file
        held, for the published table of files; never for rows)."""
        for reception in self.ordered(sample, withdrawn=withdrawn):
            if not reception.accepted:
                continue
            organisation = self.organisation_of(reception)
            if not organisation:
                continue
            rows, target_rows = self.rows_of(reception.sha256)
            yield AcceptedSubmission(reception, organisation, rows, target_rows)

    def http_validators(self) -> dict[str, dict[str, str]]:
        path = self.layout.http_validators
        found: dict[str, dict[str, str]] = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        )
        return found

    def save_http_validators(self, validators: dict[str, dict[str, str]]) -> None:
        write_atomically(
            self.layout.http_validators,
            (json.dumps(validators, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"),
        )
