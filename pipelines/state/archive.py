"""State: every received submission kept byte for byte, with its report and where it came from.

Layout under ``<state_dir>/<dataset slug>/`` (never under the published output)::

    journal.jsonl                     one line per event, appended: a reception (its arrival
                                      time gives the merge order) or a withdrawal
    soumissions/<sha256>/original.<ext>   the bytes as received
    soumissions/<sha256>/rapport.{json,md,html}   the validation report
    soumissions/<sha256>/lignes.json  canonical rows (accepted submissions only)
    soumissions/<sha256>/cibles.json  canonical rows of values reached of targets (accepted
                                      submissions that have some; absent: none)
    http.json                         ETag / Last-Modified of each polled URL

A submission is named by its content hash, so receiving the same bytes twice stores them
once (both receptions are in the journal). Files are written to a temporary name then
renamed, and the report is written last: a crash leaves a submission to re-validate,
never a half-written one. Rejected submissions stay here (quarantine): nothing of them
is published. A withdrawal is a line of the journal (``evenement: retrait``): nothing is
ever deleted, the withdrawn file's rows are left out of what is published.

Arrival order, not the order of the journal, decides which report of an action and date
wins: a draft received after the final report but older by its modification time in the
inbox does not replace it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from pipelines.core.errors import ConfigError
from pipelines.io.atomic import copy_atomically, write_atomically
from pipelines.state.received import Received

JOURNAL = "journal.jsonl"
SUBMISSIONS = "soumissions"
HTTP_STATE = "http.json"
REPORT = "rapport.json"
ROWS = "lignes.json"
TARGET_ROWS = "cibles.json"


def _suffix(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"


WITHDRAWAL = "retrait"


def arrival(entry: dict[str, Any]) -> str:
    """When a reception's file arrived (UTC, ISO 8601): its modification time in the inbox,
    the fetch time over HTTP; journals written before arrival was recorded: reception time."""
    return str(entry.get("arrivee") or entry["recu_le"])


@dataclass(frozen=True)
class AcceptedSubmission:
    """One accepted reception: the rows of the file and who sent it, when."""

    sha256: str
    organisation: str | None
    rows: list[dict[str, str]]
    file_name: str = ""
    origin: str = ""
    arrived_at: str = ""
    target_rows: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Withdrawal:
    sha256: str
    file_name: str
    reason: str
    date: str


class SubmissionArchive:
    """One dataset's archive. The journal is read once per instance and kept up to date
    by ``save``: a collection holds the state lock, so nobody else appends meanwhile."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._journal: list[dict[str, Any]] | None = None
        # An accepted file's rows (progress, targets), read once: a file is named by its hash.
        self._rows: dict[str, tuple[list[dict[str, str]], tuple[dict[str, str], ...]]] = {}

    def folder(self, sha256: str) -> Path:
        return self.root / SUBMISSIONS / sha256

    def journal(self) -> list[dict[str, Any]]:
        if self._journal is None:
            path = self.root / JOURNAL
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            # A line cut by a crash mid-append is the only possible damage: skip it.
            self._journal = []
            for line in lines:
                try:
                    self._journal.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return self._journal

    def receptions(self) -> list[dict[str, Any]]:
        """The journal's receptions, in the order they were written."""
        return [e for e in self.journal() if e.get("evenement", "reception") != WITHDRAWAL]

    def withdrawals(self) -> dict[str, Withdrawal]:
        """Withdrawn submissions by sha256."""
        return {
            e["sha256"]: Withdrawal(e["sha256"], e.get("fichier", ""), e.get("motif", ""), e["date"])
            for e in self.journal()
            if e.get("evenement") == WITHDRAWAL
        }

    def is_known(self, origin: str, sha256: str) -> bool:
        """This exact file was already received from this origin and has its report."""
        return (self.folder(sha256) / REPORT).exists() and any(
            e["origine"] == origin and e["sha256"] == sha256 for e in self.receptions()
        )

    def has_real_submissions(self) -> bool:
        """A real (not sample) file was ever received here, whatever its verdict."""
        return any(not e.get("exemple", False) for e in self.receptions())

    def find(self, prefix: str) -> str:
        """The sha256 of the received file that ``prefix`` names (the whole sha256 or a
        unique prefix of it); a clear error when none or several do."""
        wanted = prefix.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{4,64}", wanted):
            raise ConfigError(
                f"« {prefix} » n'est pas un identifiant de soumission.",
                hint="Donnez l'empreinte sha256 du fichier archivé (ou ses premiers caractères, "
                "au moins 4), telle que la donne le rapport ou le journal des réceptions.",
            )
        found = sorted({str(e["sha256"]) for e in self.receptions() if str(e["sha256"]).startswith(wanted)})
        if not found:
            raise ConfigError(
                f"Aucune soumission reçue dans {self.root} n'a une empreinte commençant par « {prefix} ».",
                hint="Vérifiez l'identifiant et le dossier d'état (--state-dir).",
            )
        if len(found) > 1:
            raise ConfigError(
                f"« {prefix} » désigne {len(found)} soumissions : " + ", ".join(f[:16] for f in found) + ".",
                hint="Donnez davantage de caractères de l'empreinte.",
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
            )
        name = next(e["fichier"] for e in self.receptions() if e["sha256"] == sha256)
        entry = {
            "n": len(self.journal()) + 1,
            "evenement": WITHDRAWAL,
            "sha256": sha256,
            "fichier": name,
            "motif": reason.strip(),
            "date": date,
        }
        self._append(entry)
        return Withdrawal(sha256, name, reason.strip(), date)

    def _append(self, entry: dict[str, Any]) -> None:
        path = self.root / JOURNAL
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.journal().append(entry)

    def store(self, received: Received) -> Path:
        """Keeps the bytes (once per content) and returns where they are."""
        path = self.folder(received.sha256) / f"original{_suffix(received.name)}"
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
        rows: list[dict[str, str]],
        *,
        accepted: bool,
        organisation: str | None,
        sample: bool,
        target_rows: list[dict[str, str]] | None = None,
    ) -> None:
        """Report and rows of a validated submission, then its line in the journal.

        ``reports`` are the rendered report files by suffix (``json``, ``md``, ``html``): the
        archive keeps them and does not know how they are made. ``rapport.json`` is written
        last, so that a crash leaves a submission to validate again."""
        folder = self.folder(received.sha256)
        if accepted:
            write_atomically(
                folder / ROWS, (json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
            )
            if target_rows:
                write_atomically(
                    folder / TARGET_ROWS,
                    (json.dumps(target_rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8"),
                )
        for suffix in sorted(reports, key=lambda s: s == "json"):
            write_atomically(folder / f"rapport.{suffix}", reports[suffix])
        entry = {
            "n": len(self.journal()) + 1,
            "sha256": received.sha256,
            "fichier": received.name,
            "origine": received.origin,
            "recu_le": received.received_at,
            "arrivee": received.arrived_at or received.received_at,
            "organisme": organisation,
            "exemple": sample,
            "verdict": "accepte" if accepted else "rejete",
        }
        self._append(entry)

    def accepted(self, sample: bool) -> Iterator[AcceptedSubmission]:
        """Accepted, attributed, not withdrawn receptions in arrival order (ties: origin).

        The merge order: a later arrival's report of an action and date replaces an earlier
        one. A file received twice counts at each arrival (its rows are the same). A
        reception without a body (journals of before attribution was required) is left out:
        no published row is without an author."""
        withdrawn = self.withdrawals()
        entries = [
            e
            for e in self.receptions()
            if e.get("exemple", False) == sample
            and e["verdict"] == "accepte"
            and e["sha256"] not in withdrawn
        ]
        entries.sort(key=lambda e: (arrival(e), e["origine"], e["n"]))
        for entry in entries:
            sha = entry["sha256"]
            folder = self.folder(sha)
            organisation = (
                entry.get("organisme")
                if "organisme" in entry
                else json.loads((folder / REPORT).read_text(encoding="utf-8")).get("organisme")
            )
            if not organisation:
                continue
            if sha not in self._rows:
                targets = folder / TARGET_ROWS
                self._rows[sha] = (
                    json.loads((folder / ROWS).read_text(encoding="utf-8")),
                    tuple(json.loads(targets.read_text(encoding="utf-8"))) if targets.exists() else (),
                )
            rows, target_rows = self._rows[sha]
            yield AcceptedSubmission(
                sha, organisation, rows, entry["fichier"], entry["origine"], arrival(entry), target_rows
            )

    def http_validators(self) -> dict[str, dict[str, str]]:
        path = self.root / HTTP_STATE
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def save_http_validators(self, validators: dict[str, dict[str, str]]) -> None:
        write_atomically(
            self.root / HTTP_STATE,
            (json.dumps(validators, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"),
        )
