"""Bad submissions a data steward receives on a normal day: each one gets a clear finding
(stable code, French rule and fix), never an exception."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest
from openpyxl import Workbook

from tests.conftest import codes

HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
GOOD_ROW = "E1-A1-01,2022-12-31,limite,20,,\n"


def xlsx(rows: list[list[object]], sheet: str = "Suivi", extra_sheets: tuple[str, ...] = ()) -> bytes:
    workbook = Workbook()
    workbook.active.title = sheet
    for row in rows:
        workbook.active.append(row)
    for name in extra_sheets:
        workbook.create_sheet(name)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("vide.csv", b"", "fichier-vide"),
        ("blancs.csv", b"  \r\n\r\n ", "fichier-vide"),
        ("entete.csv", HEADER.encode(), "aucune-ligne"),
        ("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "fichier-binaire"),
        ("binaire.csv", b"id_action\x00\x01\x02\x03" * 100, "fichier-binaire"),
        ("document.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "fichier-binaire"),
        (
            "faux.xlsx",
            b"ceci n'est ni un classeur ni un CSV",
            "xlsx-invalide",
        ),  # (a CSV named .xlsx is read as a CSV)
        ("archive.xlsx", zip_of({"lisezmoi.txt": b"bonjour"}), "xlsx-invalide"),
        ("bombe.xlsx", zip_of({"xl/workbook.xml": b"\0" * (60 * 2**20)}), "xlsx-trop-volumineux"),
        ("enorme.csv", (HEADER + GOOD_ROW * 500_000).encode(), "fichier-trop-volumineux"),
        ("ancien.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "format-xls"),
        (
            "illisible.csv",
            HEADER.encode() + "E1-A1-01,2022-12-31,limité\x81,,,\n".encode("latin-1"),
            "encoding-error",
        ),
    ],
)
def test_unreadable_files_are_one_clear_error(
    check: Callable, name: str, content: bytes, expected: str
) -> None:
    validated = check(content, name=name)
    assert codes(validated) == [(None, None, expected)]
    finding = validated.report.of("erreur")[0]  # type: ignore[arg-type]
    assert finding.message and finding.fix
    assert not validated.report.accepted and validated.rows == []


def test_header_problems_name_the_column(check: Callable) -> None:
    validated = check("id_action,date_rapport,etat,avancement_pct,avancement_pct,remarque\n" + GOOD_ROW)
    assert codes(validated) == [
        (None, "avancement_pct", "duplicate-label"),
        (None, "etat", "extra-label"),
        (None, "remarque", "extra-label"),
        (None, "statut", "missing-label"),
    ]


def test_duplicate_rows_are_a_primary_key_error_pointing_at_the_first(check: Callable) -> None:
    validated = check(HEADER + GOOD_ROW + GOOD_ROW)
    assert codes(validated) == [(3, "id_action, date_rapport", "primary-key")]
    assert "ligne 2" in validated.report.of("erreur")[0].message  # type: ignore[arg-type]


def test_formulas_are_refused_in_csv_and_in_xlsx(check: Callable) -> None:
    csv_text = HEADER + 'E1-A1-01,2022-12-31,limite,20,"=HYPERLINK(""http://x"")",\n'
    assert codes(check(csv_text)) == [(2, "commentaire", "formule")]
    book = xlsx([HEADER.strip().split(","), ["E1-A1-01", "2022-12-31", "limite", "=10+10", None, None]])
    assert codes(check(book, name="rapport.xlsx")) == [(2, "avancement_pct", "formule")]


def test_a_row_split_by_another_delimiter_is_reported_not_misread(check: Callable) -> None:
    validated = check(HEADER + GOOD_ROW + "E1-A1-02;2022-12-31;limite;20;;\n")
    assert codes(validated) == [(3, None, "missing-cell")]


def test_cells_beyond_the_header_are_reported(check: Callable) -> None:
    validated = check(HEADER + "E1-A1-01,2022-12-31,limite,20,,,en trop\n")
    assert codes(validated) == [(2, None, "extra-cell")]


def test_a_workbook_with_its_report_on_another_sheet_warns_which_sheet_is_read(check: Callable) -> None:
    book = xlsx(
        [HEADER.strip().split(","), ["E1-A1-01", "2022-12-31", "limite", 20]],
        sheet="Feuil1",
        extra_sheets=("Feuil2",),
    )
    validated = check(book, name="rapport.xlsx")
    assert validated.report.accepted
    assert codes(validated, "avertissement") == [(None, None, "plusieurs-feuilles")]


def test_an_xlsx_named_csv_is_read_as_a_workbook(check: Callable) -> None:
    book = xlsx([HEADER.strip().split(","), ["E1-A1-01", "2022-12-31", "limite", 20]])
    validated = check(book, name="rapport.csv")
    assert validated.report.accepted
    assert (None, None, "extension-xlsx") in codes(validated, "correction")


def test_utf16_text_from_excel_is_accepted(check: Callable) -> None:
    text = HEADER.replace(",", "\t") + "E1-A1-01\t2022-12-31\tlimité\t20\t\t\n"
    validated = check(text.encode("utf-16"), name="unicode.txt")
    assert validated.report.accepted, codes(validated)
    assert validated.rows[0]["statut"] == "limite"


def test_too_many_rows_is_refused_but_blank_lines_do_not_count(check: Callable) -> None:
    many = HEADER + "".join(f"E1-A1-01,{2022 + i // 365}-01-01,limite,20,,\n" for i in range(10_001))
    assert codes(check(many)) == [(None, None, "trop-de-lignes")]
    spaced = HEADER + "\n" * 20_000 + "E1-A1-01,2022-12-31,limite,20,,\n"
    validated = check(spaced)
    assert validated.report.accepted
    assert validated.report.rows == 1
