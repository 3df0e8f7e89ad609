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

from pipelines.core.problems import Problem, Severity, problem
from pipelines.core.schema import TableSchema
from pipelines.core.text import match_key
from pipelines.core.times import PARIS
from pipelines.core.vocabulary import column_labels, informational_columns
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.gather.submissions.read import (
    DEFAULT_LIMITS,
    TARGETS_SHEET,
    Limits,
    SheetTable,
    parse_submission_file,
    too_large,
)
from pipelines.state.journal import Door
from pipelines.state.received import Received
from pipelines.validate.normalise import NormalisedSubmission, normalise_submission
from pipelines.validate.report import SubmissionReport
from pipelines.validate.rules import RuleContext, TargetRuleContext, check_business_rules, check_target_rules
from pipelines.validate.schema_check import check_submission_schema

# Where the campaign's days are counted: a file received at 23:30 UTC in winter arrived the
# next day for the body that sent it.
CAMPAIGN_TIMEZONE = PARIS

TargetHistory = Sequence[tuple[str, str, float | None]]


@dataclass
class ValidatedSubmission:
    """A file's report, and its canonical rows of each table when it is accepted."""

    report: SubmissionReport
    rows: list[dict[str, str]]
    target_rows: list[dict[str, str]] = field(default_factory=list)


def _known_columns(schema: TableSchema) -> set[str]:
    keys = {match_key(c).replace(" ", "_") for c in informational_columns(schema)}
    for f in schema["fields"]:
        keys.add(match_key(f["name"]).replace(" ", "_"))
        keys.add(match_key(f.get("title", f["name"])).replace(" ", "_"))
    return keys


def _is_targets_table(sheet: SheetTable, schema: TableSchema, targets_schema: TableSchema) -> bool:
    """Whether a file's one table is in the targets format: its header names the target
    identifier and not the progress format's (a CSV holds one table)."""
    keys = {match_key(c).replace(" ", "_") for c in sheet.header}

    def names(key: dict[str, str]) -> set[str]:
        return {match_key(key["name"]).replace(" ", "_"), match_key(key.get("title", "")).replace(" ", "_")}

    return bool(keys & names(targets_schema["fields"][0])) and not keys & names(schema["fields"][0])


def received_moment(received: Received) -> str:
    """When the file counts as received: the reception time its rows are published with
    (``date_reception``): the pipeline's reception, or the declared time of the samples."""
    return received.arrived_at or received.received_at


def received_day(received: Received) -> dt.date | None:
    """The day the file was received, in the campaign's time zone (``None``: unreadable)."""
    try:
        moment = dt.datetime.fromisoformat(received_moment(received).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(CAMPAIGN_TIMEZONE).date()


def _schema_checked(
    sheet: SheetTable, schema: TableSchema, references: list[str]
) -> tuple[NormalisedSubmission, list[Problem]]:
    """A sheet normalised and checked by frictionless against its schema (``references``: the
    values of the plan's table its foreign key points at), with every finding so far."""
    normalised = normalise_submission(sheet, schema)
    # The reader names a cell's column by its header label; reports name the field.
    findings = [
        dataclasses.replace(f, field=normalised.names.get(f.field, f.field)) if f.field else f
        for f in sheet.findings
    ]
    findings += normalised.findings
    schema_findings = check_submission_schema(normalised, schema, references)
    normalised.reported |= {(f.row, f.field) for f in schema_findings if f.row and f.field}
    return normalised, findings + schema_findings


def _labelled(findings: list[Problem], schema: TableSchema) -> list[Problem]:
    """Each finding on a field of the schema names its column as the template does,
    « Avancement (%) [avancement_pct] » (a key of two fields names both)."""
    labels = column_labels(schema)

    def label(name: str) -> str | None:
        parts = [labels.get(part) for part in name.split(", ")]
        return ", ".join(p for p in parts if p) if all(parts) else None

    return [
        dataclasses.replace(f, label=label(f.field)) if f.field and f.label is None else f for f in findings
    ]


def _validate_targets(
    sheet: SheetTable,
    schema: TableSchema,
    plan: PlanFacts,
    org: str | None,
    *,
    today: dt.date,
    received_on: dt.date | None,
    history: TargetHistory,
) -> NormalisedSubmission:
    """The targets table of a file, normalised and checked (schema, then rules); findings on
    the workbook's « Cibles » sheet say so."""
    normalised, findings = _schema_checked(sheet, schema, sorted(plan.targets))
    context = TargetRuleContext(
        plan_start=plan.start,
        today=today,
        organisation=org,
        responsible_actions=plan.actions_of(org) if org else frozenset(),
        targets=plan.targets,
        history=history,
        responsible_bodies=plan.responsible_for,
        received_on=received_on,
        labels=column_labels(schema),
    )
    findings = _labelled(findings + check_target_rules(normalised, context), schema)
    if sheet.sheet == TARGETS_SHEET:
        findings = [dataclasses.replace(f, table=TARGETS_SHEET) for f in findings]
    normalised.findings = findings
    return normalised


def _source_kind(received: Received) -> str:
    """Where a file came from, as the fix of an attribution error needs it: an inbox
    (or the samples), a file named on the command line, or an address."""
    if received.origin.door in (Door.INBOX, Door.SAMPLE):
        return "inbox"
    if received.origin.door is Door.FILE:
        return "file"
    return "url"


def _organisation(
    received: Received, template_org: str | None, plan: PlanFacts
) -> tuple[str | None, list[Problem]]:
    """The reporting body: the template's marker first, else what the source says; through
    the bodies' door, the access alone (another body's template there is an error).

    A file no body of the plan can be found for is an error: it is archived and reported,
    never published, so that no published row lacks its author or gets someone else's."""
    findings: list[Problem] = []
    if received.origin.door is Door.DROPOFF and received.organisation:
        if template_org and template_org != received.organisation:
            findings.append(
                problem("modele-autre-acces", template_org=template_org, access_org=received.organisation)
            )
        return received.organisation, findings
    org = template_org or received.organisation
    if template_org and received.organisation and template_org != received.organisation:
        findings.append(
            problem("organisme-different", template_org=template_org, source_org=received.organisation)
        )
    if org is not None and org not in plan.organisations:
        close = difflib.get_close_matches(org, sorted(plan.organisations), n=3, cutoff=0.5)
        by_name = [
            o
            for o, name in sorted(plan.organisation_names.items())
            if org.replace("-", " ") in match_key(name)
        ]
        findings.append(
            problem(
                "organisme-inconnu",
                value=org,
                from_template=bool(template_org),
                source=_source_kind(received),
                close=list(dict.fromkeys([*close, *by_name]))[:3],
            )
        )
        return None, findings
    if org is None:
        findings.append(problem("organisme-non-identifie", source=_source_kind(received)))
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
        received_at=received_moment(received),
        organisation=received.organisation,
        template_used=False,
        rows=0,
    )
    if received.path is not None:  # left on disk: over the limit, nothing to parse
        report.findings = [too_large(received.byte_count, limits.max_bytes)]
        return ValidatedSubmission(report, [])
    known = _known_columns(schema)
    if targets_schema is not None:
        known |= _known_columns(targets_schema)
    read, unreadable = parse_submission_file(received.name, received.content, known, limits)
    if read is None:
        report.findings = unreadable
        return ValidatedSubmission(report, [])
    sheet: SheetTable | None = read
    target_sheet = read.targets if targets_schema is not None else None
    if targets_schema is not None and _is_targets_table(read, schema, targets_schema):
        sheet, target_sheet = None, read  # a CSV, or a workbook, of targets only
    template_org = read.template_org
    org, org_findings = _organisation(received, template_org, plan)
    report.organisation = org
    report.template_used = template_org is not None and template_org == org
    findings = list(org_findings)
    # Another body's template at the door: that is the cause; its rows being that body's
    # actions would only be its symptoms (checked against the template's body instead).
    rules_org = template_org if any(f.code == "modele-autre-acces" for f in org_findings) else org
    received_on = received_day(received)
    rows: list[dict[str, str]] = []
    if sheet is not None:
        normalised, checked = _schema_checked(sheet, schema, list(plan.action_ids))
        findings += checked
        if normalised.rows:
            context = RuleContext(
                plan_start=plan.start,
                today=today,
                organisation=rules_org,
                template_used=report.template_used,
                responsible_actions=plan.actions_of(rules_org) if rules_org else frozenset(),
                history=history,
                responsible_bodies=plan.responsible_for,
                present_columns=frozenset(normalised.present),
                received_on=received_on,
                labels=column_labels(schema),
            )
            findings += check_business_rules(normalised, context)
        findings = _labelled(findings, schema)
        rows = normalised.rows
    target_rows: list[dict[str, str]] = []
    if target_sheet is not None and targets_schema is not None:
        targets = _validate_targets(
            target_sheet,
            targets_schema,
            plan,
            rules_org,
            today=today,
            received_on=received_on,
            history=target_history,
        )
        findings += targets.findings
        target_rows = targets.rows
    if not rows and not target_rows and not any(f.severity == Severity.ERROR for f in findings):
        findings.append(problem("aucune-ligne"))
    report.findings = findings
    report.rows = len(rows)
    report.target_rows = len(target_rows)
    accepted = report.accepted
    return ValidatedSubmission(report, rows if accepted else [], target_rows if accepted else [])
