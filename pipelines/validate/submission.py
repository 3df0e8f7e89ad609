"""Validate stage: one received submission, from bytes to a verdict, its report and its rows.

Read (xlsx or CSV) → normalise (unambiguous corrections) → frictionless (schema, keys, the
foreign key to the plan) → great-expectations (rules across cells, rows and reports).
Each step adds findings; the file is accepted when no finding is an error. Nothing here
writes files or knows where the bytes came from beyond what the report must say.

A submission holds two tables at most: the progress of actions (the « Suivi » sheet, or a
CSV of that format) and the values reached of targets (the template's « Cibles » sheet, or
a CSV whose header is the targets format's). Both go through the same steps; findings on
the « Cibles » sheet name it (``table``). One error anywhere rejects the whole file: the
person corrects and sends one file, as they filled one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from dataclasses import dataclass, field

from pipelines.core.problems import Problem, Severity, error, shown, warning
from pipelines.core.schema import TableSchema
from pipelines.core.text import match_key
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.gather.submissions.read import (
    DEFAULT_LIMITS,
    TARGETS_SHEET,
    Limits,
    SheetTable,
    parse_submission_file,
    parse_target_sheet,
    too_large,
)
from pipelines.state.received import Received
from pipelines.validate.normalise import INFORMATIONAL_COLUMNS, NormalisedSubmission, normalise_submission
from pipelines.validate.report import SubmissionReport
from pipelines.validate.rules import RuleContext, TargetRuleContext, check_business_rules, check_target_rules
from pipelines.validate.schema_check import check_submission_schema

# The targets sheet's columns shown to help the person (the target as the plan states it).
TARGET_INFORMATIONAL_COLUMNS = frozenset({"Citation du plan", "Unité", "Valeur visée", "Échéance"})

TargetHistory = tuple[tuple[str, str, float | None], ...]


@dataclass
class ValidatedSubmission:
    """A file's report, and its canonical rows of each table when it is accepted."""

    report: SubmissionReport
    rows: list[dict[str, str]]
    target_rows: list[dict[str, str]] = field(default_factory=list)


def _known_columns(schema: TableSchema, informational: frozenset[str] = INFORMATIONAL_COLUMNS) -> set[str]:
    keys = {match_key(c).replace(" ", "_") for c in informational}
    for f in schema["fields"]:
        keys.add(match_key(f["name"]).replace(" ", "_"))
        keys.add(match_key(f.get("title", f["name"])).replace(" ", "_"))
    return keys


def _is_targets_table(sheet: SheetTable, targets_schema: TableSchema) -> bool:
    """Whether a file's one table is in the targets format: its header names the target
    identifier and no action identifier (a CSV holds one table)."""
    keys = {match_key(c).replace(" ", "_") for c in sheet.header}
    target_key = targets_schema["fields"][0]
    names = {match_key(target_key["name"]).replace(" ", "_"), match_key(target_key.get("title", "")).replace(" ", "_")}
    return bool(keys & names) and not keys & {"id_action", "action"}


def _validate_targets(sheet: SheetTable, schema: TableSchema, plan: PlanFacts, org: str | None, *,
                      today: dt.date, history: TargetHistory, in_sheet: bool) -> NormalisedSubmission:
    """The targets table of a file, normalised and checked (schema, then rules); findings on
    the workbook's « Cibles » sheet say so."""
    normalised = normalise_submission(sheet, schema, TARGET_INFORMATIONAL_COLUMNS)
    findings = [*sheet.findings, *normalised.findings]
    schema_findings = check_submission_schema(normalised, schema, {"cibles": sorted(plan.targets)})
    normalised.reported |= {(f.row, f.field) for f in schema_findings if f.row and f.field}
    findings += schema_findings
    context = TargetRuleContext(
        plan_start=plan.start, today=today, organisation=org,
        responsible_actions=plan.actions_of(org) if org else frozenset(),
        targets={t.id_cible: (t.id_action, t.nature) for t in plan.targets.values()},
        history=history, responsible_bodies=plan.responsible_for)
    findings += check_target_rules(normalised, context)
    if in_sheet:
        findings = [dataclasses.replace(f, table=TARGETS_SHEET) for f in findings]
    normalised.findings = findings
    return normalised


def _attribution_fix(received: Received) -> str:
    """How to attribute a file, by where it came from."""
    if received.origin.startswith(("depot:", "exemple:")):
        return ("Déplacez le fichier dans le dossier de l'organisme qui l'a envoyé, nommé par son "
                "identifiant dans la table organisations du plan (par exemple ditp/), puis "
                "relancez la collecte ; ou demandez-lui de remplir son modèle.")
    if received.origin.startswith("fichier:"):
        return "Indiquez l'organisme qui rend compte (--org, par exemple --org ditp)."
    return "Indiquez l'organisme de cette adresse (urls[].organisation dans dataset.yaml)."


def _organisation(received: Received, template_org: str | None, plan: PlanFacts) -> tuple[str | None, list[Problem]]:
    """The reporting body: the template's marker first, else what the source says.

    A file no body of the plan can be found for is an error: it is archived and reported,
    never published, so that no published row lacks its author or gets someone else's."""
    findings: list[Problem] = []
    org = template_org or received.organisation
    if template_org and received.organisation and template_org != received.organisation:
        findings.append(warning(
            "organisme-different",
            f"Le modèle a été préparé pour {template_org} mais le fichier vient de la source de "
            f"{received.organisation} ; c'est le modèle qui fait foi.",
            "Vérifiez que le bon organisme a rempli ce modèle.",
        ))
    if org is not None and org not in plan.organisations:
        where = (f"Le modèle indique l'organisme « {org} »" if template_org
                 else f"Le dossier ou la source « {org} » ne désigne")
        close = difflib.get_close_matches(org, sorted(plan.organisations), n=3, cutoff=0.5)
        by_name = [o for o, name in sorted(plan.organisation_names.items())
                   if org.replace("-", " ") in match_key(name)]
        hints = list(dict.fromkeys([*close, *by_name]))[:3]
        findings.append(error(
            "organisme-inconnu",
            (f"{where}, qui n'est pas un organisme du plan" if template_org else
             f"{where} aucun organisme du plan") + " : on ne sait pas qui rend compte. Le fichier "
            "est archivé, rien n'en est publié.",
            _attribution_fix(received) + (f" Identifiants proches : {', '.join(hints)}." if hints else ""),
            value=shown(org),
        ))
        return None, findings
    if org is None:
        findings.append(error(
            "organisme-non-identifie",
            "On ne sait pas quel organisme a envoyé ce fichier (ni modèle d'organisme, ni dossier "
            "d'organisme, ni source déclarée) : il est archivé, rien n'en est publié.",
            _attribution_fix(received),
        ))
    return org, findings


def validate_submission(
    received: Received,
    schema: TableSchema,
    plan: PlanFacts,
    *,
    today: dt.date,
    history: tuple[tuple[str, str, int | None], ...] = (),
    limits: Limits = DEFAULT_LIMITS,
    targets_schema: TableSchema | None = None,
    target_history: TargetHistory = (),
) -> ValidatedSubmission:
    """Every finding about one file; ``rows`` (progress) and ``target_rows`` (values reached
    of targets, when ``targets_schema`` is given) are its canonical rows when it is accepted."""
    report = SubmissionReport(
        file_name=received.name, sha256=received.sha256, size=received.byte_count,
        origin=received.origin, received_at=received.received_at,
        organisation=received.organisation, template_used=False, rows=0,
    )
    if received.path is not None:  # left on disk: over the limit, nothing to parse
        report.findings = [too_large(received.byte_count, limits.max_bytes)]
        return ValidatedSubmission(report, [])
    known = _known_columns(schema)
    if targets_schema is not None:
        known |= _known_columns(targets_schema, TARGET_INFORMATIONAL_COLUMNS)
    sheet, unreadable = parse_submission_file(received.name, received.content, known, limits)
    target_sheet: SheetTable | None = None
    in_targets_sheet = False  # read from the workbook's « Cibles » sheet: findings name it
    if targets_schema is not None:
        target_sheet, target_unreadable = parse_target_sheet(received.content, known, limits)
        unreadable += target_unreadable
        in_targets_sheet = target_sheet is not None
        if sheet is not None and target_sheet is None and _is_targets_table(sheet, targets_schema):
            sheet, target_sheet = None, sheet  # a CSV (or a lone sheet) of targets
    if (sheet is None and target_sheet is None) or unreadable:
        report.findings = unreadable or [error(
            "aucune-ligne", "Le classeur ne contient ni feuille « Suivi » ni feuille « Cibles ».",
            "Renvoyez le modèle rempli, sans renommer ses onglets.")]
        return ValidatedSubmission(report, [])
    template_org = next(t.template_org for t in (sheet, target_sheet) if t is not None)
    org, org_findings = _organisation(received, template_org, plan)
    report.organisation = org
    report.template_used = template_org is not None and template_org == org
    findings = list(org_findings)
    rows: list[dict[str, str]] = []
    if sheet is not None:
        normalised = normalise_submission(sheet, schema)
        # The reader names a cell's column by its header label; reports name the field.
        findings += [dataclasses.replace(f, field=normalised.names.get(f.field, f.field)) if f.field else f
                     for f in sheet.findings]
        findings += normalised.findings
        schema_findings = check_submission_schema(normalised, schema, {"actions": list(plan.action_ids)})
        normalised.reported |= {(f.row, f.field) for f in schema_findings if f.row and f.field}
        findings += schema_findings
        if normalised.rows:
            context = RuleContext(
                plan_start=plan.start, today=today, organisation=org,
                template_used=report.template_used,
                responsible_actions=plan.actions_of(org) if org else frozenset(),
                history=history, responsible_bodies=plan.responsible_for,
                present_columns=frozenset(normalised.present),
            )
            findings += check_business_rules(normalised, context)
        rows = normalised.rows
    target_rows: list[dict[str, str]] = []
    if target_sheet is not None and targets_schema is not None:
        targets = _validate_targets(target_sheet, targets_schema, plan, org, today=today,
                                    history=target_history, in_sheet=in_targets_sheet)
        findings += targets.findings
        target_rows = targets.rows
    if not rows and not target_rows and not any(f.severity == Severity.ERROR for f in findings):
        findings.append(error(
            "aucune-ligne", "Le fichier ne contient aucune ligne de suivi remplie.",
            "Remplissez au moins la date du rapport et le statut d'une action (ou la date et la valeur "
            "atteinte d'une cible), puis renvoyez le fichier.",
        ))
    report.findings = findings
    report.rows = len(rows)
    report.target_rows = len(target_rows)
    accepted = report.accepted
    return ValidatedSubmission(report, rows if accepted else [], target_rows if accepted else [])
