"""The most common spreadsheet habits, each as a file made the way a spreadsheet makes it:
one problem naming the cause (or one correction, when the meaning is certain), not N
symptoms."""

from __future__ import annotations

import io
from collections.abc import Callable

from openpyxl import Workbook

from pipelines.core.problems import Severity
from tests.conftest import codes

HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
COLUMNS = HEADER.strip().split(",")


def workbook(
    rows: list[list[object]],
    *,
    title_line: str | None = None,
    merge: str | None = None,
    second_sheet: bool = False,
    number_format: dict[str, str] | None = None,
) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Rapport"
    if second_sheet:
        sheet.append(["Voir l'onglet suivant"])
        sheet = book.create_sheet("Données")
    if title_line:
        sheet.append([title_line])
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    for cell, fmt in (number_format or {}).items():
        sheet[cell].number_format = fmt
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def corrections(validated) -> list[tuple[int | None, str | None, str]]:  # noqa: ANN001
    return codes(validated, "correction")


def test_dates_typed_as_excel_serial_numbers_are_converted(check: Callable) -> None:
    content = workbook([["E1-A1-01", 45107, "limite", 20, None, None]])  # 45107 is 2023-06-30
    validated = check(content, name="rapport.xlsx")
    assert validated.report.accepted, codes(validated)
    assert validated.rows[0]["date_rapport"] == "2023-06-30"
    assert (2, "date_rapport", "date-numero-serie") in corrections(validated)


def test_a_date_with_a_time_names_the_time(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2023-06-30 14:35:00,limite,20,,\n")
    assert codes(validated) == [(2, "date_rapport", "type-error")]
    (problem,) = validated.report.of(Severity.ERROR)
    assert "heure" in problem.message and "14:35" in problem.message
    midnight = check(HEADER + "E1-A1-01,2023-06-30 00:00:00,limite,20,,\n")
    assert midnight.report.accepted and (2, "date_rapport", "date-avec-heure") in corrections(midnight)


def test_a_leading_apostrophe_of_a_csv_export_is_removed(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2023-06-30,limite,'70,,\nE1-A1-02,'2023-06-30,limite,'10,,\n")
    assert validated.report.accepted, codes(validated)
    assert [r["avancement_pct"] for r in validated.rows] == ["70", "10"]
    assert {c for c in corrections(validated) if c[2] == "apostrophe-initiale"} == {
        (2, "avancement_pct", "apostrophe-initiale"),
        (3, "date_rapport", "apostrophe-initiale"),
        (3, "avancement_pct", "apostrophe-initiale"),
    }


def test_a_title_line_above_the_header_is_skipped(check: Callable) -> None:
    content = workbook(
        [["E1-A1-01", "2023-06-30", "limite", 20, None, None]], title_line="Rapport DITP juin 2023"
    )
    validated = check(content, name="rapport.xlsx")
    assert validated.report.accepted, codes(validated)
    assert (None, None, "lignes-avant-entete") in corrections(validated)


def test_data_on_the_second_sheet_is_read_there_and_said(check: Callable) -> None:
    content = workbook([["E1-A1-01", "2023-06-30", "limite", 20, None, None]], second_sheet=True)
    validated = check(content, name="rapport.xlsx")
    assert validated.report.accepted, codes(validated)
    assert codes(validated, "avertissement") == [(None, None, "plusieurs-feuilles")]
    (said,) = validated.report.of(Severity.WARNING)
    assert "« Données »" in said.message


def test_merged_date_cells_are_named_once(check: Callable) -> None:
    rows = [
        ["E1-A1-01", "2023-06-30", "limite", 20, None, None],
        ["E1-A1-02", None, "limite", 10, None, None],
        ["E1-A1-04", None, "limite", 5, None, None],
    ]
    validated = check(workbook(rows, merge="B2:B4"), name="rapport.xlsx")
    assert codes(validated) == [(2, "date_rapport", "cellules-fusionnees")]
    (problem,) = validated.report.of(Severity.ERROR)
    assert "B2:B4" in problem.message and "Annuler la fusion" in problem.fix


def test_a_csv_renamed_xlsx_is_read_as_a_csv(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2023-06-30,limite,20,,\n", name="rapport.xlsx")
    assert validated.report.accepted, codes(validated)
    assert (None, None, "extension-csv") in corrections(validated)


def test_cells_shifted_left_under_the_header_are_one_error(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2023-06-30,limite,20,,\nE1-A1-02,limite,10,,,\n")
    assert codes(validated) == [(3, None, "cellules-decalees")]
    (problem,) = validated.report.of(Severity.ERROR)
    assert "date_rapport" in problem.message


def test_invisible_characters_are_shown_in_words(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2023-06-30,limite,70\u00a0%\u00a0x,,\n")
    (problem,) = validated.report.of(Severity.ERROR)
    assert problem.value is not None and "\\x" not in problem.value and "espace insécable" in problem.value
