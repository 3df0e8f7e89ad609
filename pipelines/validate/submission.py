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
from collections.abc import Sequence
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
    too_large,
)
from pipelines.gather.submissions.template import TARGET_SHOWN
from pipelines.state.journal import Door
from pipelines.state.received import Received
from pipelines.validate.normalise import INFORMATIONAL_COLUMNS, NormalisedSubmission, normalise_submission
from pipelines.validate.report import SubmissionReport
from pipelines.validate.rules import RuleContext, TargetRuleContext, check_business_rules, check_target_rules
from pipelines.validate.schema_check import check_submission_schema

# The targets sheet's columns shown to help the person (the target as the plan states it).
TARGET_INFORMATIONAL_COLUMNS = frozenset(TARGET_SHOWN)

TargetHistory = Sequence[tuple[str, str, float | None]]


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
    names = {
        match_key(target_key["name"]).replace(" ", "_"),
        match_key(target_key.get("title", "")).replace(" ", "_"),
    }
    return bool(keys & names) and not keys & {"id_action", "action"}


def _schema_checked(
    sheet: SheetTable, schema: TableSchema, informational: frozenset[str], references: list[str]
) -> tuple[NormalisedSubmission, list[Problem]]:
    """A sheet normalised and checked by frictionless against its schema (``references``: the
    values of the plan's table its foreign key points at), with every finding so far."""
    normalised = normalise_submission(sheet, schema, informational)
    # The reader names a cell's column by its header label; reports name the field.
    findings = [
        dataclasses.replace(f, field=normalised.names.get(f.field, f.field)) if f.field else f
        for f in sheet.findings
    ]
    findings += normalised.findings
    schema_findings = check_submission_schema(normalised, schema, references)
    normalised.reported |= {(f.row, f.field) for f in schema_findings if f.row and f.field}
    return normalised, findings + schema_findings


def _validate_targets(
    sheet: SheetTable,
    schema: TableSchema,
    plan: PlanFacts,
    org: str | None,
    *,
    today: dt.date,
    history: TargetHistory,
) -> NormalisedSubmission:
    """The targets table of a file, normalised and checked (schema, then rules); findings on
    the workbook's « Cibles » sheet say so."""
    normalised, findings = _schema_checked(sheet, schema, TARGET_INFORMATIONAL_COLUMNS, sorted(plan.targets))
    context = TargetRuleContext(
        plan_start=plan.start,
        today=today,
        organisation=org,
        responsible_actions=plan.actions_of(org) if org else frozenset(),
        targets=plan.targets,
        history=history,
        responsible_bodies=plan.responsible_for,
    )
    findings += check_target_rules(normalised, context)
    if sheet.sheet == TARGETS_SHEET:
        findings = [dataclasses.replace(f, table=TARGETS_SHEET) for f in findings]
    normalised.findings = findings
    return normalised


def _attribution_fix(received: Received) -> str:
    """How to attribute a file, by where it came from."""
    if received.origin.door in (Door.INBOX, Door.SAMPLE):
        return (
            "Déplacez le fichier dans le dossier de l'organisme qui l'a envoyé, nommé par son "
            "identifiant dans la table organisations du plan (par exemple ditp/), puis "
            "relancez la collecte ; ou demandez-lui de remplir son modèle."
        )
    if received.origin.door is Door.FILE:
        return "Indiquez l'organisme qui rend compte (--org, par exemple --org ditp)."
    return "Indiquez l'organisme de cette adresse (urls[].organisation dans dataset.yaml)."


def _organisation(
    received: Received, template_org: str | None, plan: PlanFacts
) -> tuple[str | None, list[Problem]]:
    """The reporting body: the template's marker first, else what the source says.

    A file no body of the plan can be found for is an error: it is archived and reported,
    never published, so that no published row lacks its author or gets someone else's."""
    findings: list[Problem] = []
    org = template_org or received.organisation
    if template_org and received.organisation and template_org != received.organisation:
        findings.append(
            warning(
                "organisme-different",
                f"Le modèle a été préparé pour {template_org} mais le fichier vient de la source de "
                f"{received.organisation} ; c'est le modèle qui fait foi.",
                "Vérifiez que le bon organisme a rempli ce modèle.",
            )
        )
    if org is not None and org not in plan.organisations:
        where = (
            f"Le modèle indique l'organisme « {org} »"
            if template_org
            else f"Le dossier ou la source « {org} » ne désigne"
        )
        close = difflib.get_close_matches(org, sorted(plan.organisations), n=3, cutoff=0.5)
        by_name = [
            o
            for o, name in sorted(plan.organisation_names.items())
            if org.replace("-", " ") in match_key(name)
        ]
        hints = list(dict.fromkeys([*close, *by_name]))[:3]
        findings.append(
            error(
                "organisme-inconnu",
                (
                    f"{where}, qui n'est pas un organisme du plan"
                    if template_org
                    else f"{where} aucun organisme du plan"
                )
                + " : on ne sait pas qui rend compte. Le fichier "
                "est archivé, rien n'en est publié.",
                _attribution_fix(received)
                + (f" Identifiants proches : {', '.join(hints)}." if hints else ""),
                value=shown(org),
            )
        )
        return None, findings
    if org is None:
        findings.append(
            error(
                "organisme-non-identifie",
                "On ne sait pas quel organisme a envoyé ce fichier (ni modèle d'organisme, ni dossier "
                "d'organisme, ni source déclarée) : il est archivé, rien n'en est publié.",
                _attribution_fix(received),
            )
        )
    return org, findings


def validate_submission(
    received: Received,
    schema: TableSchema,
    plan: PlanFacts,
    *,
    today: dt.date,
    history: Sequence[tuple[str, str, int | None]] = (),
    limits: Limits = DEFAULT_LIMITS,
    targets_schema: TableSchema | None = None,
    target_history: TargetHistory = (),
) -> ValidatedSubmission:
    """Every finding about one file; ``rows`` (progress) and ``target_rows`` (values reached
    of targets, when ``targets_schema`` is given) are its canonical rows when it is accepted."""
    report = SubmissionReport(
        file_name=received.name,
        sha256=received.sha256,
        size=received.byte_count,
        origin=received.origin.to_json(),
        received_at=received.received_at,
        organisation=received.organisation,
        template_used=False,
        rows=0,
    )
    if received.path is not None:  # left on disk: over the limit, nothing to parse
        report.findings = [too_large(received.byte_count, limits.max_bytes)]
        return ValidatedSubmission(report, [])
    known = _known_columns(schema)
    if targets_schema is not None:
        known |= _known_columns(targets_schema, TARGET_INFORMATIONAL_COLUMNS)
    read, unreadable = parse_submission_file(received.name, received.content, known, limits)
    if read is None:
        report.findings = unreadable
        return ValidatedSubmission(report, [])
    sheet: SheetTable | None = read
    target_sheet = read.targets if targets_schema is not None else None
    if targets_schema is not None and _is_targets_table(read, targets_schema):
        sheet, target_sheet = None, read  # a CSV, or a workbook, of targets only
    template_org = read.template_org
    org, org_findings = _organisation(received, template_org, plan)
    report.organisation = org
    report.template_used = template_org is not None and template_org == org
    findings = list(org_findings)
    rows: list[dict[str, str]] = []
    if sheet is not None:
        normalised, checked = _schema_checked(sheet, schema, INFORMATIONAL_COLUMNS, list(plan.action_ids))
        findings += checked
        if normalised.rows:
            context = RuleContext(
                plan_start=plan.start,
                today=today,
                organisation=org,
                template_used=report.template_used,
                responsible_actions=plan.actions_of(org) if org else frozenset(),
                history=history,
                responsible_bodies=plan.responsible_for,
                present_columns=frozenset(normalised.present),
            )
            findings += check_business_rules(normalised, context)
        rows = normalised.rows
    target_rows: list[dict[str, str]] = []
    if target_sheet is not None and targets_schema is not None:
        targets = _validate_targets(
            target_sheet, targets_schema, plan, org, today=today, history=target_history
        )
        findings += targets.findings
        target_rows = targets.rows
    if not rows and not target_rows and not any(f.severity == Severity.ERROR for f in findings):
        findings.append(
            error(
                "aucune-ligne",
                "Le fichier ne contient aucune ligne de suivi remplie.",
                "Remplissez au moins la date du rapport et le statut d'une action (ou la date et la valeur "
                "atteinte d'une cible), puis renvoyez le fichier.",
            )
        )
    report.findings = findings
    report.rows = len(rows)
    report.target_rows = len(target_rows)
    accepted = report.accepted
    return ValidatedSubmission(report, rows if accepted else [], target_rows if accepted else [])
