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

from pipelines.core.problems import Problem, correction, error, shown, warning
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


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} Mo".replace(".", ",")


def _empty_file() -> Problem:
    """A file with no byte, or with no filled cell: the same fact for the person."""
    return error(
        "fichier-vide",
        "Le fichier ne contient aucune cellule remplie.",
        "Remplissez le modèle envoyé par l'équipe du plan, puis renvoyez-le.",
    )


def too_large(size: int, limit: int) -> Problem:
    """The finding for a file over the size limit, whether its bytes were read or it was left on disk."""
    return error(
        "fichier-trop-volumineux",
        f"Le fichier pèse {_megabytes(size)} ; la limite est de {_megabytes(limit)}.",
        "Un rapport d'avancement tient en quelques centaines de lignes : retirez les "
        "feuilles, images ou lignes superflues, ou scindez le fichier.",
    )


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
        renamed = correction(
            "extension-csv",
            "Le fichier porte l'extension .xlsx mais c'est un fichier CSV "
            "(du texte, colonnes séparées) : il est lu comme un CSV.",
        )
        if sheet is None:
            return None, [renamed, *problems]
        sheet.findings.insert(0, renamed)
        return sheet, problems
    if content.startswith(b"PK\x03\x04") or suffix == ".xlsx":
        return _parse_xlsx(content, suffix, limits, known_columns)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        return None, [
            error(
                "format-xls",
                "Le fichier est au format Excel 97-2003 (.xls), qui n'est pas accepté.",
                "Enregistrez-le au format .xlsx (Fichier > Enregistrer sous > Classeur Excel) "
                "ou au format CSV.",
            )
        ]
    if suffix == ".ods":
        return None, [
            error(
                "format-ods",
                "Les classeurs OpenDocument (.ods) ne sont pas acceptés.",
                "Enregistrez le fichier au format .xlsx ou CSV.",
            )
        ]
    return _parse_csv(content, known_columns, limits)


# --- xlsx -----------------------------------------------------------------------------


def _check_zip(content: bytes, limits: Limits) -> Problem | None:
    """Refuses what is not a workbook, or what would inflate far beyond its size, before
    openpyxl decompresses anything."""
    not_a_workbook = error(
        "xlsx-invalide",
        "Le fichier n'est pas un classeur .xlsx lisible (archive invalide).",
        "Ouvrez-le dans votre tableur et enregistrez-le à nouveau au format .xlsx, ou exportez-le en CSV.",
    )
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
        return error(
            "xlsx-trop-volumineux",
            f"Décompressé, le classeur ferait {_megabytes(unzipped)} "
            f"({ratio:.0f} fois sa taille) : il est refusé par précaution.",
            "Renvoyez un classeur qui ne contient que la feuille du modèle remplie, ou un fichier CSV.",
        )
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
            return text, correction(
                "pourcentage-tableur",
                f"La cellule est au format pourcentage ({value!r}) : elle est lue comme {text}.",
            )
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


def _without_cell_notes(findings: list[Problem]) -> list[Problem]:
    """The findings about the file, without the notes on cells (named by column index
    until the header is known): kept when another cause alone rejects the file."""
    return [f for f in findings if not (f.field or "").startswith("#")]


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))


def _hidden_data(
    raw: list[tuple[int, list[str]]], rows: frozenset[int], columns: frozenset[int]
) -> list[Problem]:
    """Errors for hidden rows and columns that hold data: they would be published unseen."""
    findings: list[Problem] = []
    for number, cells in raw:
        if number in rows:
            first = next((c for c in cells if c.strip()), "")
            findings.append(
                error(
                    "ligne-masquee",
                    f"La ligne {number} est masquée dans le tableur mais contient des données : elle "
                    "serait publiée sans que personne l'ait relue à l'écran.",
                    "Affichez les lignes masquées (sélectionnez les lignes autour, clic droit > "
                    "Afficher), puis gardez cette ligne si elle fait partie du rapport ou supprimez-la, "
                    "et renvoyez le fichier.",
                    row=number,
                    value=shown(first),
                )
            )
    for index in sorted(columns):
        filled = [
            (number, cells[index]) for number, cells in raw if index < len(cells) and cells[index].strip()
        ]
        if filled:
            letter = _column_letter(index)
            findings.append(
                error(
                    "colonne-masquee",
                    f"La colonne {letter} est masquée dans le tableur mais contient des données "
                    f"({len(filled)} cellule(s) remplie(s)).",
                    f"Affichez la colonne {letter} (sélectionnez les colonnes autour, clic droit > "
                    "Afficher), puis gardez-la si elle fait partie du rapport ou supprimez-la, et "
                    "renvoyez le fichier.",
                    field=letter,
                    value=shown(filled[0][1]),
                )
            )
    return findings


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


def _merge_problems(ranges: tuple[str, ...], table: SheetTable) -> list[Problem]:
    """One error per merged range that spans rows of data: only its first cell keeps the
    value, the others read as empty (N « cellule vide » errors that never say why)."""
    from openpyxl.utils import range_boundaries

    found = []
    for ref in ranges:
        first_column, first_row, last_column, last_row = range_boundaries(ref)
        if last_row <= table.header_row or last_row == first_row:
            continue
        name = table.header[first_column - 1] if first_column - 1 < len(table.header) else None
        found.append(
            error(
                "cellules-fusionnees",
                f"Les cellules {ref} sont fusionnées : seule la première garde sa valeur, les autres sont "
                "lues comme vides.",
                "Annulez la fusion (Accueil > Fusionner et centrer > Annuler la fusion des cellules), "
                "recopiez la valeur dans chaque ligne, puis renvoyez le fichier.",
                row=max(first_row, table.header_row + 1),
                field=name or _column_letter(first_column - 1),
                value=ref,
            )
        )
    return found


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
    """One sheet's table, or the causes that reject it alone: data in hidden rows or columns,
    merged cells spanning rows (the cells' own notes would point at unseen or empty cells)."""
    hidden = _hidden_data(raw, layout.hidden_rows, layout.hidden_columns)
    if hidden:
        return None, [*_without_cell_notes(findings), *hidden]
    table, problems = _with_header("xlsx", raw, template_org, findings, limits, known_columns)
    if table is not None:
        table.sheet = title
        spanning = _merge_problems(layout.merged, table)
        if spanning:
            return None, [*_without_cell_notes(table.findings), *spanning]
    return table, problems


def _parse_xlsx(
    content: bytes, suffix: str, limits: Limits, known_columns: Collection[str] = ()
) -> tuple[SheetTable | None, list[Problem]]:
    """The report sheet of a workbook, with its « Cibles » sheet (``targets``) when it has one,
    both read from one opening of the workbook and of its archive.

    A workbook of targets only gives its « Cibles » sheet as its table. A problem that rejects
    the « Cibles » sheet rejects the file, and names the sheet."""
    problem = _check_zip(content, limits)
    if problem:
        return None, [problem]
    from openpyxl import load_workbook  # imported here: CSV-only runs do not need it

    findings: list[Problem] = []
    if suffix != ".xlsx":
        findings.append(
            correction(
                "extension-xlsx",
                f"Le fichier porte l'extension « {suffix or '(aucune)'} » mais "
                "c'est un classeur .xlsx : il est lu comme tel.",
            )
        )
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
            return None, [
                error(
                    "xlsx-sans-feuille",
                    "Le classeur ne contient aucune feuille visible.",
                    "Renvoyez le modèle rempli.",
                )
            ]
        if len(sheets) > 1 and sheet.title != DATA_SHEET:
            findings.append(
                warning(
                    "plusieurs-feuilles",
                    f"Le classeur a {len(sheets)} feuilles ; le rapport est lu dans la feuille « {sheet.title} », "
                    "les autres sont ignorées.",
                    "Vérifiez qu'aucune autre feuille ne contient de rapport ; le plus sûr est d'utiliser le modèle.",
                )
            )
        template_org = _template_org(workbook)
        raw = _sheet_rows(sheet, limits, findings)
        target_raw = _sheet_rows(targets, limits, target_findings) if targets is not None else []
        workbook.close()
        if raw is None or target_raw is None:
            return None, [_too_many_rows(limits)]
        layouts = _sheet_layouts(content, [sheet.title, *([TARGETS_SHEET] if targets is not None else [])])
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: any failure is a finding
        return None, [
            error(
                "xlsx-illisible",
                f"Le classeur n'a pas pu être lu ({type(exc).__name__}).",
                "Ouvrez-le dans votre tableur, enregistrez-le à nouveau au format .xlsx et renvoyez-le.",
            )
        ]
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
    return error(
        "trop-de-lignes",
        f"Le fichier dépasse {limits.max_rows} lignes.",
        "Un rapport compte une ligne par action et par date : vérifiez que le fichier "
        "est bien un rapport d'avancement, ou scindez-le.",
    )


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
        return None, [
            *findings,
            error(
                "trop-de-colonnes",
                f"L'en-tête compte {len(header)} colonnes ; le format en a 6.",
                "Gardez seulement les colonnes du modèle.",
            ),
        ]
    findings = [_name_column(f, header) for f in findings]
    if header_row != 1:
        findings.append(
            correction(
                "lignes-avant-entete",
                f"L'en-tête est en ligne {header_row} : les lignes au-dessus sont ignorées.",
            )
        )
    return SheetTable(kind, header, header_row, rows[start + 1 :], template_org, findings), []


# --- CSV ------------------------------------------------------------------------------


def _decode(content: bytes) -> tuple[str | None, list[Problem]]:
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    elif content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16"), [
                correction(
                    "encodage-utf16", "Le fichier est en UTF-16 (texte Unicode de Excel) : converti en UTF-8."
                )
            ]
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
                error(
                    "encoding-error",
                    f"Le fichier n'est ni en UTF-8 ni en Windows-1252 (octet 0x{content[exc.start]:02x} "
                    f"à la position {exc.start}).",
                    "Enregistrez le fichier au format « CSV UTF-8 » depuis votre tableur.",
                )
            ]
        return text, [
            warning(
                "encodage-windows-1252",
                "Le fichier n'est pas en UTF-8 : il a été lu comme du Windows-1252 (l'encodage "
                "par défaut d'Excel en français) et converti en UTF-8.",
                "Vérifiez les accents dans le rapport publié ; pour éviter cette conversion, "
                "enregistrez au format « CSV UTF-8 ».",
            )
        ]
    controls = sum(1 for c in text[:65536] if ord(c) < 32 and c not in "\t\r\n")
    if controls > max(3, len(text[:65536]) // 100):
        return None, [_binary()]
    return text, []


def _binary() -> Problem:
    return error(
        "fichier-binaire",
        "Le fichier n'est pas un fichier texte CSV (contenu binaire).",
        "Envoyez le rapport au format .xlsx ou CSV, pas un PDF, une image ou une archive.",
    )


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
        name = {";": "points-virgules", "\t": "tabulations"}[delimiter]
        findings.append(
            correction(
                "separateur",
                f"Les colonnes sont séparées par des {name} : lu comme tel.",
            )
        )
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
            error(
                "format-error",
                f"Le fichier CSV est mal formé près de la ligne {len(raw) + 1} ({exc}).",
                "Vérifiez les guillemets de cette ligne, ou enregistrez à nouveau le fichier depuis "
                "votre tableur.",
            ),
        ]
    return _with_header("csv", raw, None, findings, limits, known_columns)
