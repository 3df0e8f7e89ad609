"""Validate stage: one received submission, from bytes to a verdict, its report and its rows.

Read (xlsx or CSV) → normalise (unambiguous corrections) → frictionless (schema, keys, the
foreign key to the plan) → great-expectations (rules across cells, rows and reports).
Each step adds findings; the file is accepted when no finding is an error. Nothing here
writes files or knows where the bytes came from beyond what the report must say.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.gather.submission_file import Limits, parse_submission_file, too_large
from pipelines.tables import TableSchema
from pipelines.text import match_key
from pipelines.validate.findings import Finding, Severity, error, shown, warning
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
    # Bodies entitled to report on an action without being responsible for it (the progress
    # dataset's ``reporters``: organisation id → action ids).
    reporters: dict[str, frozenset[str]] = field(default_factory=dict)

    def actions_of(self, organisation: str) -> frozenset[str]:
        """The actions a body may report on: those it is responsible for, and those the
        dataset declares it a reporter for."""
        return self.responsibilities.get(organisation, frozenset()) | self.reporters.get(
            organisation, frozenset())

    def responsible_for(self, action: str) -> list[str]:
        """The bodies responsible for an action, in identifier order."""
        return sorted(o for o, actions in self.responsibilities.items() if action in actions)


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
    # When the body delivered it (UTC): its modification time in the inbox, the fetch time
    # over HTTP. The merge order of reports; ``received_at`` is when this run read it.
    arrived_at: str | None = None

    @property
    def sha256(self) -> str:
        return self.digest or hashlib.sha256(self.content).hexdigest()

    @property
    def byte_count(self) -> int:
        return self.size if self.size is not None else len(self.content)


def receive_file(path: Path, origin: str, received_at: str, organisation: str | None,
                 max_bytes: int, arrived_at: str | None = None) -> Received:
    """A file of an inbox, read into memory only if it is within the size limit."""
    size = path.stat().st_size
    if size <= max_bytes:
        return Received(path.name, path.read_bytes(), origin, received_at, organisation,
                        arrived_at=arrived_at)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return Received(path.name, b"", origin, received_at, organisation, path=path,
                    digest=digest.hexdigest(), size=size, arrived_at=arrived_at)


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


def _organisation(received: Received, template_org: str | None, plan: PlanFacts) -> tuple[str | None, list[Finding]]:
    """The reporting body: the template's marker first, else what the source says.

    A file no body of the plan can be found for is an error: it is archived and reported,
    never published, so that no published row lacks its author or gets someone else's."""
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
            history=history, responsible_bodies=plan.responsible_for,
            present_columns=frozenset(normalised.present),
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
