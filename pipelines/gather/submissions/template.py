"""Gather stage (upstream end): the progress templates stewards send to each body.

A template is the submission contract made concrete for one body: one prefilled row per
action it is responsible for (identifier and title locked), drop-downs and input checks
that stop most mistakes at typing time, and instructions in French. The xlsx template
carries a hidden marker with the body's identifier, so that a returned file says who
reports without relying on its name or where it was dropped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.errors import ConfigError
from pipelines.core.schema import TableSchema
from pipelines.core.vocabulary import labels
from pipelines.gather.submissions.plan_facts import PlanFacts, TargetFact
from pipelines.gather.submissions.read import (
    DATA_SHEET,
    TARGETS_SHEET,
    TEMPLATE_MARKER,
    TEMPLATE_SHEET,
)

TEMPLATE_VERSION = "1"
EXTRA_ROWS = 100  # free rows for a second report date on an action
COLUMNS = (
    "id_action",
    "titre_action",
    "date_rapport",
    "statut",
    "avancement_pct",
    "commentaire",
    "preuve_url",
)
WIDTHS = {
    "id_action": 12,
    "titre_action": 60,
    "date_rapport": 14,
    "statut": 24,
    "avancement_pct": 16,
    "commentaire": 60,
    "preuve_url": 45,
}
TITLE_COLUMN = "Titre de l'action"
# The « Cibles » sheet: the target as the plan states it (locked, not read back), then what
# the body fills. The shown titles are the validator's informational columns.
TARGET_SHOWN = ("Citation du plan", "Valeur visée", "Unité", "Échéance")
TARGET_FILLED = ("date_rapport", "valeur_atteinte", "commentaire", "preuve_url")
TARGET_WIDTHS = (15, 70, 12, 30, 12, 14, 16, 50, 40)
TARGET_FREE_ROWS = 30  # for a second report date on a target


def _number_fr(value: float | None) -> str:
    if value is None:
        return ""
    return (
        f"{value:,.0f}".replace(",", "\u202f") if float(value).is_integer() else str(value).replace(".", ",")
    )


def _deadline_fr(deadline: str | None) -> str:
    return dt.date.fromisoformat(deadline).strftime("%d/%m/%Y") if deadline else ""


def _target_header(schema: TableSchema) -> list[str]:
    """The « Cibles » sheet's header: the target's identifier, the plan's words, then what to fill."""
    titles = {f["name"]: f.get("title", f["name"]) for f in schema["fields"]}
    return [titles["id_cible"], *TARGET_SHOWN, *(titles[c] for c in TARGET_FILLED)]


def _target_shown(target: TargetFact) -> list[str]:
    """A target's prefilled cells: its identifier and the plan's words (quote, value, unit, deadline)."""
    value = "jalon" if target.nature == "jalon" else _number_fr(target.value)
    return [target.id_cible, target.citation, value, target.unit or "", _deadline_fr(target.deadline)]


def headers(schema: TableSchema) -> list[str]:
    """The template's header: the French title of each column (the reader maps titles back
    to the format's names), so that the people who fill it read words, not codes."""
    titles = {f["name"]: f.get("title", f["name"]) for f in schema["fields"]}
    return [TITLE_COLUMN if c == "titre_action" else titles[c] for c in COLUMNS]


@dataclass(frozen=True)
class TemplateAction:
    """One prefilled row of a template: an action the body may report on, and its title (not published)."""

    id_action: str
    title: str


def _target_instructions(targets_schema: TableSchema) -> list[list[str]]:
    """The instructions of the « Cibles » sheet: what a target is, what to fill."""
    fields = {f["name"]: f for f in targets_schema["fields"]}
    lines = [
        [],
        ["L'onglet « Cibles »"],
        [
            "Il liste les cibles chiffrées ou datées que le plan fixe aux actions de votre organisme, avec les "
            "mots du plan qui les énoncent, la valeur visée et l'échéance (cellules grisées, verrouillées). "
            "Indiquez pour chaque cible la valeur atteinte à la date du rapport ; laissez vide la ligne d'une "
            "cible sur laquelle vous ne rendez pas compte."
        ],
        ["Un jalon (une livraison à une date, sans chiffre) vaut 1 quand il est franchi, 0 sinon."],
        [
            "Pour une autre date, utilisez une ligne libre sous les cibles et choisissez la cible dans la liste."
        ],
    ]
    for column in TARGET_FILLED:
        field = fields[column]
        required = "obligatoire" if field.get("constraints", {}).get("required") else "facultatif"
        lines.append([field.get("title", column), f"{required.capitalize()}. {field['description']}"])
    lines.append(
        [
            "Règle vérifiée à la réception",
            "Une valeur atteinte qui baisse par rapport au rapport précédent est expliquée dans le commentaire.",
        ]
    )
    return lines


def _instructions(organisation: str, name: str, plan_start: dt.date, schema: TableSchema) -> list[list[str]]:
    fields = {f["name"]: f for f in schema["fields"]}
    statuses = labels(schema, "statut")
    lines = [
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
    ]
    for column, title in zip(COLUMNS, headers(schema), strict=True):
        if column == "titre_action":
            lines.append([title, "Titre de l'action (pour information, non publié)."])
            continue
        field = fields[column]
        required = "obligatoire" if field.get("constraints", {}).get("required") else "facultatif"
        lines.append([title, f"{required.capitalize()}. {field['description']}"])
    lines += [
        [],
        ["Les statuts (échelle du Mécanisme d'évaluation indépendant du PGO)"],
        *([label] for label in statuses.values()),
        [],
        ["Règles vérifiées à la réception"],
        [f"Un statut « {statuses['complet']} » va avec un avancement de 100 et un lien vers une preuve."],
        [f"Un statut « {statuses['non_commence']} » va avec un avancement de 0 ou vide."],
        [f"La date du rapport est comprise entre le {plan_start.strftime('%d/%m/%Y')} et aujourd'hui."],
        ["Un avancement qui recule par rapport au rapport précédent est expliqué dans le commentaire."],
        ["Vous recevez en retour un rapport qui indique, ligne par ligne, ce qui est à corriger."],
    ]
    return lines


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
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    instructions = workbook.active
    instructions.title = "Instructions"
    lines = _instructions(organisation, name, plan_start, schema)
    if targets and targets_schema is not None:
        lines += _target_instructions(targets_schema)
    for line in lines:
        instructions.append(line)
    instructions["A1"].font = Font(bold=True, size=14)
    instructions.column_dimensions["A"].width = 18
    instructions.column_dimensions["B"].width = 120
    for row in instructions.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    sheet = workbook.create_sheet(DATA_SHEET)
    sheet.append(headers(schema))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    for action in actions:
        sheet.append([action.id_action, action.title])
    last = len(actions) + 1 + EXTRA_ROWS
    locked_fill = PatternFill("solid", fgColor="EEEEEE")
    for row in sheet.iter_rows(min_row=2, max_row=last, max_col=len(COLUMNS)):
        for cell in row:
            prefilled = cell.row <= len(actions) + 1 and cell.column <= 2
            cell.protection = Protection(locked=prefilled)
            if prefilled:
                cell.fill = locked_fill
            if COLUMNS[cell.column - 1] == "date_rapport":
                cell.number_format = "DD/MM/YYYY"
            if COLUMNS[cell.column - 1] in ("titre_action", "commentaire"):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = WIDTHS[column]
    sheet.freeze_panes = "C2"

    def column_range(column: str) -> str:
        letter = sheet.cell(1, COLUMNS.index(column) + 1).column_letter
        return f"{letter}2:{letter}{last}"

    statuses = list(labels(schema, "statut").values())  # the reader maps each label to its code
    free_rows = f"A{len(actions) + 2}:A{last}"
    checks = [
        (
            "statut",
            DataValidation(
                type="list",
                formula1='"' + ",".join(statuses) + '"',
                allow_blank=True,
                errorTitle="Statut",
                error="Choisissez un statut dans la liste.",
                promptTitle="Statut",
                prompt="Échelle du PGO : choisissez dans la liste.",
            ),
        ),
        (
            "avancement_pct",
            DataValidation(
                type="whole",
                operator="between",
                formula1="0",
                formula2="100",
                allow_blank=True,
                errorTitle="Avancement",
                error="Un pourcentage entier de 0 à 100.",
                promptTitle="Avancement (%)",
                prompt="Un nombre entier de 0 à 100, sans le signe %.",
            ),
        ),
        (
            "date_rapport",
            DataValidation(
                type="date",
                operator="between",
                formula1=f"DATE({plan_start.year},{plan_start.month},{plan_start.day})",
                formula2="TODAY()",
                allow_blank=True,
                errorTitle="Date du rapport",
                error=f"Une date entre le {plan_start.strftime('%d/%m/%Y')} et aujourd'hui, "
                "au format JJ/MM/AAAA.",
                promptTitle="Date du rapport",
                prompt="La date à laquelle l'avancement est constaté, au format JJ/MM/AAAA.",
            ),
        ),
        (
            "preuve_url",
            DataValidation(
                type="textLength",
                operator="lessThanOrEqual",
                formula1="2000",
                allow_blank=True,
                promptTitle="Preuve",
                prompt="Adresse complète, commençant par https://",
            ),
        ),
    ]
    # The free rows (another report date on an action): the body's actions in a list, so
    # that identifiers are chosen, not retyped.
    own = DataValidation(
        type="list",
        formula1='"' + ",".join(a.id_action for a in actions) + '"',
        allow_blank=True,
        errorTitle="Action",
        error="Choisissez l'une de vos actions.",
        promptTitle="Action",
        prompt="Pour une autre date : choisissez l'action dans la liste.",
    )
    own.showErrorMessage = own.showInputMessage = True
    own.add(free_rows)
    sheet.add_data_validation(own)
    for column, check in checks:
        check.showErrorMessage = True
        check.showInputMessage = True  # without it Excel never shows the prompt
        check.add(column_range(column))
        sheet.add_data_validation(check)
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False

    if targets and targets_schema is not None:
        _write_targets_sheet(workbook, targets, targets_schema, plan_start)

    marker = workbook.create_sheet(TEMPLATE_SHEET)
    marker.append([TEMPLATE_MARKER, organisation, TEMPLATE_VERSION])
    marker.sheet_state = "veryHidden"
    marker.protection.sheet = True
    workbook.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def _write_targets_sheet(
    workbook: Any, targets: list[TargetFact], schema: TableSchema, plan_start: dt.date
) -> None:
    """The « Cibles » sheet: one locked row per target (identifier and the plan's words),
    cells to fill with input checks, and free rows for another date."""
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    sheet = workbook.create_sheet(TARGETS_SHEET)
    sheet.append(_target_header(schema))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    for target in targets:
        sheet.append(_target_shown(target))
    shown = 1 + len(TARGET_SHOWN)
    last = len(targets) + 1 + TARGET_FREE_ROWS
    locked_fill = PatternFill("solid", fgColor="EEEEEE")
    for row in sheet.iter_rows(min_row=2, max_row=last, max_col=shown + len(TARGET_FILLED)):
        for cell in row:
            prefilled = cell.row <= len(targets) + 1 and cell.column <= shown
            cell.protection = Protection(locked=prefilled or (cell.column <= shown and cell.column > 1))
            if prefilled:
                cell.fill = locked_fill
            if cell.column == 2 or cell.column == shown + 3:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            if cell.column == shown + 1:
                cell.number_format = "DD/MM/YYYY"
    for index, width in enumerate(TARGET_WIDTHS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = width
    sheet.freeze_panes = sheet.cell(2, shown + 1).coordinate

    def letter(column: int) -> str:
        return str(sheet.cell(1, column).column_letter)

    date_col, value_col, proof_col = letter(shown + 1), letter(shown + 2), letter(shown + 4)
    checks = [
        (
            f"{date_col}2:{date_col}{last}",
            DataValidation(
                type="date",
                operator="between",
                formula1=f"DATE({plan_start.year},{plan_start.month},{plan_start.day})",
                formula2="TODAY()",
                allow_blank=True,
                errorTitle="Date du rapport",
                error=f"Une date entre le {plan_start.strftime('%d/%m/%Y')} et aujourd'hui, au format JJ/MM/AAAA.",
                promptTitle="Date du rapport",
                prompt="La date à laquelle la valeur est constatée, au format JJ/MM/AAAA.",
            ),
        ),
        (
            f"{value_col}2:{value_col}{last}",
            DataValidation(
                type="decimal",
                operator="greaterThanOrEqual",
                formula1="0",
                allow_blank=True,
                errorTitle="Valeur atteinte",
                error="Un nombre positif ou nul, sans unité.",
                promptTitle="Valeur atteinte",
                prompt="Un nombre dans l'unité de la cible ; pour un jalon, 1 s'il est franchi, 0 sinon.",
            ),
        ),
        (
            f"{proof_col}2:{proof_col}{last}",
            DataValidation(
                type="textLength",
                operator="lessThanOrEqual",
                formula1="2000",
                allow_blank=True,
                promptTitle="Preuve",
                prompt="Adresse complète, commençant par https://",
            ),
        ),
        (
            f"A{len(targets) + 2}:A{last}",
            DataValidation(
                type="list",
                formula1='"' + ",".join(t.id_cible for t in targets) + '"',
                allow_blank=True,
                errorTitle="Cible",
                error="Choisissez l'une de vos cibles.",
                promptTitle="Cible",
                prompt="Pour une autre date : choisissez la cible dans la liste.",
            ),
        ),
    ]
    for cells, check in checks:
        check.showErrorMessage = check.showInputMessage = True
        check.add(cells)
        sheet.add_data_validation(check)
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False


def template_csv_bytes(actions: list[TemplateAction], schema: TableSchema) -> bytes:
    """The CSV template: UTF-8 with BOM and semicolons, what French Excel opens as columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers(schema))
    for action in actions:
        writer.writerow([action.id_action, action.title, "", "", "", "", ""])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def template_targets_csv_bytes(targets: list[TargetFact], schema: TableSchema) -> bytes:
    """The CSV template of a body's targets: the « Cibles » sheet's columns and prefilled cells,
    UTF-8 with BOM and semicolons (a CSV holds one table: this one is read as targets)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(_target_header(schema))
    for target in targets:
        writer.writerow([*_target_shown(target), *([""] * len(TARGET_FILLED))])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


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
