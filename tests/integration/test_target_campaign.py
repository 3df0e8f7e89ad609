"""Targets reported in a campaign, as a steward runs it: `ogp` as a process on one output
and one state folder. MEAE fills the « Cibles » sheet of the template `ogp template` wrote
(ahead of one target, one milestone passed); the ministry in charge of the public service
sends CSV files (late on « 80 % des 250 démarches … d'ici fin 2022 ») and one file about
another body's target, which is rejected; then a withdrawal. After each run the published
``suivi_cibles`` and the dashboard's numbers equal what this test computes from the files
it wrote."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import PLAN_SLUG, PROGRESS_SLUG
from tests.integration.inbox import Sent, drop, latest_report, reception_times

pytestmark = pytest.mark.slow

OGP = Path(sys.executable).parent / "ogp"
AS_OF = "2023-11-14"  # SOURCE_DATE_EPOCH=1700000000: the publication's date
ENV = {
    **os.environ,
    "SOURCE_DATE_EPOCH": "1700000000",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "OGP_TASK_RETRIES": "0",
}
# What the plan says of the targets reported on (read by hand from the document).
TARGETS = {  # id_cible: (nature, valeur visée, valeur initiale, échéance)
    # « débats citoyens dans 18 régions », held when the plan was published (baseline 18)
    "E6-A1-01-C1": ("effectif", 18, 18, None),
    "E6-A1-01-C2": ("jalon", None, None, "2022-06-30"),  # « comité de suivi citoyen … lors de la PFUE »
    "E3-A1-01-C1": ("part", 80, None, "2022-12-31"),  # « 80% des 250 démarches … d'ici fin 2022 »
}


class Campaign:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.inbox, self.out, self.state = root / "boite", root / "site", root / "var"
        self.inbox.mkdir()
        self.sent: list[Sent] = []
        self.withdrawn: set[str] = set()
        self.runs = 0

    def ogp(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**ENV, "OGP_SUBMISSIONS_INBOX": str(self.inbox)}
        return subprocess.run([str(OGP), *args], capture_output=True, text=True, env=env, timeout=300)

    def run(self, status: int = 0) -> subprocess.CompletedProcess[str]:
        """``ogp run``; ``status`` 3 when a file of the run is rejected (published all the same)."""
        result = self.ogp("run", "--out", str(self.out), "--state-dir", str(self.state))
        self.runs += 1
        assert result.returncode == status, result.stdout + result.stderr
        return result

    def send(self, sent: Sent) -> None:
        drop(self.inbox, sent.relative, sent.content, sent.arrived)
        sent.collection = self.runs + 1
        self.sent.append(sent)

    def expected(self) -> dict[tuple[str, str], tuple[float, str, str, str]]:
        """(value, body, id_soumission, date_reception) per (target, date): accepted, not
        withdrawn files in reception order, the later one winning, with the time the journal
        says it was received."""
        received = reception_times(self.state, PROGRESS_SLUG)
        rows: dict[tuple[str, str], tuple[float, str, str, str]] = {}
        for sent in sorted(self.sent, key=lambda s: s.order):
            if sent.accepted and sent.sha256 not in self.withdrawn:
                for target, date, value in sent.rows:
                    rows[(target, date)] = (value, sent.body, sent.sha256, received[sent.sha256])
        return rows

    def published(self) -> dict[tuple[str, str], tuple[float, str, str, str]]:
        path = self.out / "datasets" / PROGRESS_SLUG / "latest" / "suivi_cibles.csv"
        with path.open(encoding="utf-8", newline="") as stream:
            return {
                (r["id_cible"], r["date_rapport"]): (
                    float(r["valeur_atteinte"]),
                    r["id_organisation"],
                    r["id_soumission"],
                    r["date_reception"],
                )
                for r in csv.DictReader(stream)
            }

    def dashboard(self) -> dict[str, tuple[str, str]]:
        """(state, share shown) of each row of the home page's targets table."""
        page = (self.out / "index.html").read_text(encoding="utf-8")
        table = page[page.index('<table id="table-cibles">') :]
        table = table[: table.index("</table>")]
        found = {}
        for target, state, cells in re.findall(
            r'<tr data-cible="([^"]+)" data-etat="([^"]+)">(.*?)</tr>', table, re.S
        ):
            numbers = re.findall(r'<td class="nombre">(.*?)</td>', cells, re.S)
            found[target] = (state, html.unescape(re.sub(r"<[^>]+>", "", numbers[2])).strip())
        return found

    def overdue(self) -> list[str]:
        page = (self.out / "index.html").read_text(encoding="utf-8")
        table = page[page.index('<table id="table-cibles-en-retard">') :]
        return re.findall(r'<tr data-cible="([^"]+)">', table[: table.index("</table>")])

    def expected_dashboard(self) -> dict[str, tuple[str, str]]:
        """The state and share the test computes for the targets it reported on."""
        latest: dict[str, float] = {}
        for (target, _), (value, *_rest) in sorted(self.expected().items()):
            latest[target] = value
        shown = {}
        for target, (nature, goal, start, deadline) in TARGETS.items():
            value = latest.get(target)
            if value is None:
                share = None
            elif nature == "jalon":
                share = 100 if value >= 1 else 0
            elif goal == (start or 0):  # no way to go: reached or not
                share = 100 if value >= goal else 0
            else:
                share = int((value - (start or 0)) / (goal - (start or 0)) * 100 + 0.5)
            late = deadline is not None and deadline < AS_OF
            state = (
                "atteinte"
                if share is not None and share >= 100
                else "echeance_depassee"
                if late
                else "en_cours"
                if value is not None
                else "sans_rapport"
            )
            shown[target] = (state, "—" if share is None else f"{share}\u00a0%")
        return shown

    def check(self) -> None:
        assert self.published() == self.expected()
        dashboard = self.dashboard()
        assert {t: dashboard[t] for t in TARGETS} == self.expected_dashboard()
        for target, (state, _) in self.expected_dashboard().items():
            assert (target in self.overdue()) == (state == "echeance_depassee")


def csv_of(rows: list[tuple[str, str, str, str]]) -> bytes:
    """What French Excel saves as « CSV UTF-8 »: a BOM, semicolons, dd/mm/yyyy, decimal commas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerows([["id_cible", "date_rapport", "valeur_atteinte", "commentaire"], *rows])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def test_two_bodies_report_target_values_over_several_runs(tmp_path: Path) -> None:
    c = Campaign(tmp_path)
    # 1. MEAE's template, written by `ogp template`, its « Cibles » sheet filled in a spreadsheet.
    template = tmp_path / "modele-meae.xlsx"
    made = c.ogp("template", "--org", "meae", "--out", str(template))
    assert made.returncode == 0 and "4 cible(s) dans l'onglet Cibles" in made.stdout, (
        made.stdout + made.stderr
    )
    book = load_workbook(template)
    sheet = book["Cibles"]
    row_of = {sheet.cell(r, 1).value: r for r in range(2, 6)}
    for target, value in (("E6-A1-01-C1", 20), ("E6-A1-01-C2", 1)):
        sheet.cell(row_of[target], 6, dt.datetime(2022, 6, 30))
        sheet.cell(row_of[target], 7, value)
    buffer = io.BytesIO()
    book.save(buffer)
    c.send(
        Sent(
            "meae/rapport-cibles.xlsx",
            buffer.getvalue(),
            "2022-07-05",
            "meae",
            [("E6-A1-01-C1", "2022-06-30", 20.0), ("E6-A1-01-C2", "2022-06-30", 1.0)],
            True,
        )
    )
    # 2. The ministry in charge of the public service: two CSV reports, the second later.
    c.send(
        Sent(
            "mtfp/cibles-2022-06.csv",
            csv_of([("E3-A1-01-C1", "30/06/2022", "45", "")]),
            "2022-07-10",
            "mtfp",
            [("E3-A1-01-C1", "2022-06-30", 45.0)],
            True,
        )
    )
    march = Sent(
        "mtfp/cibles-2023-03.csv",
        csv_of([("E3-A1-01-C1", "31/03/2023", "62,5", "Mesure de mars.")]),
        "2023-04-02",
        "mtfp",
        [("E3-A1-01-C1", "2023-03-31", 62.5)],
        True,
    )
    c.send(march)
    # 3. A value for MEAE's target sent by the ministry: the whole file is rejected.
    c.send(
        Sent(
            "mtfp/cibles-meae.csv",
            csv_of([("E6-A1-01-C1", "31/12/2022", "18", "")]),
            "2023-04-03",
            "mtfp",
            [("E6-A1-01-C1", "2022-12-31", 18.0)],
            False,
        )
    )
    first = c.run(status=3)
    assert "suivi_cibles 4" in first.stdout and "cibles-meae.csv : REJETÉ" in first.stderr, first.stdout
    c.check()
    # Ahead of its target (20 of 18 regions), a milestone passed; late on 80 % by the end of 2022.
    assert c.dashboard()["E6-A1-01-C1"] == ("atteinte", "100\u00a0%")
    assert c.dashboard()["E3-A1-01-C1"] == ("echeance_depassee", "78\u00a0%")
    report = latest_report(c.state, PROGRESS_SLUG, c.sent[-1].sha256)
    assert [(e["ligne"], e["colonne"], e["code"]) for e in report["erreurs"]] == [
        (2, "id_cible", "cible-hors-responsabilite")
    ]
    # 4. The March report is withdrawn: the next run publishes a correction without it.
    withdrawn = c.ogp(
        "withdraw",
        PROGRESS_SLUG,
        march.sha256[:12],
        "--reason",
        "Mesure erronée",
        "--state-dir",
        str(c.state),
    )
    assert withdrawn.returncode == 0, withdrawn.stdout + withdrawn.stderr
    c.withdrawn.add(march.sha256)
    c.run()
    c.check()
    assert c.dashboard()["E3-A1-01-C1"] == ("echeance_depassee", "56\u00a0%")  # 45 of 80
    log = json.loads((c.out / "datasets" / PROGRESS_SLUG / "versions.json").read_text(encoding="utf-8"))
    assert [v["version"] for v in log["versions"]] == ["1.0.0", "1.0.1"]
    assert log["versions"][-1]["tables"]["suivi_cibles"] == {"added": 0, "changed": 0, "removed": 1}
    # The targets table's foreign key holds: every published target is one of the plan's.
    plan_targets = {
        r["id_cible"]
        for r in json.loads(
            (c.out / "datasets" / PLAN_SLUG / "latest" / "cibles.json").read_text(encoding="utf-8")
        )
    }
    assert {target for target, _ in c.published()} <= plan_targets
