"""Validate stage: a normalised submission checked by frictionless against its Table Schema.

Frictionless is the reference for types, constraints, the primary key and the foreign
key to the plan (its ``actions`` for a progress sheet, its ``cibles`` for a targets
sheet): the submission and the plan's table are validated as one package. Its errors keep their frictionless codes and are told again in French with
the spreadsheet's row numbers and a fix for each field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import frictionless

from pipelines.core.problems import Problem, constraint_of, error, shown
from pipelines.core.schema import TableSchema
from pipelines.core.vocabulary import described, fix_of
from pipelines.validate.normalise import NormalisedSubmission
from pipelines.validate.package import UNLIMITED_ERRORS

SUBMISSION_RESOURCE = "soumission"
_SAME_AS_ROW = re.compile(r"position (\d+)")

# How a report names the thing a key value identifies (its primary key's first field).
_SUBJECT = {"id_action": ("L'action", "action", "E1-A1-01"), "id_cible": ("La cible", "cible", "E3-A1-01-C1")}

_DATE_WITH_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})[ T](\d{1,2}:\d{2})(:\d{2})?$")


def _type_finding(field: dict[str, Any], value: str, row: int) -> Problem:
    name, kind = field["name"], field.get("type", "string")
    timed = _DATE_WITH_TIME.match(value) if kind == "date" else None
    if timed:
        rule, fix = (
            f"La date contient une heure ({timed.group(2)}) : la colonne attend une date seule.",
            f"Gardez seulement la date ({timed.group(1)}) : dans le tableur, choisissez le format "
            "de cellule Date courte, ou effacez l'heure.",
        )
    elif kind == "date":
        rule, fix = (
            f"« {value} » n'est pas une date valide.",
            "Écrivez la date au format AAAA-MM-JJ ou JJ/MM/AAAA, par exemple 31/12/2022.",
        )
    elif kind == "integer":
        rule, fix = (
            f"« {value} » n'est pas un nombre entier.",
            "Écrivez un pourcentage entier de 0 à 100, sans décimale ni texte (par exemple 60).",
        )
    elif kind == "number":
        rule, fix = (
            f"« {value} » n'est pas un nombre.",
            "Écrivez un nombre seul, sans unité ni texte, avec une virgule pour les décimales "
            "(par exemple 2500 ou 12,5) ; pour un jalon, 1 s'il est franchi, 0 sinon.",
        )
    elif field.get("format") == "uri":
        rule, fix = (
            f"« {value} » n'est pas une adresse web valide.",
            "Copiez l'adresse complète depuis la barre d'adresse du navigateur, en commençant par https://.",
        )
    else:
        rule, fix = (
            f"« {value} » n'a pas le type attendu ({kind}).",
            "Corrigez la valeur d'après la description de la colonne dans l'onglet Instructions.",
        )
    return error("type-error", rule, fix, row=row, field=name, value=shown(value))


def _constraint_finding(field: dict[str, Any], constraint: str, value: str, row: int) -> Problem:
    name = field["name"]
    title = field.get("title", name)
    if constraint == "required":
        rule = f"La colonne « {name} » ({title}) est obligatoire et la cellule est vide."
        fix = fix_of(field, "Remplissez la cellule.")
    elif constraint == "enum":
        rule = f"« {value} » n'est pas un statut de l'échelle du PGO."
        fix = f"Choisissez l'une des valeurs : {described(field)}."
    elif constraint == "minimum" and "maximum" not in field["constraints"]:
        rule = f"{value} est inférieur au minimum autorisé ({field['constraints']['minimum']})."
        fix = "Une valeur atteinte ne peut pas être négative : indiquez la valeur constatée."
    elif constraint in ("minimum", "maximum"):
        low = field["constraints"].get("minimum")
        high = field["constraints"].get("maximum")
        rule = f"{value} est hors de l'intervalle autorisé ({low} à {high})."
        fix = f"Indiquez un pourcentage entier de {low} à {high}."
    elif constraint == "pattern" and name == "id_action":
        rule = f"« {value} » n'a pas la forme d'un identifiant d'action (E1-A1-01)."
        fix = "Recopiez l'identifiant depuis le modèle : E, le numéro d'engagement, -A, le numéro d'ambition, puis le rang sur deux chiffres."
    elif constraint == "pattern" and name == "id_cible":
        rule = f"« {value} » n'a pas la forme d'un identifiant de cible (E3-A1-01-C1)."
        fix = (
            "Recopiez l'identifiant depuis l'onglet Cibles du modèle : l'identifiant de l'action, "
            "puis -C et le rang de la cible."
        )
    elif constraint == "pattern" and name == "preuve_url":
        rule = f"« {value} » n'est pas une adresse web commençant par http:// ou https:// (sans espace)."
        fix = "Copiez l'adresse complète depuis la barre d'adresse du navigateur."
    elif constraint == "maxLength":
        limit = field["constraints"]["maxLength"]
        rule = f"Le texte compte {len(value)} caractères ; la limite est de {limit}."
        fix = "Raccourcissez le texte et placez le détail dans le document de preuve."
    else:
        rule = f"La valeur ne respecte pas la contrainte « {constraint} » de la colonne « {name} »."
        fix = "Corrigez la valeur d'après la description de la colonne dans l'onglet Instructions."
    return error("constraint-error", rule, fix, row=row, field=name, value=shown(value))


def check_submission_schema(
    submission: NormalisedSubmission, schema: TableSchema, references: Sequence[str]
) -> list[Problem]:
    """Frictionless errors as findings; cells reported by normalisation are not reported twice.

    ``references`` are the values of the plan's table the schema's foreign key points at
    (its ``actions``' identifiers, or its ``cibles``')."""
    if not submission.rows:
        return []
    fields = {f["name"]: f for f in schema["fields"]}
    names = submission.fields
    data = [names, *([row[n] for n in names] for row in submission.rows)]
    descriptor = {k: v for k, v in schema.items() if k != "$schema"}
    (foreign_key,) = schema["foreignKeys"]  # a submission refers to one table of the plan
    table, column = foreign_key["reference"]["resource"], foreign_key["reference"]["fields"][0]
    package = frictionless.Package(
        resources=[
            frictionless.Resource(
                name=SUBMISSION_RESOURCE, data=data, schema=frictionless.Schema.from_descriptor(descriptor)
            ),
            frictionless.Resource(name=table, data=[[column], *([value] for value in references)]),
        ]
    )
    key, date = schema["primaryKey"]
    subject, noun, example = _SUBJECT[key]
    report = package.validate(checklist=frictionless.Checklist(), limit_errors=UNLIMITED_ERRORS)

    def sheet_row(row_number: int) -> int:
        return submission.sheet_rows[row_number - 2]

    findings: list[Problem] = []
    key_cells_missing: set[int] = set()
    for task in report.tasks:
        if task.name != SUBMISSION_RESOURCE:
            continue
        for err in task.errors:
            number = getattr(err, "row_number", None)
            if number is None:
                findings.append(
                    error(
                        err.type,
                        f"Erreur de structure : {err.message}",
                        "Repartez du modèle envoyé par l'équipe du plan, sans en modifier l'en-tête.",
                    )
                )
                continue
            row = sheet_row(number)
            name = getattr(err, "field_name", None)
            value = "" if getattr(err, "cell", None) is None else str(err.cell)
            if name:
                value = submission.as_written(row, name, value)
            if name and ((row, name) in submission.reported or (row, "*") in submission.reported):
                continue
            if err.type == "type-error" and name:
                findings.append(_type_finding(fields[name], value, row))
            elif err.type == "constraint-error" and name:
                constraint = constraint_of(err) or "?"
                if constraint == "required" and name in (key, date):
                    key_cells_missing.add(row)
                findings.append(_constraint_finding(fields[name], constraint, value, row))
            elif err.type == "primary-key":
                if row in key_cells_missing:
                    continue
                cells = submission.rows[number - 2]
                first = _SAME_AS_ROW.search(err.note or "")
                where = f" (ligne {sheet_row(int(first.group(1)))})" if first else ""
                findings.append(
                    error(
                        "primary-key",
                        f"{subject} {cells[key]} a déjà un rapport daté du "
                        f"{cells[date]} dans ce fichier{where}.",
                        f"Gardez une seule ligne par {noun} et par date : supprimez le doublon ou "
                        "corrigez la date.",
                        row=row,
                        field=f"{key}, {date}",
                        value=shown(f"{cells[key]} / {cells[date]}"),
                    )
                )
            elif err.type == "foreign-key":
                value = submission.rows[number - 2][key]
                findings.append(
                    error(
                        "foreign-key",
                        f"{subject} « {value} » n'existe pas dans le plan d'action 2021-2023 (table {table}).",
                        "Recopiez l'identifiant depuis le modèle envoyé par l'équipe du plan ou depuis la table "
                        f"{table} du plan (par exemple {example}).",
                        row=row,
                        field=key,
                        value=shown(value),
                    )
                )
            else:
                findings.append(
                    error(
                        err.type,
                        f"Erreur frictionless : {err.message}",
                        "Corrigez la cellule indiquée.",
                        row=row,
                        field=name,
                        value=shown(value) if value else None,
                    )
                )
    return findings
