"""Validate stage: one received submission, from bytes to a verdict, its report and its rows.

Read (xlsx or CSV) → normalise (unambiguous corrections) → frictionless (schema, keys, the
foreign key to the plan) → great-expectations (rules across cells, rows and reports).
Each step adds findings; the file is accepted when no finding is an error. Nothing here
writes files or knows where the bytes came from beyond what the report must say.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from dataclasses import dataclass

from pipelines.core.problems import Problem, Severity, error, shown, warning
from pipelines.core.schema import TableSchema
from pipelines.core.text import match_key
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.gather.submissions.read import DEFAULT_LIMITS, Limits, parse_submission_file, too_large
from pipelines.state.received import Received
from pipelines.validate.normalise import INFORMATIONAL_COLUMNS, normalise_submission
from pipelines.validate.report import SubmissionReport
from pipelines.validate.rules import RuleContext, check_business_rules
from pipelines.validate.schema_check import check_submission_schema


@dataclass
class ValidatedSubmission:
    report: SubmissionReport
    rows: list[dict[str, str]]


def _known_columns(schema: TableSchema) -> set[str]:
    keys = set(INFORMATIONAL_COLUMNS)
    for f in schema["fields"]:
        keys.add(match_key(f["name"]).replace(" ", "_"))
        keys.add(match_key(f.get("title", f["name"])).replace(" ", "_"))
    return keys


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
) -> ValidatedSubmission:
    """Every finding about one file; ``rows`` are its canonical rows when it is accepted."""
    report = SubmissionReport(
        file_name=received.name, sha256=received.sha256, size=received.byte_count,
        origin=received.origin, received_at=received.received_at,
        organisation=received.organisation, template_used=False, rows=0,
    )
    if received.path is not None:  # left on disk: over the limit, nothing to parse
        report.findings = [too_large(received.byte_count, limits.max_bytes)]
        return ValidatedSubmission(report, [])
    sheet, unreadable = parse_submission_file(received.name, received.content,
                                              _known_columns(schema), limits)
    if sheet is None:
        report.findings = unreadable
        return ValidatedSubmission(report, [])
    org, org_findings = _organisation(received, sheet.template_org, plan)
    report.organisation = org
    report.template_used = sheet.template_org is not None and sheet.template_org == org
    normalised = normalise_submission(sheet, schema)
    # The reader names a cell's column by its header label; reports name the field.
    read = [dataclasses.replace(f, field=normalised.names.get(f.field, f.field)) if f.field else f
            for f in sheet.findings]
    findings = [*read, *org_findings, *normalised.findings]
    schema_findings = check_submission_schema(normalised, schema, list(plan.action_ids))
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
    elif not any(f.severity == Severity.ERROR for f in findings):
        findings.append(error(
            "aucune-ligne", "Le fichier ne contient aucune ligne de suivi remplie.",
            "Remplissez au moins la date du rapport et le statut d'une action, puis renvoyez le fichier.",
        ))
    report.findings = findings
    report.rows = len(normalised.rows)
    return ValidatedSubmission(report, normalised.rows if report.accepted else [])
