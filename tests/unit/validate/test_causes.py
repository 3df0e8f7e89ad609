"""Causes, not symptoms: every problem of a file in one report, each told once, where the
body's template names it. Files are made as a spreadsheet makes them (openpyxl); each case
is held to the ``(sheet, row, column, code)`` of its findings."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from pipelines.core.problems import Severity
from pipelines.core.schema import TableSchema
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.gather.submissions.read import TARGETS_SHEET
from pipelines.gather.submissions.template import write_template
from pipelines.state.received import Received
from pipelines.validate.report import render_json, render_markdown, where_of
from pipelines.validate.submission import ValidatedSubmission, validate_submission
from tests.conftest import TODAY

HEADER = ["id_action", "date_rapport", "statut", "avancement_pct", "commentaire", "preuve_url"]
TITLES = ["Action", "Date du rapport", "Statut", "Avancement (%)", "Commentaire", "Lien vers une preuve"]
PROOF = "https://www.modernisation.gouv.fr/preuve"
Validate = Callable[..., ValidatedSubmission]


@pytest.fixture(scope="module")
def validate(
    submission_schema: TableSchema, targets_submission_schema: TableSchema, plan: PlanFacts
) -> Validate:
    def run(
        content: bytes,
        name: str = "rapport.xlsx",
        org: str | None = "ditp",
        received_at: str = "2026-11-28T08:00:00Z",
        today: dt.date = TODAY,
        arrived_at: str | None = None,
    ) -> ValidatedSubmission:
        received = Received(name, content, f"depot:{org}/{name}", received_at, org, arrived_at=arrived_at)
        return validate_submission(
            received, submission_schema, plan, today=today, targets_schema=targets_submission_schema
        )

    return run


def found(validated: ValidatedSubmission, severity: Severity = Severity.ERROR) -> list[tuple]:
    return [(f.table, f.row, f.field, f.code) for f in validated.report.of(severity)]


def workbook(
    rows: list[list[object]],
    *,
    header: list[str] = HEADER,
    hidden_rows: tuple[int, ...] = (),
    hidden_columns: tuple[str, ...] = (),
    merge: str | None = None,
) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Rapport"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for number in hidden_rows:
        sheet.row_dimensions[number].hidden = True
    for letter in hidden_columns:
        sheet.column_dimensions[letter].hidden = True
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_hidden_row_no_longer_hides_the_files_other_errors(validate: Validate) -> None:
    content = workbook(
        [
            ["E1-A1-01", dt.date(2023, 6, 30), "limite", 20, None, None],
            ["E1-A1-02", dt.date(2023, 6, 30), "limite", 10, "ancien brouillon", None],  # 3, hidden
            ["E1-A1-04", dt.date(2023, 6, 30), "fini", 20, None, None],  # 4, not a status
            ["E9-A9-99", dt.date(2023, 6, 30), "limite", 20, None, None],  # 5, not in the plan
            ["E2-A1-10", dt.date(2023, 6, 30), "complet", 100, None, None],  # 6, complete without proof
        ],
        hidden_rows=(3,),
    )
    validated = validate(content)
    assert found(validated) == [
        (None, 3, None, "ligne-masquee"),
        (None, 4, "statut", "constraint-error"),
        (None, 5, "id_action", "foreign-key"),
        (None, 6, "preuve_url", "statut-sans-preuve"),
    ]
    assert not validated.report.accepted and validated.rows == []


def test_a_hidden_column_holding_data_is_one_error_and_the_others_are_still_told(validate: Validate) -> None:
    content = workbook(
        [
            ["E1-A1-01", dt.date(2023, 6, 30), "limite", 20, None, None, "note interne"],
            ["E1-A1-02", dt.date(2023, 6, 30), "limite", 150, None, None, "autre note"],
        ],
        header=[*HEADER, "notes"],
        hidden_columns=("G",),
    )
    validated = validate(content)
    # The hidden column's heading and cells are not told again (no extra-label, no extra-cell).
    assert found(validated) == [
        (None, None, "G", "colonne-masquee"),
        (None, 3, "avancement_pct", "constraint-error"),
    ]


def test_merged_cells_are_one_error_and_the_files_other_errors_are_told(validate: Validate) -> None:
    content = workbook(
        [
            ["E1-A1-01", dt.date(2023, 6, 30), "limite", 20, None, None],
            ["E1-A1-02", None, "limite", 10, None, None],
            ["E1-A1-04", dt.date(2023, 6, 30), "limite", "deux", None, None],
        ],
        merge="B2:B3",
    )
    assert found(validate(content)) == [
        (None, 2, "date_rapport", "cellules-fusionnees"),
        (None, 4, "avancement_pct", "type-error"),
    ]


def test_a_header_pasted_twice_is_one_error_naming_its_row(validate: Validate) -> None:
    content = workbook(
        [
            TITLES,  # the header again, as the template titles it
            ["E1-A1-01", dt.date(2023, 6, 30), "limite", 20, None, None],
            HEADER,  # and as the format names it
        ]
    )
    validated = validate(content)
    assert found(validated) == [(None, 2, None, "entete-repete"), (None, 4, None, "entete-repete")]


def test_a_hidden_row_of_the_targets_sheet_and_errors_of_both_sheets_are_all_told(
    tmp_path: Path,
    validate: Validate,
    plan: PlanFacts,
    submission_schema: TableSchema,
    targets_submission_schema: TableSchema,
) -> None:
    path = tmp_path / "meae.xlsx"
    write_template(path, "meae", plan, submission_schema, targets_submission_schema)
    book = load_workbook(path)
    progress, targets = book["Suivi"], book[TARGETS_SHEET]
    progress["C2"], progress["D2"], progress["E2"] = dt.datetime(2023, 6, 30), "Achevée", 80  # not 100
    targets["F2"], targets["G2"] = dt.datetime(2023, 6, 30), 12
    targets["F3"], targets["G3"] = dt.datetime(2023, 6, 30), "beaucoup"  # not a number
    targets.row_dimensions[2].hidden = True
    buffer = io.BytesIO()
    book.save(buffer)
    validated = validate(buffer.getvalue(), name="meae.xlsx", org="meae")
    assert found(validated) == [
        (None, 2, "avancement_pct", "complet-sans-100"),
        (None, 2, "preuve_url", "statut-sans-preuve"),
        (TARGETS_SHEET, 2, None, "ligne-masquee"),
        (TARGETS_SHEET, 3, "valeur_atteinte", "type-error"),
    ]


def test_a_status_chosen_from_the_templates_list_is_not_a_correction(
    tmp_path: Path, validate: Validate, plan: PlanFacts, submission_schema: TableSchema
) -> None:
    path = tmp_path / "ditp.xlsx"
    write_template(path, "ditp", plan, submission_schema)
    book = load_workbook(path)
    sheet = book["Suivi"]
    chosen = ["Avancement limité", "Non commencée", "Achevée", "Avancement substantiel"]
    for row, status in enumerate(chosen, start=2):
        sheet.cell(row, 3, dt.datetime(2023, 6, 30))
        sheet.cell(row, 4, status)
        sheet.cell(row, 5, 100 if status == "Achevée" else 0 if status == "Non commencée" else 40)
        sheet.cell(row, 7, PROOF if status == "Achevée" else None)
    sheet.cell(6, 3, dt.datetime(2023, 6, 30))
    sheet.cell(6, 4, "terminée")  # typed by hand: another spelling, converted and said
    sheet.cell(6, 5, 100)
    sheet.cell(6, 7, PROOF)
    buffer = io.BytesIO()
    book.save(buffer)
    validated = validate(buffer.getvalue(), org=None)
    assert validated.report.accepted, found(validated)
    assert [r["statut"] for r in validated.rows] == [
        "limite",
        "non_commence",
        "complet",
        "substantiel",
        "complet",
    ]
    on_statuses = [f for f in found(validated, Severity.CORRECTION) if f[2] == "statut"]
    assert on_statuses == [(None, 6, "statut", "statut-libelle")]


def test_reports_name_a_column_by_its_template_label_with_its_code(validate: Validate) -> None:
    validated = validate(workbook([["E1-A1-01", dt.date(2023, 6, 30), "limite", 150, None, None]]))
    (error,) = validated.report.of(Severity.ERROR)
    assert (error.field, error.label) == ("avancement_pct", "Avancement (%) [avancement_pct]")
    assert where_of(error) == "ligne 2, colonne Avancement (%) [avancement_pct]"
    document = json.loads(render_json(validated.report))["erreurs"][0]
    assert (document["colonne"], document["intitule_colonne"]) == ("avancement_pct", error.label)
    assert "| Avancement (%) [avancement_pct] |" in render_markdown(validated.report)


def test_a_rejected_files_warnings_are_not_said_to_be_published(validate: Validate) -> None:
    header = [*HEADER[:4], HEADER[5]]  # no comment column: a warning
    rejected = validate(workbook([["E1-A1-01", dt.date(2023, 6, 30), "fini", 20, None]], header=header))
    accepted = validate(workbook([["E1-A1-01", dt.date(2023, 6, 30), "limite", 20, None]], header=header))
    assert [f.code for f in rejected.report.of(Severity.WARNING)] == ["colonne-absente"]
    assert [f.code for f in accepted.report.of(Severity.WARNING)] == ["colonne-absente"]
    assert "publié, mais à vérifier" not in render_markdown(rejected.report)
    assert "publié, mais à vérifier" in render_markdown(accepted.report)


def test_a_header_error_does_not_hide_the_rows_errors_nor_repeat_itself_on_each_row(
    validate: Validate,
) -> None:
    unknown = validate(
        workbook([["E1-A1-01", dt.date(2023, 6, 30), "fini", 20, None, None, "x"]], header=[*HEADER, "notes"])
    )
    assert found(unknown) == [(None, None, "notes", "extra-label"), (None, 2, "statut", "constraint-error")]
    no_status = [h for h in HEADER if h != "statut"]
    missing = validate(
        workbook(
            [
                ["E1-A1-01", dt.date(2023, 6, 30), 20, None, None],
                ["E1-A1-02", dt.date(2023, 6, 30), 150, None, None],
            ],
            header=no_status,
        )
    )
    # One error for the column, none for its empty cell on each row; the rows' own errors told.
    assert found(missing) == [
        (None, None, "statut", "missing-label"),
        (None, 3, "avancement_pct", "constraint-error"),
    ]


# --- date-rapport-apres-reception -------------------------------------------------------


def _csv(*rows: str) -> bytes:
    return (",".join(HEADER) + "\n" + "".join(row + "\n" for row in rows)).encode("utf-8")


def test_a_report_dated_after_its_files_reception_is_an_error(validate: Validate) -> None:
    content = _csv(
        "E1-A1-01,2023-01-16,limite,20,,",  # the day of reception: fine
        "E1-A1-02,2023-03-31,limite,20,,",  # after the reception, before today
        "E1-A1-04,2031-01-01,limite,20,,",  # in the future: date-future only
    )
    validated = validate(content, name="rapport.csv", received_at="2023-01-16T09:00:00Z")
    assert found(validated) == [
        (None, 3, "date_rapport", "date-rapport-apres-reception"),
        (None, 4, "date_rapport", "date-future"),
    ]
    (late, _) = validated.report.of(Severity.ERROR)
    assert late.value == "2023-03-31" and "16/01/2023" in late.message


def test_the_day_of_reception_is_counted_in_paris(validate: Validate) -> None:
    content = _csv("E1-A1-01,2023-01-17,limite,20,,")
    late_evening = validate(content, name="rapport.csv", received_at="2023-01-16T23:30:00Z")  # 17th in Paris
    assert late_evening.report.accepted, found(late_evening)
    afternoon = validate(content, name="rapport.csv", received_at="2023-01-16T15:00:00Z")
    assert found(afternoon) == [(None, 2, "date_rapport", "date-rapport-apres-reception")]


def test_a_target_value_dated_after_the_reception_is_an_error(validate: Validate) -> None:
    content = b"id_cible,date_rapport,valeur_atteinte,commentaire,preuve_url\nE6-A1-01-C1,2023-02-01,12,,\n"
    validated = validate(content, name="cibles.csv", org="meae", received_at="2023-01-16T09:00:00Z")
    assert found(validated) == [(None, 2, "date_rapport", "date-rapport-apres-reception")]


def test_a_sample_is_judged_at_its_declared_reception_not_at_the_run(validate: Validate) -> None:
    """The invented samples are received at a declared time (their rows' date_reception): a
    report dated after it is refused like any other, whenever the run reads the file."""
    content = _csv("E1-A1-02,2023-03-31,limite,20,,")
    validated = validate(content, received_at="2026-11-28T08:00:00Z", arrived_at="2023-01-16T09:00:00Z")
    assert found(validated) == [(None, 2, "date_rapport", "date-rapport-apres-reception")]
    assert validated.report.received_at == "2023-01-16T09:00:00Z"  # what the report says too
    later = validate(content, received_at="2026-11-28T08:00:00Z", arrived_at="2023-04-14T09:00:00Z")
    assert later.report.accepted
