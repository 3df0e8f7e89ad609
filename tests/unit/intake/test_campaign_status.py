"""The steward's view of a campaign: who reported, who never did, whose file was rejected
and not replaced, a shared action; in the JSON form, the people's table and the mail-merge
CSV, from a real inbox collected as `ogp run` collects it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.core.config import DatasetConfig
from pipelines.intake.status import CampaignStatus, campaign_status, reminders_csv
from pipelines.state.campaign import resolve_campaign
from tests.conftest import PROGRESS_SLUG, ROOT
from tests.helpers.campaign import HEADER, Pipeline, drop


@pytest.fixture
def campaign(tmp_path: Path, progress_config: DatasetConfig) -> Pipeline:
    pipeline = Pipeline(tmp_path, progress_config)
    # ditp reports on two of its actions, among them E1-A1-02, shared with dinum and mtfp.
    drop(
        pipeline,
        "ditp/rapport.csv",
        HEADER + "E1-A1-01,2023-06-30,limite,20,,\nE1-A1-02,2023-06-30,limite,30,,\n",
        "2023-07-01",
    )
    # dinum's first file is rejected, then replaced by an accepted one, later on the shared action.
    drop(pipeline, "dinum/faux.csv", HEADER + "E1-A1-02,2023-06-30,fini,50,,\n", "2023-07-02")
    drop(pipeline, "dinum/corrige.csv", HEADER + "E1-A1-02,2023-09-30,substantiel,60,,\n", "2023-10-02")
    # meae's only file is rejected and never resubmitted.
    drop(pipeline, "meae/rapport.csv", HEADER + "E6-A1-01,2023-06-30,complet,100,,\n", "2023-07-03")
    # mtfp reports a value for one of its two targets, in a CSV of the targets format.
    drop(
        pipeline,
        "mtfp/cibles.csv",
        "id_cible;date_rapport;valeur_atteinte;commentaire;preuve_url\nE3-A1-01-C1;30/06/2023;45;;\n",
        "2023-07-05",
    )
    # A file nobody can attribute.
    drop(pipeline, "orphelin.csv", HEADER + "E6-A1-01,2023-06-30,limite,10,,\n", "2023-07-04")
    pipeline.clock.day = "2023-10-05"
    pipeline.collect()
    return pipeline


def status_of(pipeline: Pipeline) -> CampaignStatus:
    return campaign_status(resolve_campaign(pipeline.config, pipeline.settings))


def test_the_status_says_who_reported_who_never_did_and_what_is_pending(campaign: Pipeline, plan) -> None:  # noqa: ANN001
    status = status_of(campaign)
    bodies = {b.id_organisation: b for b in status.organismes}
    ditp, dinum, meae, mss = bodies["ditp"], bodies["dinum"], bodies["meae"], bodies["mss"]
    assert sorted(set(plan.actions_of("ditp")) - {"E1-A1-01", "E1-A1-02"}) == ditp.sans_rapport
    shared = next(a for a in ditp.actions if a.id_action == "E1-A1-02")
    assert shared.coresponsables == ["dinum", "mtfp"]
    assert shared.dernier_rapport is not None and shared.dernier_rapport.date_rapport == "2023-06-30"
    assert shared.dernier_rapport_autre == {
        "organisme": "dinum",
        "date_rapport": "2023-09-30",
    }  # dinum is ahead
    assert dinum.rejets_en_attente == []  # its rejected file was followed by an accepted one
    (pending,) = meae.rejets_en_attente
    assert pending.fichier == "rapport.csv" and pending.premiers_messages[0]["code"] == "statut-sans-preuve"
    assert Path(pending.rapport).is_file() and Path(pending.rapport).is_absolute()
    assert meae.sans_rapport == sorted(plan.actions_of("meae")) and meae.dernier_rapport is None
    assert mss.sans_rapport == sorted(plan.actions_of("mss")) and mss.rejets_en_attente == []
    # Targets: meae's file was rejected, so none of its four has a value; mtfp gave one of two.
    assert meae.cibles_sans_valeur == ["E6-A1-01-C1", "E6-A1-01-C2", "E6-A1-01-C3", "E6-A2-01-C1"]
    mtfp = bodies["mtfp"]
    assert [(t.id_cible, t.echeance) for t in mtfp.cibles] == [
        ("E3-A1-01-C1", "2022-12-31"),
        ("E3-A2-03-C1", None),
    ]
    reached = mtfp.cibles[0].derniere_valeur
    assert reached is not None and (reached.valeur_atteinte, reached.date_rapport, reached.fichier) == (
        "45",
        "2023-06-30",
        "cibles.csv",
    )
    assert mtfp.cibles_sans_valeur == ["E3-A2-03-C1"] and ditp.cibles == []
    (orphan,) = status.non_attribues
    assert (
        orphan.origine == "depot:orphelin.csv"
        and orphan.premiers_messages[0]["code"] == "organisme-non-identifie"
    )
    document = status.to_dict()
    assert json.loads(json.dumps(document)) == document
    assert next(b for b in document["organismes"] if b["id_organisation"] == "ditp")[
        "dernier_rapport"
    ].startswith("2023-10-05")  # received by the pipeline that day


def test_the_reminders_csv_opens_as_columns_in_a_french_spreadsheet(campaign: Pipeline) -> None:
    content = reminders_csv(status_of(campaign))
    assert content.startswith("\ufeff".encode())  # Excel reads UTF-8 only with its BOM
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "organisme",
        "nom",
        "actions_sans_rapport",
        "dernier_fichier_rejete",
        "motif_du_rejet",
        "cibles_sans_valeur",
    ]
    by_body = {r[0]: r for r in rows[1:]}
    assert by_body["meae"][3] == "rapport.csv" and "preuve" in by_body["meae"][4]
    assert (
        "dinum" in by_body and by_body["dinum"][3] == ""
    )  # actions without report, nothing rejected pending
    assert by_body["mtfp"][5] == "E3-A2-03-C1" and by_body["ditp"][5] == ""
    assert all(len(r) == 6 for r in rows)


def test_ogp_status_prints_the_table_the_json_and_writes_the_reminders(
    campaign: Pipeline, tmp_path: Path
) -> None:
    state = ["--state-dir", str(campaign.settings.state_dir)]
    env = {"OGP_SUBMISSIONS_INBOX": str(campaign.inbox)}
    shown = CliRunner().invoke(app, ["status", PROGRESS_SLUG, *state], env=env)
    assert shown.exit_code == 0, shown.output
    assert "meae" in shown.output and "rapport.csv" in shown.output and "sans rapport" in shown.output
    assert "Cibles sans valeur : E3-A2-03-C1" in shown.output  # off a terminal: one record per line
    as_json = CliRunner().invoke(app, ["status", PROGRESS_SLUG, "--json", *state], env=env)
    document = json.loads(as_json.output)
    assert {b["id_organisation"] for b in document["organismes"]} >= {"ditp", "dinum", "meae"}
    reminders = tmp_path / "relances.csv"
    written = CliRunner().invoke(
        app, ["status", PROGRESS_SLUG, "--relances", str(reminders), *state], env=env
    )
    assert written.exit_code == 0 and reminders.read_bytes().startswith("\ufeff".encode())


def test_the_collection_writes_the_status_beside_the_archive(campaign: Pipeline) -> None:
    written = json.loads((campaign.archive.root / "etat-collecte.json").read_text(encoding="utf-8"))
    assert {b["id_organisation"] for b in written["organismes"]} >= {"ditp", "meae"}
    page = (campaign.archive.root / "etat-collecte.html").read_text(encoding="utf-8")
    assert "Fichiers non attribués" in page and "<script" not in page
    assert "Fichier rejeté, pas encore remplacé :</strong> rapport.csv" in page
    assert '<th scope="row">E3-A2-03-C1</th><td>—</td>\n<td>aucune valeur</td>' in page
    assert "45 au 30 juin 2023" in page
    # Statuses by their French labels, never the raw codes; the published site's stylesheet.
    assert "Avancement limité, 20 % au 30 juin 2023" in page and "limite," not in page
    from pipelines.core.look import SITE_CSS

    assert SITE_CSS in page and "<link" not in page


def test_ogp_validate_reads_the_archive_and_warns_as_ogp_run_will(campaign: Pipeline, tmp_path: Path) -> None:
    later = tmp_path / "ditp" / "nouveau.csv"
    later.parent.mkdir()
    later.write_text(HEADER + "E1-A1-02,2023-12-31,limite,10,,\n", encoding="utf-8")  # 30 in the archive
    env = {"OGP_STATE_DIR": str(campaign.settings.state_dir), "OGP_SUBMISSIONS_INBOX": str(campaign.inbox)}
    result = CliRunner().invoke(app, ["validate", str(later)], env=env)
    assert result.exit_code == 0, result.output
    assert "ACCEPTÉ" in result.output and "(avancement en recul sans commentaire)" in result.output
    alone = CliRunner().invoke(
        app, ["validate", str(later)], env={**env, "OGP_STATE_DIR": str(tmp_path / "vide")}
    )
    assert "recul" not in alone.output  # without the archive, nothing to compare with


def test_a_terminal_sees_ogp_status_as_a_table_saved_as_a_screenshot(campaign: Pipeline) -> None:
    import os
    import subprocess
    import sys

    from rich.console import Console
    from rich.text import Text

    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "220", "OGP_SUBMISSIONS_INBOX": str(campaign.inbox)}
    shown = subprocess.run(
        [
            str(Path(sys.executable).parent / "ogp"),
            "status",
            PROGRESS_SLUG,
            "--state-dir",
            str(campaign.settings.state_dir),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    text = Text.from_ansi(shown.stdout)
    assert (
        "┃ Organisme" in text.plain and "meae (Ministère de l'Europe" in text.plain
    )  # drawn, not one per line
    screen = Console(record=True, width=220, file=open(os.devnull, "w"))  # noqa: SIM115
    screen.print(text)
    out = ROOT / "test-output"
    out.mkdir(exist_ok=True)
    screen.save_svg(str(out / "ogp-status.svg"), title="ogp status")
    assert (out / "ogp-status.svg").stat().st_size > 1000
