"""Validate stage: a submission's text cells into the canonical form of its Table Schema.

What a French spreadsheet writes by default and means one thing only is rewritten and
recorded as a ``correction`` (``31/12/2022`` → ``2022-12-31``, ``50,0`` → ``50``,
``Non commencé`` → ``non_commence``, a column titled ``Date du rapport``). What could
mean two things (``50,5`` for an integer percentage, an unknown column) is left for the
steward with an error that says how to fix it. Types and constraints themselves are
frictionless's to check, afterwards, on the canonical cells.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from pipelines.core.problems import Problem, problem
from pipelines.core.schema import TableSchema
from pipelines.core.text import match_key
from pipelines.core.vocabulary import categorised, column_label, informational_columns, labels, spellings
from pipelines.gather.submissions.read import SheetTable

_FRENCH_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]00:00(:00)?$")
_DECIMAL = re.compile(r"^([+-]?\d+)[,.](\d+)$")
_WHITESPACE = "\u00a0\u202f \t\r\n"


@dataclass
class NormalisedSubmission:
    """Canonical rows (text, ``""`` for empty) with their spreadsheet row numbers."""

    fields: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)
    sheet_rows: list[int] = field(default_factory=list)
    findings: list[Problem] = field(default_factory=list)
    # Cells already reported: later checks do not report them a second time.
    reported: set[tuple[int, str]] = field(default_factory=set)
    # Cells as typed, where a correction changed them: reports quote what the person wrote.
    originals: dict[tuple[int, str], str] = field(default_factory=dict)
    # The schema fields the header has: a rule about an absent column says it is absent.
    present: set[str] = field(default_factory=set)
    # Each header label (« Avancement (%) ») with the field it names (avancement_pct).
    names: dict[str, str] = field(default_factory=dict)

    def as_written(self, row: int, column: str, canonical: str) -> str:
        return self.originals.get((row, column), canonical)


def _column_key(label: str) -> str:
    return match_key(label).replace(" ", "_")


def _field_keys(schema: TableSchema) -> dict[str, str]:
    """The field each header text names, by column key: its name and its title."""
    by_key: dict[str, str] = {}
    for f in schema["fields"]:
        by_key[_column_key(f["name"])] = f["name"]
        by_key[_column_key(f.get("title", f["name"]))] = f["name"]
    return by_key


def _map_header(
    header: list[str], schema: TableSchema, template: bool, told: frozenset[int] = frozenset()
) -> tuple[list[str | None], list[Problem]]:
    """The schema field each header cell names (by name or title), or ``None`` to drop it.

    A file made from the template has every column of the format: one missing was deleted,
    and its values with it, so the file is rejected naming the column. Any other file may
    leave an optional column out, with a warning that nothing of it will be published.
    Columns in ``told`` (hidden columns holding data, already an error) are not named again."""
    by_key = _field_keys(schema)
    informational = {_column_key(c) for c in informational_columns(schema)}
    expected = ", ".join(f["name"] for f in schema["fields"])
    by_name = {f["name"]: f for f in schema["fields"]}
    mapped: list[str | None] = []
    findings: list[Problem] = []
    for position, label in enumerate(header, start=1):
        key = _column_key(label)
        name = by_key.get(key)
        if name is None:
            mapped.append(None)
            if key in informational or position - 1 in told:
                continue
            if not label:
                findings.append(
                    problem(
                        "blank-label",
                        variant="soumission",
                        field=f"n° {position}",
                        position=position,
                        expected=expected,
                    )
                )
                continue
            findings.append(
                problem(
                    "extra-label",
                    variant="soumission",
                    field=label,
                    value=label,
                    heading=label,
                    expected=expected,
                )
            )
            continue
        if name in mapped:
            findings.append(
                problem("duplicate-label", variant="soumission", field=label, value=label, heading=label)
            )
            mapped.append(None)
            continue
        mapped.append(name)
        if label not in (
            name,
            by_name[name].get("title", name),
        ):  # a field's name or title is the format's own
            findings.append(
                problem(
                    "entete-renomme",
                    field=name,
                    value=label,
                    heading=label,
                    column=column_label(by_name[name]),
                )
            )
    for f in schema["fields"]:
        if f["name"] in mapped:
            continue
        column = column_label(f)
        if template:
            findings.append(problem("missing-label", variant="template", field=f["name"], column=column))
        elif f.get("constraints", {}).get("required"):
            findings.append(problem("missing-label", variant="required", field=f["name"], column=column))
        else:
            findings.append(problem("colonne-absente", field=f["name"], column=column))
    return mapped, findings


def _repeats_header(cells: list[str], mapped: list[str | None], by_key: dict[str, str]) -> bool:
    """Whether a row of data is the header again (pasted twice): at least two of its cells,
    and most of its filled ones, name the field of their own column."""
    named = [by_key.get(_column_key(c)) == m for c, m in zip(cells, mapped, strict=False) if m and c]
    return sum(named) >= 2 and 2 * sum(named) >= len(named)


def _normalise_date(value: str) -> tuple[str, str | None]:
    match = _FRENCH_DATE.match(value)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day).isoformat(), "date-francaise"
        except ValueError:
            return value, None  # 31/02/2022, 12/31/2022: left for the type check
    match = _MIDNIGHT.match(value)
    if match:
        return match.group(1), "date-avec-heure"
    return value, None


# A whole number of days in a date column of a workbook: the cell's date, as the spreadsheet
# counts days (from 1899-12-30), when its format was lost. Five digits: 1954 to 2173.
_SERIAL_DAY = re.compile(r"^[1-7]\d{4}$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_ISO_OR_FRENCH_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|[1-7]\d{4})$")
_WHOLE = re.compile(r"^\d{1,3}\s*%?$")


def _fits(field: dict[str, Any], value: str, closed: dict[str, dict[str, str]]) -> bool | None:
    """Whether a value could be one of this field's (a date, one of its closed list, a whole
    number), or ``None`` when the field's values have no shape to recognise."""
    if field["name"] in closed:
        return match_key(value) in closed[field["name"]]
    kind = field.get("type", "string")
    if kind == "date":
        return bool(_ISO_OR_FRENCH_DATE.match(value))
    if kind == "integer":
        return bool(_WHOLE.match(value))
    return None


def _shifted_from(
    row: dict[str, str], schema: TableSchema, closed: dict[str, dict[str, str]]
) -> tuple[str, str] | None:
    """The field from which a row's values sit one column too far left (a cell deleted with
    « shift cells left »), with the next one, or ``None``.

    Read on consecutive fields whose values have a shape (a date, a closed list, a whole
    number): a value that is not its column's but is the next column's (a status under the
    date, a percentage under the status), the next cell empty or itself the following
    column's. A row with a closed list says it at once; without one, nothing is guessed."""
    if not closed:
        return None
    fields = schema["fields"]
    for index, (here, after) in enumerate(zip(fields, fields[1:], strict=False)):
        beyond = fields[index + 2] if index + 2 < len(fields) else None
        value, following = row.get(here["name"], ""), row.get(after["name"], "")
        if not value or _fits(here, value, closed) is not False or not _fits(after, value, closed):
            continue
        if not following or (beyond is not None and _fits(beyond, following, closed)):
            return here["name"], after["name"]
    return None


def _normalise_integer(value: str) -> tuple[str, str | None, bool]:
    """``(text, correction code, ambiguous)`` for an integer percentage."""
    text = value
    code = None
    if text.endswith("%"):
        text, code = text[:-1].strip(_WHITESPACE), "signe-pourcentage"
    match = _DECIMAL.match(text)
    if match:
        whole, fraction = match.groups()
        if set(fraction) == {"0"}:
            return str(int(whole)), "virgule-decimale", False
        return value, None, True
    return text, code, False


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([ \u00a0\u202f]\d{3})+([,.]\d+)?$")


def _normalise_number(value: str) -> tuple[str, str | None]:
    """``(text, correction code)`` for a decimal number as a French spreadsheet writes it."""
    text, code = value, None
    if text.endswith("%"):
        text, code = text[:-1].strip(_WHITESPACE), "signe-pourcentage"
    if _THOUSANDS.match(text):
        text, code = re.sub(r"[ \u00a0\u202f]", "", text), "separateur-milliers"
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        text, code = text.replace(",", "."), code or "virgule-decimale-nombre"
    return text, code


def _finite(text: str) -> bool:
    """Whether a number's text is a finite number (or not a number at all: the type check's to say)."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return True


def normalise_submission(sheet: SheetTable, schema: TableSchema) -> NormalisedSubmission:
    """Canonical cells for every filled row, and every finding of the header and the cells.

    A header error (an unknown, doubled or missing column) does not stop the rows from being
    checked: the file's other problems are told in the same report. The cells of a missing
    required column are not reported again, row by row. The template's columns shown to help
    the person (an action's title, a target's quote: the schema's ``x-modele``) are dropped
    without a finding."""
    mapped, header_findings = _map_header(
        sheet.header, schema, sheet.template_org is not None, sheet.told_columns
    )
    fields = [f["name"] for f in schema["fields"]]
    by_name = {f["name"]: f for f in schema["fields"]}
    result = NormalisedSubmission(
        fields=fields,
        findings=list(header_findings),
        present={m for m in mapped if m is not None},
        names={label: m for label, m in zip(sheet.header, mapped, strict=False) if m},
    )
    # A required column the header lacks is one finding, not an empty cell on every row.
    told_absent = [
        f["name"]
        for f in schema["fields"]
        if f["name"] not in result.present and f.get("constraints", {}).get("required")
    ]
    kinds: dict[str, Any] = {f["name"]: f.get("type", "string") for f in schema["fields"]}
    # The fields with a closed list of values: every spelling of each value, and the labels
    # the template's drop-down offers (chosen there, a label is no correction to report).
    closed = {name: spellings(schema, name) for name in categorised(schema)}
    offered = {name: {label: value for value, label in labels(schema, name).items()} for name in closed}
    # Fields whose values are codes, dates or numbers: a leading apostrophe there is only
    # the spreadsheet's mark for « keep as text » (in a comment it may be meant).
    typed = {
        f["name"]
        for f in schema["fields"]
        if f.get("type") in ("date", "integer", "number")
        or {"enum", "pattern"} & set(f.get("constraints", {}))
    }
    by_key = _field_keys(schema)
    key_field = fields[0]
    unfilled: list[int] = []
    for number, cells in sheet.rows:
        if not any(cells):
            continue  # a blank line of the spreadsheet
        # The cells a finding told (a merge emptied them, their column is missing): not
        # reported again.
        result.reported |= {
            (number, name)
            for index, name in enumerate(mapped)
            if name and (number, index) in sheet.told_cells
        }
        result.reported |= {(number, name) for name in told_absent}
        extra = [
            c
            for index, c in enumerate(cells)
            if index >= len(mapped) and c and index not in sheet.told_columns
        ]
        if extra:
            result.findings.append(
                problem(
                    "extra-cell",
                    variant="soumission",
                    row=number,
                    value=extra[0],
                    cells=len(cells),
                    columns=len(mapped),
                )
            )
            result.reported.add((number, "*"))
            continue
        if sheet.kind == "csv" and len(cells) < len(mapped):
            result.findings.append(
                problem(
                    "missing-cell",
                    variant="soumission",
                    row=number,
                    value=cells[0] if cells else "",
                    cells=len(cells),
                    columns=len(mapped),
                )
            )
            result.reported.add((number, "*"))
            continue
        if _repeats_header(cells, mapped, by_key):
            result.findings.append(problem("entete-repete", row=number, value=next(c for c in cells if c)))
            result.reported.add((number, "*"))
            continue
        row = {name: "" for name in fields}
        for name, raw in zip(mapped, cells, strict=False):
            if name is not None:
                row[name] = raw.strip(_WHITESPACE).replace("\r\n", "\n")
        if all(not row[n] for n in fields if n != key_field):
            unfilled.append(number)
            continue
        shifted = _shifted_from(row, schema, closed)
        if shifted is not None:
            column, following = shifted
            result.findings.append(
                problem(
                    "cellules-decalees",
                    row=number,
                    value=row[column],
                    column=column_label(by_name[column]),
                    next_column=column_label(by_name[following]),
                    next_value=row[following],
                )
            )
            result.reported.add((number, "*"))
            continue
        for name in fields:
            value = row[name]
            if not value or (number, name) in result.reported:
                continue
            if value.startswith("'") and len(value) > 1 and name in typed:
                result.originals[(number, name)] = value
                result.findings.append(problem("apostrophe-initiale", row=number, field=name, value=value))
                value = row[name] = value[1:].strip(_WHITESPACE)
            if value.startswith("="):
                result.findings.append(problem("formule", row=number, field=name, value=value))
                result.reported.add((number, name))
                continue
            code = None
            if kinds[name] == "date" and sheet.kind == "xlsx" and _SERIAL_DAY.match(value):
                row[name], code = (
                    (_EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat(),
                    "date-numero-serie",
                )
            elif kinds[name] == "date":
                row[name], code = _normalise_date(value)
            elif kinds[name] == "integer":
                row[name], code, ambiguous = _normalise_integer(value)
                if ambiguous:
                    result.findings.append(
                        problem(
                            "nombre-non-entier",
                            row=number,
                            field=name,
                            value=value,
                            column=column_label(by_name[name]),
                        )
                    )
                    result.reported.add((number, name))
            elif kinds[name] == "number":
                row[name], code = _normalise_number(value)
                if not _finite(row[name]):  # frictionless reads « inf » and 1e400 as numbers
                    result.findings.append(
                        problem(
                            "type-error",
                            variant="infinite",
                            row=number,
                            field=name,
                            value=value,
                            example=by_name[name].get("example", ""),
                        )
                    )
                    result.reported.add((number, name))
            elif name in closed:
                canonical = closed[name].get(match_key(value))
                if canonical and canonical != value:
                    row[name] = canonical
                    result.originals[(number, name)] = value
                    if offered[name].get(value) != canonical:
                        result.findings.append(
                            problem(
                                "statut-libelle",
                                row=number,
                                field=name,
                                value=value,
                                canonical=canonical,
                                column=column_label(by_name[name]),
                            )
                        )
            if code:
                result.originals[(number, name)] = value
                result.findings.append(problem(code, row=number, field=name, value=value))
        result.rows.append(row)
        result.sheet_rows.append(number)
    if unfilled:
        result.findings.append(
            problem("ligne-non-remplie", count=len(unfilled), rows=unfilled[:10], more=len(unfilled) > 10)
        )
    return result
