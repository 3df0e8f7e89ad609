"""Validate stage: a staged Data Package checked by frictionless, the reference for "valid".

Types, constraints, primary keys, foreign keys between tables, and the bytes and sha256
of every file are all checked at package level, on the very files about to be published.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def _with_references(
    descriptor: Path, schemas: dict[str, TableSchema], references: dict[str, list[dict[str, Any]]]
) -> frictionless.Package:
    """The staged package plus the tables of another dataset its foreign keys point at.

    The published descriptor leaves such keys out (see ``published_schema``); here they
    are put back, and the referenced tables are added as inline resources.
    """
    document = json.loads(descriptor.read_text(encoding="utf-8"))
    for resource in document["resources"]:
        schema = schemas.get(resource["name"])
        if schema and "schema" in resource and schema.get("foreignKeys"):
            resource["schema"]["foreignKeys"] = schema["foreignKeys"]
    for name, rows in references.items():
        fields = list(rows[0]) if rows else []
        document["resources"].append({
            "name": name, "type": "table",
            "data": [fields, *([row[f] for f in fields] for row in rows)],
        })
    return frictionless.Package(document, basepath=str(descriptor.parent))


def validate_datapackage(
    descriptor: Path,
    *,
    schemas: dict[str, TableSchema] | None = None,
    references: dict[str, list[dict[str, Any]]] | None = None,
) -> list[Issue]:
    """Every error frictionless finds, as issues ``(table, row, field, code, message)``.

    With ``references`` (tables of another dataset, by name) and the full ``schemas``,
    foreign keys to those tables are checked too.
    """
    if references:
        package = _with_references(descriptor, schemas or {}, references)
        report = package.validate(checklist=frictionless.Checklist(), limit_errors=UNLIMITED_ERRORS)
    else:
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
        if task.name not in (references or {})
        for error in task.errors
    ]
    issues += [
        Issue(table="datapackage", row=None, field=None, code=error.type, message=error.message)
        for error in report.errors
    ]
    return issues
