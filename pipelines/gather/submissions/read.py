"""Gather stage: the bytes of one progress submission (xlsx or CSV) into rows of text cells.

``parse_submission_file`` never raises on bad input: whatever a data steward receives
(an empty file, a PDF renamed ``.csv``, a zip bomb named ``.xlsx``, Windows-1252 text,
semicolons) becomes either a sheet of text cells or findings that say what is wrong.
Every row keeps the number the person sees in their spreadsheet, so that reports can
point at it. Cells stay text here; making them canonical is ``normalise``'s job.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from pipelines.core.problems import Problem, problem
from pipelines.core.text import match_key

TEMPLATE_SHEET = "_modele"
TEMPLATE_MARKER = "ogp-modele-suivi"
DATA_SHEET = "Suivi"
TARGETS_SHEET = "Cibles"  # the template's sheet of the body's targets, and their values reached
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Limits:
    """What one submission may weigh; a body reports on a few dozen actions at most."""

    max_bytes: int = 10 * 2**20
    max_rows: int = 10_000
    max_columns: int = 50
    max_unzipped_bytes: int = 50 * 2**20
    max_zip_ratio: int = 200


DEFAULT_LIMITS = Limits()


@dataclass
class SheetTable:
    """Text cells of a submission; ``rows`` pairs each row's cells with its spreadsheet row."""

    kind: Literal["xlsx", "csv"]
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[str]]]
    template_org: str | None = None
    findings: list[Problem] = field(default_factory=list)
    sheet: str | None = None  # the workbook sheet it was read from (None for a CSV)
    # The workbook's « Cibles » sheet (values reached of targets), read in the same pass.
    targets: SheetTable | None = None
    # What a finding of the reader already told (0-based column indices, and (row, column)
    # cells): hidden columns holding data, the cells a merge empties. The later checks do
    # not report their symptoms again (an unnamed column, empty cells).
    told_columns: frozenset[int] = frozenset()
    told_cells: frozenset[tuple[int, int]] = frozenset()


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} Mo".replace(".", ",")


def _empty_file() -> Problem:
    """A file with no byte, or with no filled cell: the same fact for the person."""
    return problem("fichier-vide")


def too_large(size: int, limit: int) -> Problem:
    """The finding for a file over the size limit, whether its bytes were read or it was left on disk."""
    return problem("fichier-trop-volumineux", size=_megabytes(size), limit=_megabytes(limit))


def parse_submission_file(
    name: str, content: bytes, known_columns: set[str], limits: Limits = DEFAULT_LIMITS
) -> tuple[SheetTable | None, list[Problem]]:
    """The file's sheet, or ``None`` and the errors that make it unreadable.

    ``known_columns`` are match keys of the expected column names; they pick the CSV
    delimiter (the one that splits the header into known names).
    """
    if len(content) > limits.max_bytes:
        return None, [too_large(len(content), limits.max_bytes)]
    if not content.strip():
        return None, [_empty_file()]
    suffix = PurePath(name).suffix.lower()
    if (
        suffix == ".xlsx"
        and not content.startswith(b"PK\x03\x04")
        and _looks_like_csv(content, known_columns)
    ):
        sheet, problems = _parse_csv(content, known_columns, limits)
        renamed = problem("extension-csv")
        if sheet is None:
            return None, [renamed, *problems]
        sheet.findings.insert(0, renamed)
        return sheet, problems
    if content.startswith(b"PK\x03\x04") or suffix == ".xlsx":
        return _parse_xlsx(content, suffix, limits, known_columns)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        return None, [problem("format-xls")]
    if suffix == ".ods":
        return None, [problem("format-ods")]
    return _parse_csv(content, known_columns, limits)


# --- xlsx -----------------------------------------------------------------------------


def _check_zip(content: bytes, limits: Limits) -> Problem | None:
    """Refuses what is not a workbook, or what would inflate far beyond its size, before
    openpyxl decompresses anything."""
    not_a_workbook = problem("xlsx-invalide")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return not_a_workbook
    if "xl/workbook.xml" not in {m.filename for m in members}:
        return not_a_workbook
    unzipped = sum(m.file_size for m in members)
    ratio = unzipped / max(len(content), 1)
    if unzipped > limits.max_unzipped_bytes or ratio > limits.max_zip_ratio:
        return problem("xlsx-trop-volumineux", size=_megabytes(unzipped), ratio=f"{ratio:.0f}")
    return None


def _xlsx_text(cell: Any) -> tuple[str, Problem | None]:
    """A cell as text, the way the person reads it on screen (dates in ISO 8601)."""
    value = cell.value
    if value is None:
        return "", None
    if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
        return str(value), None  # reported as a formula by normalise, like a CSV "=…"
    if isinstance(value, bool):
        return ("vrai" if value else "faux"), None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat(), None
        return value.isoformat(sep=" "), None
    if isinstance(value, dt.date):
        return value.isoformat(), None
    if isinstance(value, float | int):
        number_format = getattr(cell, "number_format", "") or ""
        if "%" in number_format:
            percent = round(value * 100, 6)
            text = str(int(percent)) if percent == int(percent) else str(percent)
            return text, problem("pourcentage-tableur", stored=repr(value), value=text)
        if isinstance(value, float) and value.is_integer():
            return str(int(value)), None
        return str(value), None
    return str(value), None


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_part(archive: zipfile.ZipFile, title: str) -> str | None:
    """The zip member holding the worksheet of that title (workbook.xml and its rels)."""
    from defusedxml import ElementTree

    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rel_id = next((s.get(_REL_ID) for s in workbook.iter(f"{_MAIN}sheet") if s.get("name") == title), None)
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target") for r in rels.iter(f"{_RELS}Relationship") if r.get("Id") == rel_id), None)
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


@dataclass(frozen=True)
class SheetLayout:
    """What a sheet's XML says and openpyxl's read-only mode does not expose: the row
    numbers and column indices (0 for A) it hides, and its merged ranges (``B2:B4``)."""

    hidden_rows: frozenset[int] = frozenset()
    hidden_columns: frozenset[int] = frozenset()
    merged: tuple[str, ...] = ()


def _sheet_layouts(content: bytes, titles: list[str]) -> dict[str, SheetLayout]:
    """The layout of each of those sheets (one opening of the archive), after the archive
    passed its size checks."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {title: _sheet_layout(archive, title) for title in titles}


def _sheet_layout(archive: zipfile.ZipFile, title: str) -> SheetLayout:
    """The layout of that sheet, read in one streamed pass over its XML (``<row hidden>``,
    ``<col hidden>``, ``<mergeCell ref>``)."""
    from defusedxml import ElementTree

    rows: set[int] = set()
    columns: set[int] = set()
    merged: list[str] = []
    part = _sheet_part(archive, title)
    if part is None or part not in archive.namelist():
        return SheetLayout()
    with archive.open(part) as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag == f"{_MAIN}row":
                if element.get("hidden") in ("1", "true") and element.get("r"):
                    rows.add(int(element.get("r")))
                element.clear()  # rows are many: keep memory flat
            elif element.tag == f"{_MAIN}col" and element.get("hidden") in ("1", "true"):
                first, last = int(element.get("min", "1")), int(element.get("max", "1"))
                columns.update(range(first - 1, min(last, first + 16384)))
            elif element.tag == f"{_MAIN}mergeCell" and element.get("ref"):
                merged.append(str(element.get("ref")))
    return SheetLayout(frozenset(rows), frozenset(columns), tuple(merged))


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))


def _hidden_data(
    raw: list[tuple[int, list[str]]], rows: frozenset[int], columns: frozenset[int]
) -> tuple[list[Problem], frozenset[int]]:
    """Errors for hidden rows and columns that hold data (they would be published unseen),
    and the hidden columns that hold data (their cells' symptoms are told by the error)."""
    findings: list[Problem] = []
    for number, cells in raw:
        if number in rows:
            first = next((c for c in cells if c.strip()), "")
            findings.append(problem("ligne-masquee", row=number, value=first))
    told: set[int] = set()
    for index in sorted(columns):
        filled = [
            (number, cells[index]) for number, cells in raw if index < len(cells) and cells[index].strip()
        ]
        if filled:
            letter = _column_letter(index)
            told.add(index)
            findings.append(
                problem("colonne-masquee", field=letter, value=filled[0][1], letter=letter, count=len(filled))
            )
    return findings, frozenset(told)


def _template_org(workbook: Any) -> str | None:
    if TEMPLATE_SHEET not in workbook.sheetnames:
        return None
    cells: tuple[Any, ...] = next(
        workbook[TEMPLATE_SHEET].iter_rows(min_row=1, max_row=1, values_only=True), ()
    )
    if len(cells) >= 2 and cells[0] == TEMPLATE_MARKER and isinstance(cells[1], str):
        org = cells[1].strip()
        return org if re.fullmatch(r"[a-z][a-z0-9-]*", org) else None
    return None


def _looks_like_csv(content: bytes, known_columns: set[str]) -> bool:
    """Text whose first line names at least two columns of the format: a CSV, whatever its name."""
    text, _ = _decode(content[:65536])
    if text is None:
        return False
    first = next((line for line in text.splitlines() if line.strip()), "")
    return (
        _header_score(
            next(csv.reader([first], delimiter=_pick_delimiter(first, known_columns)), []), known_columns
        )
        >= 2
    )


def _header_score(cells: list[str], known_columns: Collection[str]) -> int:
    """How many cells of a row name a column of the format."""
    return sum(match_key(c).replace(" ", "_") in known_columns for c in cells if c)


def _first_rows(sheet: Any, count: int = 10) -> list[list[str]]:
    rows = []
    for cells in sheet.iter_rows(min_row=1, max_row=count, values_only=True):
        rows.append(["" if c is None else str(c) for c in cells])
    return rows


def _report_sheet(sheets: list[Any], known_columns: Collection[str]) -> Any:
    """The visible sheet that holds the report: the first whose first rows name columns of
    the format (people put a cover or a note sheet first), else the first."""
    for sheet in sheets:
        if any(_header_score(row, known_columns) >= 2 for row in _first_rows(sheet)):
            return sheet
    return sheets[0] if sheets else None


def _merge_problems(ranges: tuple[str, ...], table: SheetTable) -> tuple[list[Problem], set[tuple[int, int]]]:
    """One error per merged range that spans rows of data: only its first cell keeps the
    value, the others read as empty (N « cellule vide » errors that never say why); and
    those emptied cells, (row, 0-based column), so that no later check reports them."""
    from openpyxl.utils import range_boundaries

    found = []
    emptied: set[tuple[int, int]] = set()
    for ref in ranges:
        first_column, first_row, last_column, last_row = range_boundaries(ref)
        if last_row <= table.header_row or last_row == first_row:
            continue
        name = table.header[first_column - 1] if first_column - 1 < len(table.header) else None
        top = max(first_row, table.header_row + 1)
        found.append(
            problem(
                "cellules-fusionnees",
                row=top,
                field=name or _column_letter(first_column - 1),
                value=ref,
                cells=ref,
            )
        )
        emptied |= {
            (number, column - 1)
            for number in range(top, last_row + 1)
            for column in range(first_column, last_column + 1)
            if (number, column) != (first_row, first_column)
        }
    return found, emptied


def _sheet_rows(sheet: Any, limits: Limits, findings: list[Problem]) -> list[tuple[int, list[str]]] | None:
    """The sheet's rows holding data, as text with their spreadsheet numbers (``None``: over
    the row limit); the cells' own notes go to ``findings``, named by column index."""
    raw: list[tuple[int, list[str]]] = []
    for number, cells in enumerate(sheet.iter_rows(min_row=1), start=1):
        texts = []
        for index, cell in enumerate(cells[: limits.max_columns + 1]):
            text, note = _xlsx_text(cell)
            texts.append(text)
            if note:  # its column is named once the header is known
                findings.append(dataclasses.replace(note, row=number, field=f"#{index}", value=text))
        if any(t.strip() for t in texts):  # rows only formatted are not rows of data
            raw.append((number, texts))
            if len(raw) > limits.max_rows + 1:
                return None
    return raw


def _sheet_table(
    title: str,
    raw: list[tuple[int, list[str]]],
    layout: SheetLayout,
    template_org: str | None,
    findings: list[Problem],
    limits: Limits,
    known_columns: Collection[str],
) -> tuple[SheetTable | None, list[Problem]]:
    """One sheet's table with every finding about it: data in hidden rows or columns and
    merged cells spanning rows are errors of their own, and the sheet is read all the same,
    so that one report tells every problem of the file (``None``: no table to read)."""
    hidden, told_columns = _hidden_data(raw, layout.hidden_rows, layout.hidden_columns)
    table, problems = _with_header("xlsx", raw, template_org, findings, limits, known_columns)
    if table is None:
        return None, [*problems, *hidden]
    table.sheet = title
    spanning, emptied = _merge_problems(layout.merged, table)
    table.findings += [*hidden, *spanning]
    table.told_columns = told_columns
    table.told_cells = frozenset(emptied)
    return table, problems


def _parse_xlsx(
    content: bytes, suffix: str, limits: Limits, known_columns: Collection[str] = ()
) -> tuple[SheetTable | None, list[Problem]]:
    """The report sheet of a workbook, with its « Cibles » sheet (``targets``) when it has one,
    both read from one opening of the workbook and of its archive.

    A workbook of targets only gives its « Cibles » sheet as its table. A problem that rejects
    the « Cibles » sheet rejects the file, and names the sheet."""
    refused = _check_zip(content, limits)
    if refused:
        return None, [refused]
    from openpyxl import load_workbook  # imported here: CSV-only runs do not need it

    findings: list[Problem] = []
    if suffix != ".xlsx":
        findings.append(problem("extension-xlsx", suffix=suffix))
    target_findings: list[Problem] = []
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        sheets = [
            s
            for s in workbook.worksheets
            if s.sheet_state == "visible" and s.title not in (TEMPLATE_SHEET, TARGETS_SHEET)
        ]
        sheet = (
            workbook[DATA_SHEET]
            if DATA_SHEET in workbook.sheetnames
            else _report_sheet(sheets, known_columns)
        )
        targets = workbook[TARGETS_SHEET] if TARGETS_SHEET in workbook.sheetnames else None
        if sheet is None:  # a workbook of targets only: that sheet is its table
            sheet, targets = targets, None
        if sheet is None:
            return None, [problem("xlsx-sans-feuille")]
        if len(sheets) > 1 and sheet.title != DATA_SHEET:
            findings.append(problem("plusieurs-feuilles", count=len(sheets), sheet=sheet.title))
        template_org = _template_org(workbook)
        raw = _sheet_rows(sheet, limits, findings)
        target_raw = _sheet_rows(targets, limits, target_findings) if targets is not None else []
        workbook.close()
        if raw is None or target_raw is None:
            return None, [_too_many_rows(limits)]
        layouts = _sheet_layouts(content, [sheet.title, *([TARGETS_SHEET] if targets is not None else [])])
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: any failure is a finding
        return None, [problem("xlsx-illisible", reason=type(exc).__name__)]
    table, problems = _sheet_table(
        sheet.title, raw, layouts[sheet.title], template_org, findings, limits, known_columns
    )
    if targets is None or table is None:
        return table, problems
    target_table, target_problems = _sheet_table(
        TARGETS_SHEET,
        target_raw,
        layouts[TARGETS_SHEET],
        template_org,
        target_findings,
        limits,
        known_columns,
    )
    if target_table is None:
        return None, [*problems, *(dataclasses.replace(f, table=TARGETS_SHEET) for f in target_problems)]
    table.targets = target_table
    return table, problems


def _too_many_rows(limits: Limits) -> Problem:
    return problem("trop-de-lignes", limit=limits.max_rows)


def _name_column(finding: Problem, header: list[str]) -> Problem:
    if finding.field and finding.field.startswith("#"):
        index = int(finding.field[1:])
        return dataclasses.replace(finding, field=header[index] if index < len(header) else None)
    return finding


def _with_header(
    kind: Literal["xlsx", "csv"],
    raw: list[tuple[int, list[str]]],
    template_org: str | None,
    findings: list[Problem],
    limits: Limits,
    known_columns: Collection[str] = (),
) -> tuple[SheetTable | None, list[Problem]]:
    """The header is the first of the first ten rows that names columns of the format, else
    the first non-blank row (people add a title line, or a note, above the header)."""
    rows = [(n, [c.strip() for c in cells]) for n, cells in raw]
    start = next(
        (i for i, (_, cells) in enumerate(rows[:10]) if _header_score(cells, known_columns) >= 2), None
    )
    if start is None:
        start = next((i for i, (_, cells) in enumerate(rows) if any(cells)), None)
    if start is None:
        return None, [*findings, _empty_file()]
    header_row, header = rows[start]
    while header and not header[-1]:
        header = header[:-1]
    if len(header) > limits.max_columns:
        return None, [*findings, problem("trop-de-colonnes", count=len(header), limit=limits.max_columns)]
    findings = [_name_column(f, header) for f in findings]
    if header_row != 1:
        findings.append(problem("lignes-avant-entete", header_row=header_row))
    return SheetTable(kind, header, header_row, rows[start + 1 :], template_org, findings), []


# --- CSV ------------------------------------------------------------------------------


def _decode(content: bytes) -> tuple[str | None, list[Problem]]:
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    elif content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16"), [problem("encodage-utf16")]
        except UnicodeDecodeError:
            pass
    sample = content[:65536]
    if b"\x00" in sample or sample.startswith((b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff")):
        return None, [_binary()]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            text = content.decode("cp1252")
        except UnicodeDecodeError:
            return None, [
                problem(
                    "encoding-error",
                    variant="soumission",
                    byte=f"0x{content[exc.start]:02x}",
                    position=exc.start,
                )
            ]
        return text, [problem("encodage-windows-1252")]
    controls = sum(1 for c in text[:65536] if ord(c) < 32 and c not in "\t\r\n")
    if controls > max(3, len(text[:65536]) // 100):
        return None, [_binary()]
    return text, []


def _binary() -> Problem:
    return problem("fichier-binaire")


def _pick_delimiter(first_line: str, known_columns: set[str]) -> str:
    """The delimiter that splits the header into the most known column names."""

    def score(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        return (sum(match_key(c).replace(" ", "_") in known_columns for c in cells), len(cells))

    return max(DELIMITERS, key=score)


def _parse_csv(
    content: bytes, known_columns: set[str], limits: Limits
) -> tuple[SheetTable | None, list[Problem]]:
    text, findings = _decode(content)
    if text is None:
        return None, findings
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = _pick_delimiter(first_line, known_columns)
    if delimiter != ",":
        findings.append(problem("separateur", delimiter=delimiter))
    raw: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1
        ):
            if any(c.strip() for c in cells):
                raw.append((number, cells))
                if len(raw) > limits.max_rows + 1:
                    return None, [_too_many_rows(limits)]
    except csv.Error as exc:
        return None, [
            *findings,
            problem("format-error", variant="soumission", line=len(raw) + 1, detail=str(exc)),
        ]
    return _with_header("csv", raw, None, findings, limits, known_columns)
