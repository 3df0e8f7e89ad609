"""Validate stage: a normalised submission checked by frictionless against its Table Schema.

Frictionless is the reference for types, constraints, the primary key and the foreign
key to the plan (its ``actions`` for a progress sheet, its ``cibles`` for a targets
sheet): the submission and the plan's table are validated as one package. Its errors keep
their frictionless codes and are told again in French with the spreadsheet's row numbers and
a fix worded from the field's schema (its type, constraints, and what its identifiers name).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import frictionless

from pipelines.core.problems import Problem, constraint_of, problem
from pipelines.core.schema import TableSchema
from pipelines.core.vocabulary import Field, column_label, described, is_url, subject_of
from pipelines.validate.columnar import UNLIMITED_ERRORS
from pipelines.validate.normalise import NormalisedSubmission

SUBMISSION_RESOURCE = "soumission"
_SAME_AS_ROW = re.compile(r"position (\d+)")

_DATE_WITH_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})[ T](\d{1,2}:\d{2})(:\d{2})?$")


def _type_finding(field: Field, value: str, row: int) -> Problem:
    """A type-error worded for the field's type (a date with a time says the time)."""
    name, kind = field["name"], field.get("type", "string")
    where: dict[str, Any] = {"row": row, "field": name, "value": value}
    timed = _DATE_WITH_TIME.match(value) if kind == "date" else None
    if timed:
        return problem("type-error", variant="datetime", date=timed.group(1), time=timed.group(2), **where)
    if kind == "date":
        return problem("type-error", variant="date", **where)
    if kind in ("integer", "number"):
        return problem("type-error", variant=kind, example=field.get("example", ""), **where)
    if is_url(field):
        return problem("type-error", variant="uri", **where)
    return problem("type-error", variant="other", kind=kind, **where)


def _constraint_finding(field: Field, constraint: str, value: str, row: int) -> Problem:
    """A constraint-error worded for the constraint, from what the field's schema says."""
    limits = field.get("constraints", {})
    where: dict[str, Any] = {"row": row, "field": field["name"], "value": value, "constraint": constraint}
    column = column_label(field)
    subject = subject_of(field)
    if constraint == "required":
        return problem(
            "constraint-error",
            variant="required",
            column=column,
            to_do=field.get("x-que-faire", ""),
            values=described(field),
            **where,
        )
    if constraint == "enum":
        return problem("constraint-error", variant="enum", column=column, values=described(field), **where)
    if constraint == "minimum" and "maximum" not in limits:
        return problem("constraint-error", variant="minimum", minimum=limits["minimum"], **where)
    if constraint in ("minimum", "maximum"):
        return problem(
            "constraint-error",
            variant="interval",
            minimum=limits.get("minimum"),
            maximum=limits.get("maximum"),
            **where,
        )
    if constraint == "pattern" and subject is not None:
        return problem(
            "constraint-error",
            variant="identifier",
            thing=subject.of,
            example=field.get("example", ""),
            form=field.get("x-forme", ""),
            **where,
        )
    if constraint == "pattern" and is_url(field):
        return problem("constraint-error", variant="uri", **where)
    if constraint == "maxLength":
        return problem(
            "constraint-error", variant="maxLength", length=len(value), limit=limits["maxLength"], **where
        )
    return problem("constraint-error", variant="other", column=column, **where)


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
    subject = subject_of(fields[key])
    if subject is None:
        raise ValueError(f"{schema.get('name', '?')}: the key field {key} has no x-objet")
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
                findings.append(problem(err.type))
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
                findings.append(
                    problem(
                        "primary-key",
                        variant="soumission",
                        row=row,
                        field=f"{key}, {date}",
                        value=f"{cells[key]} / {cells[date]}",
                        thing=subject.the,
                        noun=subject.noun,
                        key=cells[key],
                        date=cells[date],
                        first=sheet_row(int(first.group(1))) if first else None,
                    )
                )
            elif err.type == "foreign-key":
                value = submission.rows[number - 2][key]
                findings.append(
                    problem(
                        "foreign-key",
                        variant="soumission",
                        row=row,
                        field=key,
                        value=value,
                        thing=subject.the,
                        plan_table=table,
                        example=fields[key].get("example", ""),
                    )
                )
            else:
                findings.append(problem(err.type, row=row, field=name, value=value or None))
    return findings
