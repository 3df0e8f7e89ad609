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

from pipelines.core.errors import ConfigError
from pipelines.core.schema import TableSchema
from pipelines.core.vocabulary import labels
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.gather.submissions.read import (
    DATA_SHEET,
    TEMPLATE_MARKER,
    TEMPLATE_SHEET,
)

TEMPLATE_VERSION = "1"
EXTRA_ROWS = 100  # free rows for a second report date on an action
COLUMNS = ("id_action", "titre_action", "date_rapport", "statut", "avancement_pct",
           "commentaire", "preuve_url")
WIDTHS = {"id_action": 12, "titre_action": 60, "date_rapport": 14, "statut": 24,
          "avancement_pct": 16, "commentaire": 60, "preuve_url": 45}
TITLE_COLUMN = "Titre de l'action"


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


def _instructions(organisation: str, name: str, plan_start: dt.date, schema: TableSchema) -> list[list[str]]:
    fields = {f["name"]: f for f in schema["fields"]}
    statuses = labels(schema, "statut")
    lines = [
        [f"Rapport d'avancement du plan d'action national PGO 2021-2023 — {name} ({organisation})"],
        [],
        ["À quoi sert ce fichier"],
        ["Il sert à rendre compte de l'avancement des actions du plan dont votre organisme est "
         "responsable. L'onglet « Suivi » contient une ligne par action, déjà identifiée."],
        [],
        ["Comment le remplir"],
        ["1. Dans l'onglet « Suivi », remplissez pour chaque action la date du rapport, le statut "
         "et, si possible, l'avancement, un commentaire et un lien vers une preuve. Une bulle "
         "d'aide s'affiche quand vous sélectionnez une cellule."],
        ["2. Laissez vide la ligne d'une action sur laquelle vous ne rendez pas compte : elle est ignorée."],
        ["3. Pour rendre compte d'une même action à une autre date, utilisez une ligne libre sous "
         "les actions et choisissez l'action dans la liste de la première colonne."],
        ["4. Ne renommez pas, ne supprimez pas et n'ajoutez pas de colonne, ne masquez ni ne fusionnez "
         "de cellules ; les cellules grisées sont verrouillées."],
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
    path: Path, organisation: str, name: str, actions: list[TemplateAction],
    plan_start: dt.date, schema: TableSchema,
) -> None:
    """Writes the spreadsheet template of one body."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    instructions = workbook.active
    instructions.title = "Instructions"
    for line in _instructions(organisation, name, plan_start, schema):
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
        ("statut", DataValidation(type="list", formula1='"' + ",".join(statuses) + '"',
                                  allow_blank=True, errorTitle="Statut",
                                  error="Choisissez un statut dans la liste.",
                                  promptTitle="Statut", prompt="Échelle du PGO : choisissez dans la liste.")),
        ("avancement_pct", DataValidation(type="whole", operator="between", formula1="0",
                                          formula2="100", allow_blank=True,
                                          errorTitle="Avancement", error="Un pourcentage entier de 0 à 100.",
                                          promptTitle="Avancement (%)",
                                          prompt="Un nombre entier de 0 à 100, sans le signe %.")),
        ("date_rapport", DataValidation(
            type="date", operator="between",
            formula1=f"DATE({plan_start.year},{plan_start.month},{plan_start.day})",
            formula2="TODAY()", allow_blank=True, errorTitle="Date du rapport",
            error=f"Une date entre le {plan_start.strftime('%d/%m/%Y')} et aujourd'hui, "
            "au format JJ/MM/AAAA.", promptTitle="Date du rapport",
            prompt="La date à laquelle l'avancement est constaté, au format JJ/MM/AAAA.")),
        ("preuve_url", DataValidation(type="textLength", operator="lessThanOrEqual",
                                      formula1="2000", allow_blank=True,
                                      promptTitle="Preuve",
                                      prompt="Adresse complète, commençant par https://")),
    ]
    # The free rows (another report date on an action): the body's actions in a list, so
    # that identifiers are chosen, not retyped.
    own = DataValidation(type="list", formula1='"' + ",".join(a.id_action for a in actions) + '"',
                         allow_blank=True, errorTitle="Action", error="Choisissez l'une de vos actions.",
                         promptTitle="Action", prompt="Pour une autre date : choisissez l'action dans la liste.")
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

    marker = workbook.create_sheet(TEMPLATE_SHEET)
    marker.append([TEMPLATE_MARKER, organisation, TEMPLATE_VERSION])
    marker.sheet_state = "veryHidden"
    marker.protection.sheet = True
    workbook.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def template_csv_bytes(actions: list[TemplateAction], schema: TableSchema) -> bytes:
    """The CSV template: UTF-8 with BOM and semicolons, what French Excel opens as columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers(schema))
    for action in actions:
        writer.writerow([action.id_action, action.title, "", "", "", "", ""])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def write_template(path: Path, org: str, plan: PlanFacts, schema: TableSchema) -> list[TemplateAction]:
    """Writes the template of body ``org`` at ``path`` (.xlsx, recommended, or .csv): one
    prefilled row per action it may report on. Returns those actions.

    An unknown body, a body without actions or another suffix is a :class:`ConfigError`
    that lists what is possible; nothing is written then."""
    if org not in plan.organisations:
        raise ConfigError(f"Organisme inconnu : « {org} ».",
                          hint="Choisissez l'identifiant d'un organisme du plan : " + ", ".join(sorted(plan.organisations)) + ".")
    actions = [TemplateAction(a, plan.action_titles.get(a, "")) for a in sorted(plan.actions_of(org))]
    if not actions:
        raise ConfigError(f"{org} n'est responsable d'aucune action du plan.")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        write_template_xlsx(path, org, plan.organisation_names.get(org, org), actions, plan.start, schema)
    elif suffix == ".csv":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(template_csv_bytes(actions, schema))
    else:
        raise ConfigError("Le modèle s'écrit en .xlsx ou en .csv.",
                          hint="Donnez à --out un nom qui finit par .xlsx (recommandé) ou .csv.")
    return actions
