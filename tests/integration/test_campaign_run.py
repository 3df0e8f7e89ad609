"""A reporting campaign as a steward runs it: `ogp` as a process on one output and one state
folder, over several runs. Three bodies, a draft and a final report (the draft newer by name,
older by time), a file nobody can attribute, a hidden row, a resubmission, a withdrawal and
two rollbacks. After each step the published ``suivi`` equals the rows this test computes
from the files it wrote, every ``id_soumission`` names a file of the archive, and the
archive holds every file ever received."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.conftest import PLAN_SLUG, PROGRESS_SLUG
from tests.integration.inbox import Sent, drop

pytestmark = pytest.mark.slow

OGP = Path(sys.executable).parent / "ogp"
HEADER = ["id_action", "date_rapport", "statut", "avancement_pct", "commentaire", "preuve_url"]
ENV = {
    **os.environ,
    "SOURCE_DATE_EPOCH": "1700000000",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "OGP_TASK_RETRIES": "0",
}
ENV.pop("OGP_SUBMISSIONS_INBOX", None)
SAMPLE_LABEL = "DONNÉES D'EXEMPLE"


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([HEADER, *rows])  # as a spreadsheet exports
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list[str]], hidden_rows: tuple[int, ...] = ()) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(
            [
                dt.date.fromisoformat(c) if i == 1 else (int(c) if i == 3 and c else (c or None))
                for i, c in enumerate(row)
            ]
        )
    for number in hidden_rows:
        sheet.row_dimensions[number].hidden = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class Campaign:
    def __init__(self, root: Path) -> None:
        self.inbox = root / "boite"
        self.out = root / "site"
        self.state = root / "var"
        self.inbox.mkdir()
        self.sent: list[Sent] = []
        self.withdrawn: set[str] = set()
        self.runs = 0

    def send(self, sent: Sent) -> Sent:
        drop(self.inbox, sent.relative, sent.content, sent.arrived)
        sent.collection = self.runs + 1
        self.sent.append(sent)
        return sent

    def ogp(self, *args: str, real: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**ENV, **({"OGP_SUBMISSIONS_INBOX": str(self.inbox)} if real else {})}
        return subprocess.run([str(OGP), *args], capture_output=True, text=True, env=env, timeout=300)

    def run(self, real: bool = True) -> subprocess.CompletedProcess[str]:
        self.runs += 1
        return self.ogp("run", "--out", str(self.out), "--state-dir", str(self.state), real=real)

    def expected(self) -> dict[tuple[str, str], tuple[str, str, str, str]]:
        """(statut, commentaire, body, id_soumission) per (action, date): the accepted, not
        withdrawn files in arrival order, the later one winning."""
        rows: dict[tuple[str, str], tuple[str, str, str, str]] = {}
        for sent in sorted(self.sent, key=lambda s: s.order):
            if sent.accepted and sent.sha256 not in self.withdrawn:
                for row in sent.rows:
                    rows[(row[0], row[1])] = (row[2], row[4], sent.body, sent.sha256)
        return rows

    def published(self) -> dict[tuple[str, str], tuple[str, str, str, str]]:
        path = self.out / "datasets" / PROGRESS_SLUG / "latest" / "suivi.csv"
        with path.open(encoding="utf-8", newline="") as stream:
            return {
                (r["id_action"], r["date_rapport"]): (
                    r["statut"],
                    r["commentaire"],
                    r["id_organisation"],
                    r["id_soumission"],
                )
                for r in csv.DictReader(stream)
            }

    def log(self) -> dict:
        return json.loads(
            (self.out / "datasets" / PROGRESS_SLUG / "versions.json").read_text(encoding="utf-8")
        )

    def check(self) -> None:
        """The published rows are the expected ones, traced to archived files; nothing lost."""
        assert self.published() == self.expected()
        archived = {p.name for p in (self.state / PROGRESS_SLUG / "soumissions").iterdir()}
        assert {row[3] for row in self.published().values()} <= archived
        for sent in self.sent:
            (original,) = (self.state / PROGRESS_SLUG / "soumissions" / sent.sha256).glob("original.*")
            assert original.read_bytes() == sent.content, sent.relative

    def page(self) -> str:
        return (self.out / "datasets" / PROGRESS_SLUG / "index.html").read_text(encoding="utf-8")


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if not p.is_symlink() else os.readlink(p).encode())
        for p in sorted(root.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def test_a_campaign_over_several_runs(tmp_path: Path) -> None:
    c = Campaign(tmp_path)
    # 0. The first `make run`: bundled samples, labelled as such.
    first = c.run(real=False)
    assert first.returncode == 0, first.stderr
    assert c.log()["versions"][0]["exemple"] is True and SAMPLE_LABEL in c.page()

    # 1. The real campaign: ditp's final report and an older draft named after it, dinum on
    #    a shared action (later than ditp: dinum's row wins), a file at the inbox root, a
    #    meae workbook with a hidden row.
    final = c.send(
        Sent(
            "ditp/rapport-final.csv",
            csv_bytes(
                [
                    ["E1-A1-01", "2023-06-30", "substantiel", "80", "Final ditp", ""],
                    ["E1-A1-02", "2023-06-30", "limite", "30", "Part de la ditp", ""],
                ]
            ),
            "2023-07-03",
            "ditp",
            [
                ["E1-A1-01", "2023-06-30", "substantiel", "80", "Final ditp", ""],
                ["E1-A1-02", "2023-06-30", "limite", "30", "Part de la ditp", ""],
            ],
            True,
        )
    )
    draft_rows = [["E1-A1-01", "2023-06-30", "limite", "40", "Brouillon ditp", ""]]
    c.send(
        Sent(
            "ditp/rapport-version-de-travail.csv",
            csv_bytes(draft_rows),
            "2023-06-20",
            "ditp",
            draft_rows,
            True,
        )
    )
    dinum_rows = [
        ["E1-A1-02", "2023-06-30", "substantiel", "60", "Part de la dinum", ""],
        ["E2-A1-04", "2023-06-30", "limite", "10", "Démarrage", ""],
    ]
    dinum = c.send(Sent("dinum/suivi.csv", csv_bytes(dinum_rows), "2023-07-05", "dinum", dinum_rows, True))
    c.send(
        Sent(
            "sans-organisme.csv",
            csv_bytes([["E6-A1-01", "2023-06-30", "limite", "5", "Qui ?", ""]]),
            "2023-07-06",
            "",
            [],
            False,
        )
    )
    meae_rows = [
        ["E6-A1-01", "2023-06-30", "limite", "20", "Rapport meae", ""],
        ["E6-A2-01", "2023-06-30", "limite", "15", "ancien brouillon", ""],
    ]
    c.send(
        Sent(
            "meae/rapport.xlsx",
            xlsx_bytes(meae_rows, hidden_rows=(3,)),
            "2023-07-04",
            "meae",
            meae_rows,
            False,
        )
    )
    result = c.run()
    assert result.returncode == 3, result.stderr  # published, with rejected files
    assert "sans-organisme.csv" in result.stderr and "rapport.xlsx" in result.stderr
    c.check()
    assert c.published()[("E1-A1-01", "2023-06-30")][1] == "Final ditp"
    assert c.published()[("E1-A1-02", "2023-06-30")][2] == "dinum"
    latest = c.log()["versions"][-1]
    assert (latest["version"], latest["exemple"]) == ("1.1.0", False)
    assert not any("documentation du schéma" in r for r in latest["reasons"])
    assert SAMPLE_LABEL not in c.page()

    # 2. A run that lost its environment: refused before anything is written.
    site_before, journal = tree(c.out), (c.state / PROGRESS_SLUG / "journal.jsonl").read_bytes()
    refused = c.run(real=False)
    assert refused.returncode == 2 and "OGP_SUBMISSIONS_INBOX" in refused.stderr
    assert "Traceback" not in refused.stderr
    # The French error alone: no line of Prefect's (« ERROR | Flow run … ») before it.
    assert refused.stderr.startswith("Erreur : ") and "Flow run" not in refused.stderr
    assert tree(c.out) == site_before
    assert (c.state / PROGRESS_SLUG / "journal.jsonl").read_bytes() == journal

    # 3. meae sends its workbook again with the hidden row deleted.
    corrected = meae_rows[:1]
    c.send(Sent("meae/rapport-corrige.xlsx", xlsx_bytes(corrected), "2023-07-10", "meae", corrected, True))
    result = c.run()
    assert result.returncode == 0, result.stderr
    c.check()
    assert c.log()["versions"][-1]["version"] == "1.2.0"
    assert c.log()["versions"][-1]["reasons"] == [  # the row, its file, the action's latest report
        "soumissions: 1 ligne(s) ajoutée(s)",
        "suivi: 1 ligne(s) ajoutée(s)",
        "vue_actions: 1 ligne(s) modifiée(s)",
    ]
    diff = c.ogp("diff", PROGRESS_SLUG, "1.1.0", "1.2.0", "--out", str(c.out))
    assert "  motif : suivi: 1 ligne(s) ajoutée(s)" in diff.stdout.splitlines()

    # 4. dinum's file was sent by mistake: withdrawn; the next run brings ditp's row back.
    withdrawn = c.ogp(
        "withdraw",
        PROGRESS_SLUG,
        dinum.sha256[:8],
        "--reason",
        "fichier d'essai",
        "--state-dir",
        str(c.state),
    )
    assert withdrawn.returncode == 0, withdrawn.stderr
    c.withdrawn.add(dinum.sha256)
    result = c.run()
    assert result.returncode == 0, result.stderr
    c.check()
    assert c.published()[("E1-A1-02", "2023-06-30")][2:] == ("ditp", final.sha256)
    entry = c.log()["versions"][-1]
    assert entry["version"] == "1.2.1" and entry["level"] == "patch"
    assert (
        f"soumission retirée : suivi.csv ({dinum.sha256[:12]}), motif : fichier d'essai" in entry["reasons"]
    )
    assert "fichier d'essai" in (c.out / "datasets" / PROGRESS_SLUG / "CHANGELOG.md").read_text(
        encoding="utf-8"
    )
    again = c.ogp("withdraw", PROGRESS_SLUG, dinum.sha256, "--reason", "encore", "--state-dir", str(c.state))
    assert again.returncode == 2 and "déjà été retirée" in again.stderr

    # 5. A rollback to a real version, from a shell without the inbox variable: the pages
    #    and the catalogue describe the served version, and name the rollback.
    back = c.ogp(
        "rollback", PROGRESS_SLUG, "1.2.0", "--out", str(c.out), "--reason", "retrait contesté", real=False
    )
    assert back.returncode == 0, back.stderr
    page = c.page()
    assert SAMPLE_LABEL not in page and "Retour arrière" in page and "retrait contesté" in page
    catalog = (c.out / "catalog.ttl").read_text(encoding="utf-8")
    assert "[Données d'exemple]" not in catalog
    # 6. And to the sample version: labelled again, wherever it is shown.
    c.ogp("rollback", PROGRESS_SLUG, "1.0.0", "--out", str(c.out), "--reason", "démonstration", real=False)
    assert SAMPLE_LABEL in c.page() and "[Données d'exemple]" in (c.out / "catalog.ttl").read_text(
        encoding="utf-8"
    )
    plan_page = (c.out / "datasets" / PLAN_SLUG / "index.html").read_text(encoding="utf-8")
    assert SAMPLE_LABEL not in plan_page
