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

from pipelines.core.problems import Problem, correction, error, shown, warning
from pipelines.core.schema import TableSchema
from pipelines.core.text import match_key
from pipelines.core.vocabulary import spellings
from pipelines.gather.submissions.read import SheetTable
from pipelines.gather.submissions.template import TITLE_COLUMN

# Shown in the template to help the person; not part of the submission format.
INFORMATIONAL_COLUMNS = frozenset({"titre_action", TITLE_COLUMN})

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


def _map_header(
    header: list[str],
    schema: TableSchema,
    template: bool = False,
    informational_columns: frozenset[str] = INFORMATIONAL_COLUMNS,
) -> tuple[list[str | None], list[Problem]]:
    """The schema field each header cell names (by name or title), or ``None`` to drop it.

    A file made from the template has every column of the format: one missing was deleted,
    and its values with it, so the file is rejected naming the column. Any other file may
    leave an optional column out, with a warning that nothing of it will be published."""
    by_key: dict[str, str] = {}
    for f in schema["fields"]:
        by_key[_column_key(f["name"])] = f["name"]
        by_key[_column_key(f.get("title", f["name"]))] = f["name"]
    informational = {_column_key(c) for c in informational_columns}
    expected = ", ".join(f["name"] for f in schema["fields"])
    titles = {f["name"]: f.get("title", f["name"]) for f in schema["fields"]}
    mapped: list[str | None] = []
    findings: list[Problem] = []
    for position, label in enumerate(header, start=1):
        key = _column_key(label)
        name = by_key.get(key)
        if name is None:
            mapped.append(None)
            if key in informational:
                continue
            if not label:
                findings.append(
                    error(
                        "blank-label",
                        f"La colonne n° {position} n'a pas de nom dans l'en-tête.",
                        f"Nommez-la (colonnes attendues : {expected}) ou supprimez-la.",
                        row=None,
                        field=f"n° {position}",
                    )
                )
                continue
            findings.append(
                error(
                    "extra-label",
                    f"La colonne « {label} » ne fait pas partie du format de suivi.",
                    f"Renommez-la avec l'un des noms attendus ({expected}) ou supprimez-la.",
                    field=label,
                    value=shown(label),
                )
            )
            continue
        if name in mapped:
            findings.append(
                error(
                    "duplicate-label",
                    f"La colonne « {name} » apparaît deux fois dans l'en-tête.",
                    "Gardez une seule colonne de ce nom.",
                    field=label,
                    value=shown(label),
                )
            )
            mapped.append(None)
            continue
        mapped.append(name)
        if label not in (name, titles[name]):  # a field's name or title is the format's own
            findings.append(
                correction(
                    "entete-renomme",
                    f"La colonne « {label} » est lue comme « {name} ».",
                    field=name,
                    value=shown(label),
                )
            )
    for f in schema["fields"]:
        if f["name"] in mapped:
            continue
        title = f.get("title", f["name"])
        if template:
            findings.append(
                error(
                    "missing-label",
                    f"La colonne « {f['name']} » ({title}) du modèle a été supprimée : les valeurs "
                    "qu'elle contenait ne sont pas dans le fichier.",
                    f"Rétablissez la colonne « {f['name']} » (annulez la suppression, ou repartez du "
                    "modèle envoyé par l'équipe) et renvoyez le fichier.",
                    field=f["name"],
                )
            )
        elif f.get("constraints", {}).get("required"):
            findings.append(
                error(
                    "missing-label",
                    f"La colonne obligatoire « {f['name']} » ({title}) est absente.",
                    "Ajoutez-la à l'en-tête, ou repartez du modèle envoyé par l'équipe du plan.",
                    field=f["name"],
                )
            )
        else:
            findings.append(
                warning(
                    "colonne-absente",
                    f"La colonne facultative « {f['name']} » ({title}) est absente : rien de cette "
                    "colonne ne sera publié pour les lignes de ce fichier.",
                    f"Si vous avez des valeurs de « {title} » à transmettre, ajoutez la colonne "
                    f"« {f['name']} » et renvoyez le fichier.",
                    field=f["name"],
                )
            )
    return mapped, findings


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
_PERCENT = re.compile(r"^\d{1,3}\s*%?$")


def _shifted_from(row: dict[str, str], statuses: dict[str, str]) -> tuple[str, str] | None:
    """The column from which a row's values sit one column too far left (a cell deleted with
    « shift cells left »), with the next one, or ``None``: a status under the date, or a
    percentage under the status with the percentage column empty."""
    date, status, percent = row.get("date_rapport", ""), row.get("statut", ""), row.get("avancement_pct", "")

    def is_status(value: str) -> bool:
        return match_key(value) in statuses

    if (
        date
        and not _ISO_OR_FRENCH_DATE.match(date)
        and is_status(date)
        and (not status or _PERCENT.match(status))
    ):
        return "date_rapport", "statut"
    if _ISO_OR_FRENCH_DATE.match(date) and status and _PERCENT.match(status) and not percent:
        return "statut", "avancement_pct"
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


_CORRECTIONS = {
    "date-francaise": "Date au format JJ/MM/AAAA convertie au format AAAA-MM-JJ.",
    "date-avec-heure": "Heure 00:00 retirée de la date.",
    "signe-pourcentage": "Signe % retiré : la colonne attend un nombre, sans unité.",
    "virgule-decimale-nombre": "Virgule décimale convertie en point (12,5 devient 12.5).",
    "separateur-milliers": "Espaces entre les milliers retirées (4 000 devient 4000).",
    "virgule-decimale": "Nombre à décimale nulle converti en entier.",
    "statut-libelle": "Libellé du statut converti en code.",
    "apostrophe-initiale": "Apostrophe initiale retirée (un tableur l'ajoute pour garder une valeur en texte).",
    "date-numero-serie": "Date écrite comme un numéro de jour du tableur, convertie en date.",
}


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


def normalise_submission(
    sheet: SheetTable, schema: TableSchema, informational_columns: frozenset[str] = INFORMATIONAL_COLUMNS
) -> NormalisedSubmission:
    """Canonical cells for every filled row; header errors leave no rows to check.

    ``informational_columns`` are the template's columns shown to help the person (an
    action's title, a target's quote), dropped without a finding."""
    mapped, header_findings = _map_header(
        sheet.header, schema, sheet.template_org is not None, informational_columns
    )
    fields = [f["name"] for f in schema["fields"]]
    result = NormalisedSubmission(
        fields=fields,
        findings=list(header_findings),
        present={m for m in mapped if m is not None},
        names={label: m for label, m in zip(sheet.header, mapped, strict=False) if m},
    )
    if any(f.severity == "erreur" for f in header_findings):
        return result
    kinds: dict[str, Any] = {f["name"]: f.get("type", "string") for f in schema["fields"]}
    # The labels and synonyms of the status (the progress format; the targets' has none).
    statuses = spellings(schema, "statut") if "statut" in kinds else {}
    # Fields whose values are codes, dates or numbers: a leading apostrophe there is only
    # the spreadsheet's mark for « keep as text » (in a comment it may be meant).
    typed = {
        f["name"]
        for f in schema["fields"]
        if f.get("type") in ("date", "integer", "number")
        or {"enum", "pattern"} & set(f.get("constraints", {}))
    }
    key_field = fields[0]
    unfilled: list[int] = []
    for number, cells in sheet.rows:
        if not any(cells):
            continue  # a blank line of the spreadsheet
        extra = [c for c in cells[len(mapped) :] if c]
        if extra:
            result.findings.append(
                error(
                    "extra-cell",
                    f"La ligne a {len(cells)} cellules alors que l'en-tête a {len(mapped)} colonnes.",
                    "Supprimez les cellules à droite de la dernière colonne, ou vérifiez le "
                    "séparateur des colonnes.",
                    row=number,
                    value=shown(extra[0]),
                )
            )
            result.reported.add((number, "*"))
            continue
        if sheet.kind == "csv" and len(cells) < len(mapped):
            result.findings.append(
                error(
                    "missing-cell",
                    f"La ligne a {len(cells)} cellule(s) alors que l'en-tête a {len(mapped)} colonnes.",
                    "Vérifiez le séparateur des colonnes de cette ligne et ses guillemets.",
                    row=number,
                    value=shown(cells[0] if cells else ""),
                )
            )
            result.reported.add((number, "*"))
            continue
        row = {name: "" for name in fields}
        for name, raw in zip(mapped, cells, strict=False):
            if name is not None:
                row[name] = raw.strip(_WHITESPACE).replace("\r\n", "\n")
        if all(not row[n] for n in fields if n != key_field):
            unfilled.append(number)
            continue
        shifted = _shifted_from(row, statuses) if statuses else None
        if shifted is not None:
            column, following = shifted
            result.findings.append(
                error(
                    "cellules-decalees",
                    f"Les valeurs de la ligne sont décalées d'une colonne vers la gauche à partir de « {column} » : "
                    f"« {row[column]} » est sous {column}"
                    + (f", « {row[following]} » sous {following}." if row[following] else "."),
                    f"Une cellule a sans doute été supprimée en décalant les autres vers la gauche : rétablissez la "
                    f"cellule de la colonne {column} pour que chaque valeur revienne sous sa colonne, puis renvoyez "
                    "le fichier.",
                    row=number,
                    value=shown(row[column]),
                )
            )
            result.reported.add((number, "*"))
            continue
        for name in fields:
            value = row[name]
            if not value:
                continue
            if value.startswith("'") and len(value) > 1 and name in typed:
                result.originals[(number, name)] = value
                result.findings.append(
                    correction(
                        "apostrophe-initiale",
                        _CORRECTIONS["apostrophe-initiale"],
                        row=number,
                        field=name,
                        value=shown(value),
                    )
                )
                value = row[name] = value[1:].strip(_WHITESPACE)
            if value.startswith("="):
                result.findings.append(
                    error(
                        "formule",
                        "La cellule contient une formule ; seules des valeurs sont acceptées.",
                        "Remplacez la formule par sa valeur (copier, puis collage spécial > valeurs).",
                        row=number,
                        field=name,
                        value=shown(value),
                    )
                )
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
                        error(
                            "nombre-non-entier",
                            "L'avancement est un pourcentage entier ; la valeur a une partie décimale.",
                            "Arrondissez à l'entier de votre choix (par exemple 50 pour 50,4).",
                            row=number,
                            field=name,
                            value=shown(value),
                        )
                    )
                    result.reported.add((number, name))
            elif kinds[name] == "number":
                row[name], code = _normalise_number(value)
                if not _finite(row[name]):  # frictionless reads « inf » and 1e400 as numbers
                    result.findings.append(
                        error(
                            "type-error",
                            f"« {value} » n'est pas un nombre fini.",
                            "Écrivez la valeur constatée, un nombre seul (par exemple 2500 ou 12,5).",
                            row=number,
                            field=name,
                            value=shown(value),
                        )
                    )
                    result.reported.add((number, name))
            elif name == "statut":
                canonical = statuses.get(match_key(value))
                if canonical and canonical != value:
                    row[name], code = canonical, "statut-libelle"
            if code:
                result.originals[(number, name)] = value
                result.findings.append(
                    correction(code, _CORRECTIONS[code], row=number, field=name, value=shown(value))
                )
        result.rows.append(row)
        result.sheet_rows.append(number)
    if unfilled:
        shown_rows = ", ".join(str(n) for n in unfilled[:10]) + ("…" if len(unfilled) > 10 else "")
        result.findings.append(
            correction(
                "ligne-non-remplie",
                f"{len(unfilled)} ligne(s) du modèle sans rapport (seul l'identifiant de l'action "
                f"ou de la cible est rempli) ignorée(s) : lignes {shown_rows}.",
            )
        )
    return result
