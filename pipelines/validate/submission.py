"""Validate stage: one received submission, from bytes to a verdict, its report and its rows.

Read (xlsx or CSV) → normalise (unambiguous corrections) → frictionless (schema, keys, the
foreign key to the plan) → great-expectations (rules across cells, rows and reports).
Each step adds findings; the file is accepted when no finding is an error. Nothing here
writes files or knows where the bytes came from beyond what the report must say.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.gather.submission_file import Limits, parse_submission_file, too_large
from pipelines.tables import TableSchema
from pipelines.text import match_key
from pipelines.validate.findings import Finding, Severity, warning
from pipelines.validate.normalise import INFORMATIONAL_COLUMNS, normalise_submission
from pipelines.validate.report import SubmissionReport
from pipelines.validate.rules import RuleContext, check_business_rules
from pipelines.validate.schema_check import check_submission_schema


@dataclass(frozen=True)
class PlanFacts:
    """What a submission is checked against: the plan's actions and who answers for each."""

    start: dt.date
    action_ids: tuple[str, ...]
    organisations: frozenset[str]
    responsibilities: dict[str, frozenset[str]]  # organisation id → its action ids
    action_titles: dict[str, str] = field(default_factory=dict)
    organisation_names: dict[str, str] = field(default_factory=dict)

    def actions_of(self, organisation: str) -> frozenset[str]:
        return self.responsibilities.get(organisation, frozenset())


@dataclass(frozen=True)
class Received:
    """A submission as received: its bytes and what the report says of its origin."""

    name: str
    content: bytes
    origin: str
    received_at: str
    organisation: str | None = None  # from the source (inbox sub-folder, configured URL)
    # A file over the size limit is not read into memory: it stays on disk, hashed.
    path: Path | None = None
    digest: str | None = None
    size: int | None = None

    @property
    def sha256(self) -> str:
        return self.digest or hashlib.sha256(self.content).hexdigest()

    @property
    def byte_count(self) -> int:
        return self.size if self.size is not None else len(self.content)


def receive_file(path: Path, origin: str, received_at: str, organisation: str | None,
                 max_bytes: int) -> Received:
    """A file of an inbox, read into memory only if it is within the size limit."""
    size = path.stat().st_size
    if size <= max_bytes:
        return Received(path.name, path.read_bytes(), origin, received_at, organisation)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return Received(path.name, b"", origin, received_at, organisation, path=path,
                    digest=digest.hexdigest(), size=size)


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


def _organisation(received: Received, template_org: str | None, plan: PlanFacts) -> tuple[str | None, list[Finding]]:
    """The reporting body: the template's marker first, else what the source says."""
    findings: list[Finding] = []
    org = template_org or received.organisation
    if template_org and received.organisation and template_org != received.organisation:
        findings.append(warning(
            "organisme-different",
            f"Le modèle a été préparé pour {template_org} mais le fichier vient de la source de "
            f"{received.organisation} ; c'est le modèle qui fait foi.",
            "Vérifiez que le bon organisme a rempli ce modèle.",
        ))
    if org is not None and org not in plan.organisations:
        findings.append(warning(
            "organisme-inconnu",
            f"L'organisme « {org} » n'est pas un organisme du plan : les actions dont il est "
            "responsable ne peuvent pas être vérifiées.",
            "Utilisez l'identifiant de la table organisations du plan (par exemple ditp).",
        ))
        return None, findings
    if org is None:
        findings.append(warning(
            "organisme-non-identifie",
            "L'organisme qui rend compte n'est pas identifié (ni modèle, ni dossier, ni source "
            "déclarée) : les actions dont il est responsable ne sont pas vérifiées.",
            "Utilisez le modèle de l'organisme (ogp template --org …) ou déposez le fichier "
            "dans le sous-dossier de l'organisme.",
        ))
    return org, findings


def validate_submission(
    received: Received,
    schema: TableSchema,
    plan: PlanFacts,
    *,
    today: dt.date,
    history: tuple[tuple[str, str, int | None], ...] = (),
    limits: Limits = Limits(),
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
    findings = [*sheet.findings, *org_findings, *normalised.findings]
    schema_findings = check_submission_schema(normalised, schema, list(plan.action_ids))
    normalised.reported |= {(f.row, f.column) for f in schema_findings if f.row and f.column}
    findings += schema_findings
    if normalised.rows:
        context = RuleContext(
            plan_start=plan.start, today=today, organisation=org,
            template_used=report.template_used,
            responsible_actions=plan.actions_of(org) if org else frozenset(),
            history=history,
        )
        findings += check_business_rules(normalised, context)
    elif not any(f.severity == Severity.ERROR for f in findings):
        findings.append(Finding(
            Severity.ERROR, "aucune-ligne", "Le fichier ne contient aucune ligne de suivi remplie.",
            "Remplissez au moins la date du rapport et le statut d'une action, puis renvoyez le fichier.",
        ))
    report.findings = findings
    report.rows = len(normalised.rows)
    return ValidatedSubmission(report, normalised.rows if report.accepted else [])
