"""Reports people read: French, escaped, errors and warnings apart, one-line verdict."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.validate.report import render_html, render_json, render_markdown
from tests.conftest import PROGRESS_SLUG, ROOT

HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"


def test_untrusted_cells_cannot_inject_markup_into_reports(check: Callable) -> None:
    validated = check(HEADER + 'E1-A1-01,2022-12-31,<script>alert(1)</script>,20,"a | b",\n')
    html = render_html(validated.report)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in html
    markdown = render_markdown(validated.report)
    assert "<script>" not in markdown
    row = next(line for line in markdown.splitlines() if "valeur hors des règles du champ" in line)
    assert "constraint-error" not in markdown  # people read the French title; the code is in the JSON
    assert row.count(" | ") == 5  # the table keeps its six columns


def test_json_report_separates_errors_warnings_and_corrections(check: Callable) -> None:
    validated = check(
        (HEADER.replace(",", ";") + "E1-A1-01;31/12/2022;limite;200;Réunion d'été;\n").encode("cp1252")
    )
    document = json.loads(render_json(validated.report))
    assert document["verdict"] == "rejete"
    assert [(e["ligne"], e["code"]) for e in document["erreurs"]] == [(2, "constraint-error")]
    assert [w["code"] for w in document["avertissements"]] == ["encodage-windows-1252"]
    assert {c["code"] for c in document["corrections"]} == {"separateur", "date-francaise"}
    error = document["erreurs"][0]
    assert error["colonne"] == "avancement_pct" and error["valeur"] == "200"
    assert error["gravite"] == "erreur" and error["que_faire"] and error["regle"]
    assert document["resume"].startswith("REJETÉ : 1 erreur")


def test_verdict_of_an_accepted_file_counts_rows_warnings_and_corrections(check: Callable) -> None:
    validated = check(
        HEADER + "E1-A1-01,31/12/2022,limite,20,,\nE1-A1-02,2022-12-31,limite,20,,\n"
        "E1-A1-02,2023-06-30,limite,10,,\n"
    )  # backwards without a comment
    assert validated.report.verdict == (
        "ACCEPTÉ : 3 lignes de suivi avec 1 avertissement et 1 correction automatique."
    )


def test_ogp_validate_prints_every_error_and_exits_1_when_rejected(tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "rapport.csv"
    bad.write_text(
        HEADER + "E1-A1-01,2022-12-31,fini,20,,\nE9-A9-99,2022-12-31,limite,20,,\n"
        "E1-A1-02,2022-12-31,limite,-5,,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app,
        ["validate", str(bad), "--org", "ditp", "--report-dir", str(tmp_path / "rapports")],
        env={"OGP_STATE_DIR": str(tmp_path / "var")},
    )  # no earlier report to compare with
    assert result.exit_code == 1
    lines = result.stdout.splitlines()  # the reports; notes and the verdict go to stderr
    assert lines[0].startswith("rapport.csv : REJETÉ : 3 erreurs")
    errors = [line for line in lines if line.strip().startswith("ERREUR")]
    assert errors == [
        "  ERREUR (valeur hors des règles du champ) ligne 2, colonne Statut [statut] ; valeur « fini »",
        "  ERREUR (référence inconnue) ligne 3, colonne Action [id_action] ; valeur « E9-A9-99 »",
        "  ERREUR (valeur hors des règles du champ) ligne 4, colonne Avancement (%) [avancement_pct] ; "
        "valeur « -5 »",
    ]
    assert sum("Que faire :" in line for line in lines) == 3
    written = sorted(p.name for p in (tmp_path / "rapports").iterdir())
    assert written == ["rapport.csv.rapport.html", "rapport.csv.rapport.json", "rapport.csv.rapport.md"]


def test_ogp_validate_exits_0_on_the_bundled_samples(tmp_path) -> None:  # noqa: ANN001
    samples = sorted((ROOT / "datasets" / PROGRESS_SLUG / "soumissions-exemple").rglob("*.*"))
    assert len(samples) == 4
    result = CliRunner().invoke(
        app, ["validate", *map(str, samples)], env={"OGP_STATE_DIR": str(tmp_path / "var")}
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("ACCEPTÉ") == 4
    # MEAE's filled « Cibles » sheet: three values reached, its « Suivi » sheet left unfilled.
    assert "cibles-meae-2022-06.xlsx : ACCEPTÉ : 3 valeurs de cible" in result.output


def test_ogp_validate_refuses_a_huge_file_without_reading_it(tmp_path) -> None:  # noqa: ANN001
    huge = tmp_path / "enorme.csv"
    with huge.open("wb") as handle:  # 200 MiB, sparse: never read into memory (only hashed)
        handle.truncate(200 * 2**20)
    result = CliRunner().invoke(
        app, ["validate", str(huge), "--org", "ditp"], env={"OGP_STATE_DIR": str(tmp_path / "var")}
    )
    assert result.exit_code == 1
    assert "(fichier trop volumineux)" in result.output and "200,0 Mo" in result.output


def test_reports_read_as_french_dates_and_say_what_is_absent(check: Callable) -> None:
    from pipelines.validate.report import received_fr, render_markdown

    # France's clock, with its offset: winter (UTC+1), summer (UTC+2), a day changed.
    assert received_fr("2026-12-01T07:23:53.348919Z") == "1er décembre 2026 à 08:23 (heure de Paris, UTC+1)"
    assert received_fr("2026-07-01T07:05:00Z") == "1er juillet 2026 à 09:05 (heure de Paris, UTC+2)"
    assert received_fr("2026-12-31T23:30:00+00:00") == "1er janvier 2027 à 00:30 (heure de Paris, UTC+1)"
    text = render_markdown(check(HEADER + "E1-A1-01,2022-12-31,limite,20,,\n").report)
    assert "Reçu le : 28 novembre 2026 à 01:00 (heure de Paris, UTC+1)" in text
    assert "Aucun avertissement." in text and "Aucune erreur." in text and "Aucune." not in text
