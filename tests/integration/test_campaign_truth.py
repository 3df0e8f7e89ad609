"""A campaign that tells the truth, run as a steward runs it: `ogp` as a process on one
state folder and one output, files made as a spreadsheet makes them, modification times
set as an inbox gets them. The first run records the campaign (the real inbox); every
later command reads it without the variable. Checked at each step: what is published,
and what the steward is told (the run's output, `ogp status`, `etat-collecte`, the
reminders CSV, the public per-body page)."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROGRESS_SLUG
from tests.integration.inbox import drop, reception_times

pytestmark = pytest.mark.slow

OGP = Path(sys.executable).parent / "ogp"
HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("OGP_")},
    "SOURCE_DATE_EPOCH": "1700000000",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "OGP_TASK_RETRIES": "0",
}


class Steward:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.inbox, self.out, self.state = root / "boite", root / "site", root / "var"
        self.inbox.mkdir()

    def ogp(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(OGP), *args], capture_output=True, text=True, env={**ENV, **env}, timeout=300
        )

    def run(self, status: int, **env: str) -> subprocess.CompletedProcess[str]:
        result = self.ogp("run", "--out", str(self.out), "--state-dir", str(self.state), **env)
        assert result.returncode == status, result.stdout + result.stderr
        return result

    def status(self) -> dict:
        result = self.ogp("status", PROGRESS_SLUG, "--json", "--state-dir", str(self.state))
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout)

    def body(self, identifier: str) -> dict:
        return next(b for b in self.status()["organismes"] if b["id_organisation"] == identifier)

    def published(self) -> dict[tuple[str, str], dict[str, str]]:
        path = self.out / "datasets" / PROGRESS_SLUG / "latest" / "suivi.csv"
        with path.open(encoding="utf-8", newline="") as stream:
            return {(r["id_action"], r["date_rapport"]): r for r in csv.DictReader(stream)}

    def journal(self) -> list[dict]:
        path = self.state / PROGRESS_SLUG / "journal.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def versions(self) -> dict:
        return json.loads(
            (self.out / "datasets" / PROGRESS_SLUG / "versions.json").read_text(encoding="utf-8")
        )


def sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_campaign_of_four_runs_tells_the_steward_the_truth(tmp_path: Path) -> None:
    s = Steward(tmp_path)
    outside = tmp_path / "ailleurs"
    (outside / "dossier").mkdir(parents=True)
    (outside / "secret.csv").write_text(HEADER + "E1-A1-04,2023-06-30,complet,100,Secret,https://x.fr/\n")
    (outside / "dossier" / "autre.csv").write_text(HEADER + "E2-A1-04,2023-06-30,limite,5,Secret,\n")

    # Run 1, with the real inbox named once: ditp reports on two actions, one shared with
    # dinum and mtfp; links point out of the inbox and, once, inside it.
    first = drop(
        s.inbox,
        "ditp/rapport.csv",
        (HEADER + "E1-A1-01,2023-06-30,limite,20,,\nE1-A1-02,2023-06-30,limite,30,,\n").encode(),
        "2023-07-01",
    )
    (s.inbox / "ditp" / "lien.csv").symlink_to(outside / "secret.csv")
    (s.inbox / "dinum").mkdir()
    (s.inbox / "dinum" / "lien-dossier").symlink_to(outside / "dossier", target_is_directory=True)
    (s.inbox / "ditp" / "raccourci.csv").symlink_to(first)
    run = s.run(3, OGP_SUBMISSIONS_INBOX=str(s.inbox))  # 3: two links refused
    assert "lien-hors-boite" not in run.stdout  # codes stay in reports; people read sentences
    assert "lien symbolique" in run.stderr
    refused = [e for e in s.journal() if e.get("evenement") == "refus"]
    assert sorted(e["origine"] for e in refused) == ["depot:dinum/lien-dossier", "depot:ditp/lien.csv"]
    receptions = [e for e in s.journal() if e.get("evenement", "reception") == "reception"]
    assert [e["origine"] for e in receptions] == ["depot:ditp/rapport.csv"]  # the inside link: once
    archived = {p.name for p in (s.state / PROGRESS_SLUG / "soumissions").iterdir()}
    assert archived == {sha(first)}  # nothing of the links' targets read
    assert {r["id_soumission"] for r in s.published().values()} == {sha(first)}
    assert json.loads((s.state / PROGRESS_SLUG / "campagne.json").read_text())["boite_de_depot"] == str(
        s.inbox.resolve()
    )

    # Without the variable, every command reads the recorded campaign: never the samples.
    ditp = s.body("ditp")
    assert ditp["dernier_rapport"] is not None and "E1-A1-01" not in ditp["sans_rapport"]
    assert sorted(r["origine"] for r in s.status()["refus"]) == [
        "depot:dinum/lien-dossier",
        "depot:ditp/lien.csv",
    ]
    # ogp validate compares with the campaign's archive (20 in June), not the samples' 70.
    (tmp_path / "ditp").mkdir()
    codes = {}
    for value in (10, 40):
        candidate = tmp_path / "ditp" / f"nouveau-{value}.csv"
        candidate.write_text(HEADER + f"E1-A1-01,2023-09-30,limite,{value},,\n", encoding="utf-8")
        checked = s.ogp(
            "validate", str(candidate), "--state-dir", str(s.state), "--report-dir", str(tmp_path / "r")
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        report = json.loads((tmp_path / "r" / f"{candidate.name}.rapport.json").read_text(encoding="utf-8"))
        codes[value] = [w["code"] for w in report["avertissements"]]
    assert codes == {10: ["recul-sans-commentaire"], 40: []}
    # A variable that contradicts the record: refused, nothing written.
    before = sorted(p for p in s.out.rglob("*"))
    other = tmp_path / "autre-boite"
    other.mkdir()
    contradicted = s.ogp(
        "run", "--out", str(s.out), "--state-dir", str(s.state), OGP_SUBMISSIONS_INBOX=str(other)
    )
    assert contradicted.returncode == 2, contradicted.stdout + contradicted.stderr
    assert str(other) in contradicted.stderr and str(s.inbox.resolve()) in contradicted.stderr
    assert "Traceback" not in contradicted.stderr
    assert sorted(p for p in s.out.rglob("*")) == before

    # Run 2: a correction copied with its old date (older than the first file) replaces
    # both rows of the first file; a file at the inbox root cannot be attributed.
    correction = drop(
        s.inbox,
        "ditp/correction.csv",
        (
            HEADER + "E1-A1-01,2023-06-30,substantiel,60,Corrigé,\nE1-A1-02,2023-06-30,limite,35,Corrigé,\n"
        ).encode(),
        "2023-06-01",
    )
    root_file = drop(
        s.inbox, "mtfp-rapport.csv", (HEADER + "E3-A1-01,2023-06-30,limite,15,,\n").encode(), "2023-07-02"
    )
    run = s.run(3)
    rows = s.published()
    times = reception_times(s.state, PROGRESS_SLUG)
    assert rows[("E1-A1-01", "2023-06-30")]["id_soumission"] == sha(correction)
    assert rows[("E1-A1-01", "2023-06-30")]["date_reception"] == times[sha(correction)]
    assert times[sha(correction)] > times[sha(first)]  # received later, whatever its date
    assert "rapport.csv" in run.stderr + run.stdout and "correction.csv" in run.stderr + run.stdout
    superseded = s.body("ditp")["sans_effet"]
    assert [(n["fichier"], n["accepte"]) for n in superseded] == [("rapport.csv", True)]
    assert "correction.csv" in superseded[0]["effet"]
    page = html.unescape((s.state / PROGRESS_SLUG / "etat-collecte.html").read_text(encoding="utf-8"))
    assert "rapport.csv" in page and "correction.csv" in page and "rien n'en est publié" in page
    assert [n["origine"] for n in s.status()["non_attribues"]] == ["depot:mtfp-rapport.csv"]

    # Run 3: the root file moved into mtfp's folder: accepted, and both receptions keep their report.
    (s.inbox / "mtfp").mkdir()
    (s.inbox / "mtfp-rapport.csv").rename(s.inbox / "mtfp" / "rapport.csv")
    s.run(0)
    both = [e for e in s.journal() if e.get("sha256") == sha(s.inbox / "mtfp" / "rapport.csv")]
    assert [(e["origine"], e["verdict"]) for e in both] == [
        ("depot:mtfp-rapport.csv", "rejete"),
        ("depot:mtfp/rapport.csv", "accepte"),
    ]
    reports = [s.state / PROGRESS_SLUG / e["rapport"] / "rapport.json" for e in both]
    assert [json.loads(p.read_text())["verdict"] for p in reports] == ["rejete", "accepte"]
    assert s.status()["non_attribues"] == []
    mtfp_files = s.body("mtfp")["fichiers"]
    assert [(n["fichier"], n["accepte"], n["porte"]) for n in mtfp_files] == [
        ("rapport.csv", True, "boîte de dépôt")
    ]
    del root_file

    # A shared action reported by one body: counted the same by the status, the reminders
    # CSV and the public per-body page.
    dinum = s.body("dinum")
    assert "E1-A1-02" not in dinum["sans_rapport"]
    reminders = tmp_path / "relances.csv"
    written = s.ogp("status", PROGRESS_SLUG, "--reminders", str(reminders), "--state-dir", str(s.state))
    assert written.returncode == 0, written.stdout + written.stderr
    chased = {
        r[0]: r for r in csv.reader(io.StringIO(reminders.read_text(encoding="utf-8-sig")), delimiter=";")
    }
    assert chased["dinum"][2].split(", ") == dinum["sans_rapport"]
    organismes = (s.out / "organismes.html").read_text(encoding="utf-8")
    shown = re.search(
        r'href="#organisme-dinum">[^<]*</a> : (\d+) action\(s\), (\d+) sans rapport', organismes
    )
    assert shown is not None and int(shown.group(2)) == len(dinum["sans_rapport"])

    # Run 4: the correction is withdrawn: a PATCH version without its rows.
    with_correction = s.versions()["latest"]
    withdrawn = s.ogp(
        "withdraw",
        PROGRESS_SLUG,
        sha(correction)[:10],
        "--reason",
        "envoyée par erreur",
        "--state-dir",
        str(s.state),
    )
    assert withdrawn.returncode == 0, withdrawn.stdout + withdrawn.stderr
    s.run(0)
    without = s.versions()["latest"]
    assert without != with_correction
    assert sha(correction) not in {r["id_soumission"] for r in s.published().values()}
    # A rollback to the version holding the withdrawn rows is refused, naming the file and
    # the latest version without it; forced, it is served, and the next run says how to
    # serve the corrected version again.
    refused_rollback = s.ogp(
        "rollback", PROGRESS_SLUG, with_correction, "--out", str(s.out), "--state-dir", str(s.state)
    )
    assert refused_rollback.returncode == 2, refused_rollback.stdout + refused_rollback.stderr
    assert (
        "correction.csv" in refused_rollback.stderr
        and f"ogp rollback {PROGRESS_SLUG} {without}" in refused_rollback.stderr
    )
    assert s.versions()["latest"] == without
    forced = s.ogp(
        "rollback",
        PROGRESS_SLUG,
        with_correction,
        "--include-withdrawn",
        "--out",
        str(s.out),
        "--state-dir",
        str(s.state),
    )
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert s.versions()["latest"] == with_correction
    again = s.run(0)
    assert f"ogp rollback {PROGRESS_SLUG} {without}" in again.stdout + again.stderr
