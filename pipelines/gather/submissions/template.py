"""Gather stage (upstream end): the progress templates stewards send to each body.

A template is the submission contract made concrete for one body: one prefilled row per
action it is responsible for (identifier and title locked), drop-downs and input checks
that stop most mistakes at typing time, and instructions in French. The xlsx template
carries a hidden marker with the body's identifier, so that a returned file says who
reports without relying on its name or where it was dropped.

Nothing here repeats the format: the columns, their order, titles and widths are the
submission schema's (``x-modele``), each input check follows its field's type and
constraints (its prompt is the field's ``x-aide``), and the rules the Instructions sheet
lists are the code registry's (``pipelines.core.codes``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.codes import instructions_for
from pipelines.core.errors import ConfigError
from pipelines.core.schema import TableSchema
from pipelines.core.vocabulary import TemplateColumn, all_labels, labels, subject_of, template_columns
from pipelines.gather.submissions.plan_facts import PlanFacts, TargetFact
from pipelines.gather.submissions.read import (
    DATA_SHEET,
    TARGETS_SHEET,
    TEMPLATE_MARKER,
    TEMPLATE_SHEET,
)

TEMPLATE_VERSION = "1"
EXTRA_ROWS = 100  # free rows for a second report date on an action
TARGET_FREE_ROWS = 30  # for a second report date on a target
URL_MAX_LENGTH = 2000  # what a cell of an address may hold (browsers' own limit)


def _number_fr(value: float | None) -> str:
    if value is None:
        return ""
    return (
        f"{value:,.0f}".replace(",", "\u202f") if float(value).is_integer() else str(value).replace(".", ",")
    )


def _deadline_fr(deadline: str | None) -> str:
    return dt.date.fromisoformat(deadline).strftime("%d/%m/%Y") if deadline else ""


def headers(schema: TableSchema) -> list[str]:
    """The template's header: the French title of each column (the reader maps titles back
    to the format's names), so that the people who fill it read words, not codes."""
    return [c.title for c in template_columns(schema)]


@dataclass(frozen=True)
class TemplateAction:
    """One prefilled row of a template: an action the body may report on, and its title (not published)."""

    id_action: str
    title: str


# What the template's informational columns (the schema's ``x-modele``) show of the plan.
def _action_cells(action: TemplateAction) -> dict[str, str]:
    return {"id_action": action.id_action, "titre_action": action.title}


def _aimed_at(target: TargetFact) -> str:
    """The value aimed at as the plan states it: a range (« 10 à 20 »), an approximation
    (« environ 40 »), a milestone, or a number."""
    if target.nature == "jalon":
        return "jalon"
    value = _number_fr(target.value)
    if target.upper is not None:
        return f"{value} à {_number_fr(target.upper)}"
    return f"environ {value}" if target.approximate else value


def _target_cells(target: TargetFact) -> dict[str, str]:
    """A target's prefilled cells: its identifier and the plan's words (quote, value, unit,
    deadline, or the date it starts from)."""
    deadline = _deadline_fr(target.deadline)
    return {
        "id_cible": target.id_cible,
        "citation": target.citation,
        "valeur_visee": _aimed_at(target),
        "unite": target.unit or "",
        "echeance": f"à partir du {deadline}" if deadline and target.deadline_kind == "debut" else deadline,
    }


def _prefilled(schema: TableSchema, cells: list[dict[str, str]]) -> list[list[str]]:
    """Rows of the template: the prefilled cells in column order, the others empty."""
    columns = template_columns(schema)
    return [[row.get(c.name, "") for c in columns] for row in cells]


def _column_lines(schema: TableSchema) -> list[list[str]]:
    """One line per column of the template: its title, then what it holds (from the schema)."""
    fields = {f["name"]: f for f in schema["fields"]}
    lines = []
    for column in template_columns(schema):
        if column.informational:
            lines.append([column.title, column.description])
            continue
        required = (
            "obligatoire" if fields[column.name].get("constraints", {}).get("required") else "facultatif"
        )
        lines.append([column.title, f"{required.capitalize()}. {column.description}"])
    return lines


def _value_lines(schema: TableSchema) -> list[list[str]]:
    """The labels of every field with a closed list of values, under its heading."""
    lines: list[list[str]] = []
    for field in schema["fields"]:
        if field.get("categories"):
            heading = field.get("x-intitule-valeurs") or f"Les valeurs de la colonne {field.get('title')}"
            lines += [[], [str(heading)], *([label] for label in labels(schema, field["name"]).values())]
    return lines


def _rule_lines(schema: TableSchema, plan_start: dt.date) -> list[list[str]]:
    """The business rules checked on reception of this format (the code registry's words)."""
    context = {"labels": all_labels(schema), "plan_start": plan_start.strftime("%d/%m/%Y")}
    return [[sentence] for sentence in instructions_for(schema["name"], context)]


def _target_instructions(targets_schema: TableSchema, plan_start: dt.date) -> list[list[str]]:
    """The instructions of the « Cibles » sheet: what a target is, what to fill."""
    return [
        [],
        ["L'onglet « Cibles »"],
        [
            "Il liste les cibles chiffrées ou datées que le plan fixe aux actions de votre organisme, avec les "
            "mots du plan qui les énoncent, la valeur visée et l'échéance (cellules grisées, verrouillées). "
            "Indiquez pour chaque cible la valeur atteinte à la date du rapport ; laissez vide la ligne d'une "
            "cible sur laquelle vous ne rendez pas compte."
        ],
        [
            "Pour une autre date, utilisez une ligne libre sous les cibles et choisissez la cible dans la liste."
        ],
        *_column_lines(targets_schema),
        [],
        ["Règles vérifiées à la réception de l'onglet « Cibles »"],
        *_rule_lines(targets_schema, plan_start),
    ]


def _instructions(organisation: str, name: str, plan_start: dt.date, schema: TableSchema) -> list[list[str]]:
    return [
        [f"Rapport d'avancement du plan d'action national PGO 2021-2023 — {name} ({organisation})"],
        [],
        ["À quoi sert ce fichier"],
        [
            "Il sert à rendre compte de l'avancement des actions du plan dont votre organisme est "
            "responsable. L'onglet « Suivi » contient une ligne par action, déjà identifiée."
        ],
        [],
        ["Comment le remplir"],
        [
            "1. Dans l'onglet « Suivi », remplissez pour chaque action la date du rapport, le statut "
            "et, si possible, l'avancement, un commentaire et un lien vers une preuve. Une bulle "
            "d'aide s'affiche quand vous sélectionnez une cellule."
        ],
        ["2. Laissez vide la ligne d'une action sur laquelle vous ne rendez pas compte : elle est ignorée."],
        [
            "3. Pour rendre compte d'une même action à une autre date, utilisez une ligne libre sous "
            "les actions et choisissez l'action dans la liste de la première colonne."
        ],
        [
            "4. Ne renommez pas, ne supprimez pas et n'ajoutez pas de colonne, ne masquez ni ne fusionnez "
            "de cellules ; les cellules grisées sont verrouillées."
        ],
        ["5. Enregistrez au format .xlsx et renvoyez le fichier tel quel, par le même moyen que d'habitude."],
        [],
        ["Les colonnes"],
        *_column_lines(schema),
        *_value_lines(schema),
        [],
        ["Règles vérifiées à la réception"],
        *_rule_lines(schema, plan_start),
        ["Vous recevez en retour un rapport qui indique, ligne par ligne, ce qui est à corriger."],
    ]


def _check_of(field: dict[str, Any], plan_start: dt.date) -> Any:
    """The input check of a column, from its field's type and constraints (``None``: none).
    Its prompt is the field's ``x-aide``, its titles the field's title."""
    from openpyxl.worksheet.datavalidation import DataValidation

    kind, limits, title = field.get("type", "string"), field.get("constraints", {}), str(field.get("title"))
    start = plan_start.strftime("%d/%m/%Y")
    if field.get("categories"):
        options: dict[str, Any] = {
            "type": "list",
            "formula1": '"' + ",".join(str(c["label"]) for c in field["categories"]) + '"',
            "error": field.get("x-que-faire") or "Choisissez une valeur dans la liste.",
        }
    elif kind == "integer" and "minimum" in limits and "maximum" in limits:
        low, high = limits["minimum"], limits["maximum"]
        options = {
            "type": "whole",
            "operator": "between",
            "formula1": str(low),
            "formula2": str(high),
            "error": f"Un nombre entier de {low} à {high}.",
        }
    elif kind == "number" and "minimum" in limits:
        low = limits["minimum"]
        options = {
            "type": "decimal",
            "operator": "greaterThanOrEqual",
            "formula1": str(low),
            "error": "Un nombre positif ou nul, sans unité." if low == 0 else f"Un nombre d'au moins {low}.",
        }
    elif kind == "date":
        options = {
            "type": "date",
            "operator": "between",
            "formula1": f"DATE({plan_start.year},{plan_start.month},{plan_start.day})",
            "formula2": "TODAY()",
            "error": f"Une date entre le {start} et aujourd'hui, au format JJ/MM/AAAA.",
        }
    elif field.get("format") == "uri":
        options = {"type": "textLength", "operator": "lessThanOrEqual", "formula1": str(URL_MAX_LENGTH)}
    else:
        return None
    check = DataValidation(
        allow_blank=True, errorTitle=title, promptTitle=title, prompt=field.get("x-aide"), **options
    )
    check.showErrorMessage = check.showInputMessage = True  # without it Excel never shows the prompt
    return check


def _write_sheet(
    sheet: Any, schema: TableSchema, rows: list[list[str]], free_rows: int, plan_start: dt.date
) -> None:
    """One sheet of the template, as the schema's ``x-modele`` lays it out: the header of
    titles, one prefilled row per action or target (its identifier and the informational
    columns locked and greyed), free rows below for another date, whose identifier is chosen
    from the prefilled ones, and an input check per column from its field's schema."""
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    columns: list[TemplateColumn] = template_columns(schema)
    fields = {f["name"]: f for f in schema["fields"]}
    key = schema["fields"][0]["name"]  # the identifier every row starts with
    sheet.append([c.title for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    for row in rows:
        sheet.append([value or None for value in row])
    last = len(rows) + 1 + free_rows
    locked_fill = PatternFill("solid", fgColor="EEEEEE")
    for cells in sheet.iter_rows(min_row=2, max_row=last, max_col=len(columns)):
        for cell in cells:
            column = columns[cell.column - 1]
            prefilled = cell.row <= len(rows) + 1 and (column.informational or column.name == key)
            cell.protection = Protection(locked=prefilled or column.informational)
            if prefilled:
                cell.fill = locked_fill
            if not column.informational and fields[column.name].get("type") == "date":
                cell.number_format = "DD/MM/YYYY"
            if column.wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    # Frozen: the identifier and the columns shown beside it stay in view.
    shown = next(i for i, c in enumerate(columns) if i > 0 and not c.informational)
    sheet.freeze_panes = sheet.cell(2, shown + 1).coordinate
    subject = subject_of(fields[key])
    thing = subject.the if subject else "la valeur"
    choose = DataValidation(
        type="list",
        formula1='"' + ",".join(row[0] for row in rows) + '"',
        allow_blank=True,
        errorTitle=str(fields[key].get("title")),
        error=f"Choisissez {thing} dans la liste.",
        promptTitle=str(fields[key].get("title")),
        prompt=f"Pour une autre date : choisissez {thing} dans la liste.",
    )
    choose.showErrorMessage = choose.showInputMessage = True
    choose.add(f"A{len(rows) + 2}:A{last}")
    sheet.add_data_validation(choose)
    for index, column in enumerate(columns, start=1):
        if column.informational or column.name == key:
            continue
        check = _check_of(fields[column.name], plan_start)
        if check is not None:
            letter = get_column_letter(index)
            check.add(f"{letter}2:{letter}{last}")
            sheet.add_data_validation(check)
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False


def write_template_xlsx(
    path: Path,
    organisation: str,
    name: str,
    actions: list[TemplateAction],
    plan_start: dt.date,
    schema: TableSchema,
    targets: list[TargetFact] | None = None,
    targets_schema: TableSchema | None = None,
) -> None:
    """Writes the spreadsheet template of one body; with ``targets`` (and their format), a
    « Cibles » sheet to report the values reached of its actions' targets."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    instructions = workbook.active
    instructions.title = "Instructions"
    lines = _instructions(organisation, name, plan_start, schema)
    if targets and targets_schema is not None:
        lines += _target_instructions(targets_schema, plan_start)
    for line in lines:
        instructions.append(line)
    instructions["A1"].font = Font(bold=True, size=14)
    instructions.column_dimensions["A"].width = 18
    instructions.column_dimensions["B"].width = 120
    for row in instructions.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    rows = _prefilled(schema, [_action_cells(a) for a in actions])
    _write_sheet(workbook.create_sheet(DATA_SHEET), schema, rows, EXTRA_ROWS, plan_start)
    if targets and targets_schema is not None:
        target_rows = _prefilled(targets_schema, [_target_cells(t) for t in targets])
        _write_sheet(
            workbook.create_sheet(TARGETS_SHEET), targets_schema, target_rows, TARGET_FREE_ROWS, plan_start
        )

    marker = workbook.create_sheet(TEMPLATE_SHEET)
    marker.append([TEMPLATE_MARKER, organisation, TEMPLATE_VERSION])
    marker.sheet_state = "veryHidden"
    marker.protection.sheet = True
    workbook.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def _csv_bytes(schema: TableSchema, rows: list[list[str]]) -> bytes:
    """A CSV template: UTF-8 with BOM and semicolons, what French Excel opens as columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers(schema))
    writer.writerows(rows)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def template_csv_bytes(actions: list[TemplateAction], schema: TableSchema) -> bytes:
    """The CSV template: UTF-8 with BOM and semicolons, what French Excel opens as columns."""
    return _csv_bytes(schema, _prefilled(schema, [_action_cells(a) for a in actions]))


def template_targets_csv_bytes(targets: list[TargetFact], schema: TableSchema) -> bytes:
    """The CSV template of a body's targets: the « Cibles » sheet's columns and prefilled cells,
    UTF-8 with BOM and semicolons (a CSV holds one table: this one is read as targets)."""
    return _csv_bytes(schema, _prefilled(schema, [_target_cells(t) for t in targets]))


def write_template(
    path: Path,
    org: str,
    plan: PlanFacts,
    schema: TableSchema,
    targets_schema: TableSchema | None = None,
    *,
    targets_only: bool = False,
) -> list[TemplateAction]:
    """Writes the template of body ``org`` at ``path`` (.xlsx, recommended, or .csv): one
    prefilled row per action it may report on. Returns those actions. ``targets_only``: the CSV
    template of the body's targets instead (the xlsx already has them in its « Cibles » sheet).

    An unknown body, a body without actions or another suffix is a :class:`ConfigError`
    that lists what is possible; nothing is written then."""
    if org not in plan.organisations:
        raise ConfigError(
            f"Organisme inconnu : « {org} ».",
            hint="Choisissez l'identifiant d'un organisme du plan : "
            + ", ".join(sorted(plan.organisations))
            + ".",
        )
    actions = [TemplateAction(a, plan.action_titles.get(a, "")) for a in sorted(plan.actions_of(org))]
    if not actions:
        raise ConfigError(f"{org} n'est responsable d'aucune action du plan.")
    suffix = path.suffix.lower()
    if targets_only:
        targets = plan.targets_of(org)
        if suffix != ".csv" or targets_schema is None:
            raise ConfigError(
                "Le modèle des cibles seul s'écrit en .csv : le modèle .xlsx contient déjà l'onglet Cibles.",
                hint="Donnez à --out un nom qui finit par .csv, ou retirez --cibles.",
            )
        if not targets:
            raise ConfigError(f"Le plan ne fixe aucune cible chiffrée ou datée aux actions de {org}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(template_targets_csv_bytes(targets, targets_schema))
        return actions
    if suffix == ".xlsx":
        write_template_xlsx(
            path,
            org,
            plan.organisation_names.get(org, org),
            actions,
            plan.start,
            schema,
            plan.targets_of(org),
            targets_schema,
        )
    elif suffix == ".csv":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(template_csv_bytes(actions, schema))
    else:
        raise ConfigError(
            "Le modèle s'écrit en .xlsx ou en .csv.",
            hint="Donnez à --out un nom qui finit par .xlsx (recommandé) ou .csv.",
        )
    return actions
