"""Validate stage: a staged Data Package checked by frictionless, the reference for "valid".

Types, constraints, primary keys, foreign keys between tables, and the bytes and sha256
of every file are all checked at package level, on the very files about to be published.
"""

from __future__ import annotations

from pathlib import Path

import frictionless

from pipelines.errors import Issue
from pipelines.tables import TableSchema

# frictionless stops at 1 000 errors by default and says so nowhere in its text output:
# a build report must list every error.
UNLIMITED_ERRORS = 10**9


def standalone_schema(schema: TableSchema) -> frictionless.Schema:
    """A table's schema for checking that table alone, outside its package.

    Foreign keys point at other tables of the package, which frictionless needs loaded;
    ``$schema`` names the schema document's own format, not a table property.
    """
    kept = {k: v for k, v in schema.items() if k not in ("$schema", "foreignKeys")}
    return frictionless.Schema.from_descriptor(kept)


def _field_of(error: frictionless.Error) -> str | None:
    """The field an error is about; key errors name their fields (joined by ",")."""
    name = getattr(error, "field_name", None)
    if name:
        return str(name)
    names = getattr(error, "field_names", None)
    return ",".join(names) if names else None


def validate_datapackage(descriptor: Path) -> list[Issue]:
    """Every error frictionless finds, as issues ``(table, row, field, code, message)``."""
    report = frictionless.validate(str(descriptor), limit_errors=UNLIMITED_ERRORS)
    issues = [
        Issue(
            table=task.name or "?",
            row=getattr(error, "row_number", None),
            field=_field_of(error),
            code=error.type,
            message=error.message,
        )
        for task in report.tasks
        for error in task.errors
    ]
    issues += [
        Issue(table="datapackage", row=None, field=None, code=error.type, message=error.message)
        for error in report.errors
    ]
    return issues
