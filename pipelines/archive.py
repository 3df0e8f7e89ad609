"""State: every received submission kept byte for byte, with its report and where it came from.

Layout under ``<state_dir>/<dataset slug>/`` (never under the published output)::

    journal.jsonl                     one line per reception, in order: the merge order
    soumissions/<sha256>/original.<ext>   the bytes as received
    soumissions/<sha256>/rapport.{json,md,html}   the validation report
    soumissions/<sha256>/lignes.json  canonical rows (accepted submissions only)
    http.json                         ETag / Last-Modified of each polled URL

A submission is named by its content hash, so receiving the same bytes twice stores them
once (both receptions are in the journal). Files are written to a temporary name then
renamed, and the report is written last: a crash leaves a submission to re-validate,
never a half-written one. Rejected submissions stay here (quarantine): nothing of them
is published.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from pipelines.validate.report import SubmissionReport, render_html, render_json, render_markdown
from pipelines.validate.submission import Received
from publish.atomic import copy_atomically, write_atomically

JOURNAL = "journal.jsonl"
SUBMISSIONS = "soumissions"
HTTP_STATE = "http.json"
REPORT = "rapport.json"
ROWS = "lignes.json"


def _suffix(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"


@dataclass(frozen=True)
class AcceptedSubmission:
    sha256: str
    organisation: str | None
    rows: list[dict[str, str]]


class SubmissionArchive:
    """One dataset's archive. The journal is read once per instance and kept up to date
    by ``save``: a collection holds the state lock, so nobody else appends meanwhile."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._journal: list[dict[str, Any]] | None = None

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

    def is_known(self, origin: str, sha256: str) -> bool:
        """This exact file was already received from this origin and has its report."""
        return (self.folder(sha256) / REPORT).exists() and any(
            e["origine"] == origin and e["sha256"] == sha256 for e in self.journal())

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

    def save(self, received: Received, report: SubmissionReport, rows: list[dict[str, str]],
             sample: bool) -> None:
        """Report and rows of a validated submission, then its line in the journal."""
        folder = self.folder(received.sha256)
        if report.accepted:
            write_atomically(folder / ROWS, (json.dumps(rows, ensure_ascii=False, indent=1)
                                                  + "\n").encode("utf-8"))
        write_atomically(folder / "rapport.md", render_markdown(report).encode("utf-8"))
        write_atomically(folder / "rapport.html", render_html(report).encode("utf-8"))
        write_atomically(folder / REPORT, render_json(report).encode("utf-8"))
        entry = {
            "n": len(self.journal()) + 1,
            "sha256": received.sha256,
            "fichier": received.name,
            "origine": received.origin,
            "recu_le": received.received_at,
            "exemple": sample,
            "verdict": "accepte" if report.accepted else "rejete",
        }
        path = self.root / JOURNAL
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.journal().append(entry)

    def accepted(self, sample: bool) -> Iterator[AcceptedSubmission]:
        """Accepted submissions in the order they were first received (the merge order)."""
        seen: set[str] = set()
        for entry in self.journal():
            sha = entry["sha256"]
            if sha in seen or entry.get("exemple", False) != sample or entry["verdict"] != "accepte":
                continue
            seen.add(sha)
            folder = self.folder(sha)
            report = json.loads((folder / REPORT).read_text(encoding="utf-8"))
            rows = json.loads((folder / ROWS).read_text(encoding="utf-8"))
            yield AcceptedSubmission(sha, report.get("organisme"), rows)

    def http_validators(self) -> dict[str, dict[str, str]]:
        path = self.root / HTTP_STATE
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def save_http_validators(self, validators: dict[str, dict[str, str]]) -> None:
        write_atomically(self.root / HTTP_STATE, (json.dumps(
            validators, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"))
