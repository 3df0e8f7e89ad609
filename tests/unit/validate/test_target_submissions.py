"""Values reached of the plan's targets, as bodies send them: the template's « Cibles »
sheet filled in a spreadsheet (openpyxl), or a CSV of the targets format. Each test holds
one behaviour to the ``(sheet, row, column, code)`` of the findings or to the rows kept."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipelines.core.config import Settings
from pipelines.core.problems import Severity
from pipelines.core.schema import TableSchema, load_schema
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.gather.submissions.read import TARGETS_SHEET
from pipelines.gather.submissions.template import TARGET_FREE_ROWS, write_template
from pipelines.state.received import Received
from pipelines.validate.report import render_text
from pipelines.validate.submission import ValidatedSubmission, validate_submission
from tests.conftest import TODAY

TARGET_HEADER = "id_cible,date_rapport,valeur_atteinte,commentaire,preuve_url\n"
Check = Callable[..., ValidatedSubmission]


@pytest.fixture(scope="module")
def targets_schema(settings: Settings) -> TableSchema:
    return load_schema(settings.schemas_dir, "soumission-cibles")


@pytest.fixture(scope="module")
def check(submission_schema: TableSchema, targets_schema: TableSchema, plan: PlanFacts) -> Check:
    def run(
        content: bytes | str,
        name: str = "cibles.csv",
        org: str | None = "meae",
        history: tuple[tuple[str, str, float | None], ...] = (),
    ) -> ValidatedSubmission:
        data = content.encode("utf-8") if isinstance(content, str) else content
        received = Received(name, data, f"test:{name}", "2026-11-28T00:00:00Z", org)
        return validate_submission(
            received,
            submission_schema,
            plan,
            today=TODAY,
            targets_schema=targets_schema,
            target_history=history,
        )

    return run


def found(validated: ValidatedSubmission, severity: Severity = Severity.ERROR) -> list[tuple]:
    return [(f.table, f.row, f.field, f.code) for f in validated.report.of(severity)]


def filled_template(
    tmp_path: Path,
    org: str,
    plan: PlanFacts,
    schemas: tuple[TableSchema, TableSchema],
    values: dict[str, tuple[object, ...]],
    free: list[tuple[object, ...]] = (),
) -> bytes:
    """The body's xlsx template, its « Cibles » sheet filled as a person types: a date
    cell, a number or text, a comment and a link per target named in ``values``."""
    path = tmp_path / f"{org}.xlsx"
    write_template(path, org, plan, *schemas)
    book = load_workbook(path)
    sheet = book[TARGETS_SHEET]
    rows = {sheet.cell(r, 1).value: r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value}
    for target, cells in values.items():
        for column, value in enumerate(cells, start=6):
            sheet.cell(rows[target], column, value)
    for offset, cells in enumerate(free):
        for column, value in enumerate(cells, start=1):
            if value is not None:
                sheet.cell(len(rows) + 2 + offset, 1 if column == 1 else column + 4, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_template_lists_the_bodys_targets_locked_and_the_cells_to_fill_open(
    tmp_path: Path, plan: PlanFacts, submission_schema: TableSchema, targets_schema: TableSchema
) -> None:
    path = tmp_path / "meae.xlsx"
    write_template(path, "meae", plan, submission_schema, targets_schema)
    sheet = load_workbook(path)[TARGETS_SHEET]
    header = [c.value for c in sheet[1]]
    assert header == [
        "Cible",
        "Citation du plan",
        "Valeur visée",
        "Unité",
        "Échéance",
        "Date du rapport",
        "Valeur atteinte",
        "Commentaire",
        "Lien vers une preuve",
    ]
    listed = [sheet.cell(r, 1).value for r in range(2, 6)]
    # MEAE answers for E6-A1-01 and E6-A2-01: their four targets, in identifier order.
    assert listed == ["E6-A1-01-C1", "E6-A1-01-C2", "E6-A1-01-C3", "E6-A2-01-C1"]
    assert sheet["B2"].value == "l'organisation de débats citoyens dans 18 régions de France"
    assert (sheet["C2"].value, sheet["D2"].value) == ("18", "régions accueillant des débats citoyens")
    assert (sheet["C4"].value, sheet["E4"].value) == ("jalon", "31/03/2022")
    assert sheet.protection.sheet
    assert all(sheet.cell(2, c).protection.locked for c in range(1, 6))
    assert not any(sheet.cell(2, c).protection.locked for c in range(6, 10))
    assert not sheet.cell(6, 1).protection.locked  # a free row: another date of a target
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert lists[0].formula1 == '"E6-A1-01-C1,E6-A1-01-C2,E6-A1-01-C3,E6-A2-01-C1"'
    assert str(lists[0].sqref) == f"A6:A{5 + TARGET_FREE_ROWS}"
    # A body without targets gets no « Cibles » sheet.
    write_template(tmp_path / "ditp.xlsx", "ditp", plan, submission_schema, targets_schema)
    assert TARGETS_SHEET not in load_workbook(tmp_path / "ditp.xlsx").sheetnames


def test_a_filled_template_gives_canonical_rows_of_both_sheets(
    tmp_path: Path, check: Check, plan: PlanFacts, submission_schema: TableSchema, targets_schema: TableSchema
) -> None:
    content = filled_template(
        tmp_path,
        "meae",
        plan,
        (submission_schema, targets_schema),
        {
            "E6-A1-01-C1": (dt.datetime(2022, 6, 30), 12, "12 régions sur 18.", None),
            "E6-A1-01-C3": (dt.datetime(2022, 6, 30), 1, None, "https://www.diplomatie.gouv.fr/"),
        },
        free=[("E6-A1-01-C1", dt.datetime(2022, 12, 31), "17,5", "Un débat à moitié tenu.")],
    )
    validated = check(content, "meae.xlsx")
    assert validated.report.accepted, render_text(validated.report)
    assert validated.report.template_used and validated.report.organisation == "meae"
    assert validated.rows == []  # the « Suivi » sheet was left as received
    assert [(r["id_cible"], r["date_rapport"], r["valeur_atteinte"]) for r in validated.target_rows] == [
        ("E6-A1-01-C1", "2022-06-30", "12"),
        ("E6-A1-01-C3", "2022-06-30", "1"),
        ("E6-A1-01-C1", "2022-12-31", "17.5"),
    ]
    assert (TARGETS_SHEET, 6, "valeur_atteinte", "virgule-decimale-nombre") in found(
        validated, Severity.CORRECTION
    )
    assert validated.report.verdict.startswith("ACCEPTÉ : 3 valeurs de cible")


def test_every_mistake_of_a_targets_sheet_is_named_with_its_sheet_row_and_column(
    tmp_path: Path, check: Check, plan: PlanFacts, submission_schema: TableSchema, targets_schema: TableSchema
) -> None:
    content = filled_template(
        tmp_path,
        "meae",
        plan,
        (submission_schema, targets_schema),
        {
            "E6-A1-01-C1": (dt.datetime(2022, 6, 30), "une douzaine", None, None),  # not a number
            "E6-A1-01-C2": (dt.datetime(2022, 6, 30), 2, None, None),  # a milestone is 0 or 1
            "E6-A1-01-C3": (dt.datetime(2030, 1, 1), 1, None, None),  # in the future
            "E6-A2-01-C1": (dt.datetime(2022, 6, 30), -3, None, None),  # negative
        },
        free=[
            ("E3-A2-03-C1", dt.datetime(2022, 6, 30), 2500),  # another body's target
            ("E6-A1-01-C9", dt.datetime(2022, 6, 30), 1),
        ],
    )  # no such target
    validated = check(content, "meae.xlsx")
    assert found(validated) == [
        (TARGETS_SHEET, 2, "valeur_atteinte", "type-error"),
        (TARGETS_SHEET, 3, "valeur_atteinte", "jalon-ni-0-ni-1"),
        (TARGETS_SHEET, 4, "date_rapport", "date-future"),
        (TARGETS_SHEET, 5, "valeur_atteinte", "constraint-error"),
        (TARGETS_SHEET, 6, "id_cible", "cible-hors-responsabilite"),
        (TARGETS_SHEET, 7, "id_cible", "foreign-key"),
    ]
    assert validated.target_rows == [] and not validated.report.accepted
    other = next(f for f in validated.report.findings if f.code == "cible-hors-responsabilite")
    assert "E3-A2-03" in other.message and "mtfp" in other.message and "anct" in other.message
    text = render_text(validated.report)
    assert "feuille Cibles, ligne 3, colonne Valeur atteinte [valeur_atteinte]" in text
    assert "« une douzaine » n'est pas un nombre." in text


def test_a_csv_of_the_targets_format_is_read_as_targets(check: Check) -> None:
    validated = check(
        TARGET_HEADER + "E6-A1-01-C1;30/06/2022;4 000;;\n".replace(";", ",").replace("4 000", '"4 000"')
    )
    assert validated.report.accepted, render_text(validated.report)
    assert [(r["id_cible"], r["date_rapport"], r["valeur_atteinte"]) for r in validated.target_rows] == [
        ("E6-A1-01-C1", "2022-06-30", "4000")
    ]
    assert (None, 2, "valeur_atteinte", "separateur-milliers") in found(validated, Severity.CORRECTION)
    assert (None, 2, "date_rapport", "date-francaise") in found(validated, Severity.CORRECTION)
    # Semicolons, French decimals and a duplicate target and date in one file.
    duplicate = check(
        "id_cible;date_rapport;valeur_atteinte;commentaire;preuve_url\r\n"
        "E6-A1-01-C1;30/06/2022;12,5;;\r\nE6-A1-01-C1;2022-06-30;13;;\r\n"
    )
    assert found(duplicate) == [(None, 3, "id_cible, date_rapport", "primary-key")]
    # Numbers frictionless reads but nobody reached: infinite ones.
    infinite = check(TARGET_HEADER + "E6-A1-01-C1,2022-06-30,inf,,\nE6-A1-01-C2,2022-06-30,1e400,,\n")
    assert found(infinite) == [
        (None, 2, "valeur_atteinte", "type-error"),
        (None, 3, "valeur_atteinte", "type-error"),
    ]


def test_a_value_going_down_is_explained_in_the_comment(check: Check) -> None:
    history = (("E6-A1-01-C1", "2022-06-30", 12.0),)
    down = check(TARGET_HEADER + "E6-A1-01-C1,2022-12-31,10,,\n", history=history)
    assert down.report.accepted
    assert found(down, Severity.WARNING) == [(None, 2, "valeur_atteinte", "baisse-sans-commentaire")]
    (warned,) = down.report.of(Severity.WARNING)
    assert warned.value == "10" and "(12)" in warned.message  # the value found, and the previous one
    explained = check(TARGET_HEADER + "E6-A1-01-C1,2022-12-31,10,Deux débats annulés.,\n", history=history)
    assert found(explained, Severity.WARNING) == []
    # A report of the same date replaces the earlier one: it is not a value going down.
    replaced = check(TARGET_HEADER + "E6-A1-01-C1,2022-06-30,10,,\n", history=history)
    assert found(replaced, Severity.WARNING) == []


def test_the_csv_template_of_targets_filled_in_a_spreadsheet_is_read_as_targets(
    tmp_path: Path, check: Check, plan: PlanFacts, submission_schema: TableSchema, targets_schema: TableSchema
) -> None:
    path = tmp_path / "cibles-meae.csv"
    write_template(path, "meae", plan, submission_schema, targets_schema, targets_only=True)
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[0].split(";")[:2] == ["Cible", "Citation du plan"] and len(lines) == 4 + 2  # header, 4, end
    # The person types a date, a value with a decimal comma and a comment on the first target.
    cells = lines[1].split(";")
    cells[5:8] = ["30/06/2022", "12,5", "Douze débats et demi"]
    lines[1] = ";".join(cells)
    validated = check("\ufeff" + "\r\n".join(lines), name="cibles-meae.csv")
    assert validated.report.accepted, render_text(validated.report)
    assert [
        (r["id_cible"], r["date_rapport"], r["valeur_atteinte"], r["commentaire"])
        for r in validated.target_rows
    ] == [("E6-A1-01-C1", "2022-06-30", "12.5", "Douze débats et demi")]
