"""What a submission's checks find, as ``(row, column, code)``: frictionless for the schema,
great-expectations for rules across cells, rows and reports, and the normalisation of
what French spreadsheets write."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipelines.core.problems import Severity
from tests.conftest import TODAY, codes

HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
PROOF = "https://www.modernisation.gouv.fr/preuve"


def test_n_distinct_errors_are_n_findings_each_with_row_column_value_and_fix(check: Callable) -> None:
    validated = check(
        HEADER
        + "E1-A1-01,2022-12-31,fini,20,,\n"  # 2 statut: not on the scale
        + "E1-A1-02,31/02/2022,limite,20,,\n"  # 3 date: does not exist
        + "E1-A1-04,2022-12-31,limite,deux,,\n"  # 4 avancement: not a number
        + "E1-A1-06,2022-12-31,limite,150,,\n"  # 5 avancement: over 100
        + "E9-A9-99,2022-12-31,limite,20,,\n"  # 6 action: not in the plan
        + "E2-A1-10,2022-12-31,complet,100,,\n"  # 7 complet without proof
        + "E2-A2-03,2022-12-31,non_commence,40,,\n"  # 8 non_commence with progress
        + "E3-A2-01,2020-06-30,limite,10,,\n"  # 9 before the plan
        + "E3-A2-01,2031-01-01,limite,10,,ftp://exemple\n"  # 10 future date; 10 proof not http(s)
    )
    assert codes(validated) == [
        (2, "statut", "constraint-error"),
        (3, "date_rapport", "type-error"),
        (4, "avancement_pct", "type-error"),
        (5, "avancement_pct", "constraint-error"),
        (6, "id_action", "foreign-key"),
        (7, "preuve_url", "statut-sans-preuve"),
        (8, "avancement_pct", "non-commence-avec-avancement"),
        (9, "date_rapport", "date-avant-plan"),
        (10, "date_rapport", "date-future"),
        (10, "preuve_url", "constraint-error"),
    ]
    values = [f.value for f in validated.report.of("erreur")]  # type: ignore[arg-type]
    assert values == [
        "fini",
        "31/02/2022",
        "deux",
        "150",
        "E9-A9-99",
        None,
        "40",
        "2020-06-30",
        "2031-01-01",
        "ftp://exemple",
    ]
    for finding in validated.report.of("erreur"):  # type: ignore[arg-type]
        assert finding.message and finding.fix, finding
    assert not validated.report.accepted


def test_a_french_excel_export_is_accepted_with_warnings_in_canonical_form(check: Callable) -> None:
    content = (
        "id_action;DATE DU RAPPORT;Statut;avancement_pct;commentaire;preuve_url\r\n"  # the title in capitals: renamed
        "E1-A1-01;31/12/2022;Complet;100,0;Bilan « publié », voir le lien;" + PROOF + "\r\n"
        "E1-A1-02;1/7/2022;non commencé;;;\r\n"
        "E1-A1-04;30/06/2022;Limité;25 %;Réunions à l'été;\r\n"
    ).encode("cp1252")
    validated = check(content, name="export.csv")
    assert validated.report.accepted, codes(validated)
    assert codes(validated, "avertissement") == [(None, None, "encodage-windows-1252")]
    assert validated.rows == [
        {
            "id_action": "E1-A1-01",
            "date_rapport": "2022-12-31",
            "statut": "complet",
            "avancement_pct": "100",
            "commentaire": "Bilan « publié », voir le lien",
            "preuve_url": PROOF,
        },
        {
            "id_action": "E1-A1-02",
            "date_rapport": "2022-07-01",
            "statut": "non_commence",
            "avancement_pct": "",
            "commentaire": "",
            "preuve_url": "",
        },
        {
            "id_action": "E1-A1-04",
            "date_rapport": "2022-06-30",
            "statut": "limite",
            "avancement_pct": "25",
            "commentaire": "Réunions à l'été",
            "preuve_url": "",
        },
    ]
    corrections = {code for _, _, code in codes(validated, "correction")}
    assert corrections == {
        "separateur",
        "entete-renomme",
        "date-francaise",
        "statut-libelle",
        "virgule-decimale",
        "signe-pourcentage",
    }


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("50,5", "nombre-non-entier"),  # which integer? the steward decides
        ("0,5", "nombre-non-entier"),  # half a percent or fifty? ambiguous
        ("12/31/2022", "type-error"),  # month first: not a French date
        ("31/12/22", "type-error"),  # two-digit year
    ],
)
def test_ambiguous_values_are_rejected_not_guessed(check: Callable, cell: str, code: str) -> None:
    column = "date_rapport" if "/" in cell else "avancement_pct"
    row = (
        f"E1-A1-01,{cell},limite,20,,"
        if column == "date_rapport"
        else f'E1-A1-01,2022-12-31,limite,"{cell}",,'
    )
    assert codes(check(HEADER + row + "\n")) == [(2, column, code)]


def test_complet_needs_100_percent(check: Callable) -> None:
    validated = check(
        HEADER + f"E1-A1-01,2022-12-31,complet,80,,{PROOF}\n" + f"E1-A1-02,2022-12-31,complet,,,{PROOF}\n"
    )
    assert codes(validated) == [
        (2, "avancement_pct", "complet-sans-100"),
        (3, "avancement_pct", "complet-sans-100"),
    ]


def test_non_commence_accepts_zero_or_empty(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2022-12-31,non_commence,0,,\nE1-A1-02,2022-12-31,non_commence,,,\n")
    assert validated.report.accepted, codes(validated)


def test_non_evalue_is_kept_apart_from_non_commence(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2022-12-31,Non évalué,,L'organisme ne peut pas se prononcer,\n")
    assert validated.report.accepted
    assert validated.rows[0]["statut"] == "non_evalue"


def test_another_bodys_action_is_an_error_naming_the_bodies_responsible(check: Callable, plan) -> None:
    validated = check(HEADER + "E5-A1-01,2022-12-31,limite,10,,\n", org="ditp")
    assert not validated.report.accepted and validated.rows == []
    assert codes(validated) == [(2, "id_action", "action-hors-responsabilite")]
    (finding,) = validated.report.of(Severity.ERROR)
    responsible = plan.responsible_for("E5-A1-01")
    assert responsible and "ditp" not in responsible
    assert finding.message.endswith(f"Responsable(s) : {', '.join(responsible)}.")


def test_a_body_declared_as_reporter_may_report_on_that_action_only(submission_schema, plan) -> None:
    import dataclasses

    from pipelines.state.received import Received
    from pipelines.validate.submission import validate_submission

    entitled = dataclasses.replace(plan, reporters={"ditp": frozenset({"E5-A1-01"})})
    content = (HEADER + "E5-A1-01,2022-12-31,limite,10,,\nE5-A1-02,2022-12-31,limite,10,,\n").encode()
    validated = validate_submission(
        Received("r.csv", content, "test:r.csv", "2026-11-28T00:00:00Z", "ditp"),
        submission_schema,
        entitled,
        today=TODAY,
    )
    assert codes(validated) == [(3, "id_action", "action-hors-responsabilite")]


def test_an_unidentified_body_is_an_error_and_nothing_is_accepted(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2022-12-31,limite,10,,\n", org=None)
    assert not validated.report.accepted and validated.rows == []
    assert codes(validated) == [(None, None, "organisme-non-identifie")]


def test_a_folder_that_is_no_body_of_the_plan_is_an_error_with_close_identifiers(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2022-12-31,limite,10,,\n", org="ministere-sante")
    assert codes(validated) == [(None, None, "organisme-inconnu")]
    (finding,) = validated.report.of(Severity.ERROR)
    assert finding.value == "ministere-sante" and "dossier de l'organisme" not in finding.message


def test_progress_going_backwards_without_comment_is_a_warning(check: Callable) -> None:
    history = (("E1-A1-01", "2022-06-30", 60), ("E1-A1-02", "2022-06-30", 60))
    validated = check(
        HEADER
        + "E1-A1-01,2022-12-31,limite,40,,\n"  # backwards
        + "E1-A1-02,2022-12-31,limite,40,Périmètre réduit après arbitrage,\n"  # explained
        + "E1-A1-04,2022-06-30,limite,50,,\n"
        + "E1-A1-04,2022-12-31,limite,30,,\n",  # backwards in-file
        history=history,
    )
    assert validated.report.accepted
    assert codes(validated, "avertissement") == [
        (2, "avancement_pct", "recul-sans-commentaire"),
        (5, "avancement_pct", "recul-sans-commentaire"),
    ]
    first = validated.report.of("avertissement")[0]  # type: ignore[arg-type]
    assert first.value == "40" and "(60)" in first.message  # the value found, and the previous one


def test_a_report_replacing_one_of_the_same_date_is_not_compared_with_it(check: Callable) -> None:
    history = (("E1-A1-01", "2022-12-31", 80),)
    validated = check(HEADER + "E1-A1-01,2022-12-31,limite,40,,\n", history=history)
    assert codes(validated, "avertissement") == []


def test_template_rows_left_empty_are_skipped_and_said(check: Callable) -> None:
    validated = check(
        "id_action;titre_action;date_rapport;statut;avancement_pct;commentaire;preuve_url\n"
        "E1-A1-01;Titre;;;;;\nE1-A1-02;Titre;2022-12-31;limite;10;;\n"
    )
    assert validated.report.accepted
    assert len(validated.rows) == 1
    assert (None, None, "ligne-non-remplie") in codes(validated, "correction")
