"""Validate stage: a staged Data Package checked with frictionless's semantics.

Types, constraints, primary keys, foreign keys between tables, and the bytes and sha256
of every file are all checked at package level, on the very files about to be published.
Tables are checked on Arrow columns (``columnar``), which reports exactly frictionless's
errors; when any table is outside that fast path, frictionless checks the whole package.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frictionless
from frictionless import errors as fe

from pipelines.core.errors import ConfigError, NotFound
from pipelines.core.problems import Problem, problem_of
from pipelines.core.schema import TableSchema
from pipelines.validate.columnar import (
    ARROW,
    FRICTIONLESS,
    UNLIMITED_ERRORS,
    Fallback,
    Lookup,
    check_table,
)


def standalone_schema(schema: TableSchema) -> frictionless.Schema:
    """A table's schema for checking that table alone, outside its package.

    Foreign keys point at other tables of the package, which frictionless needs loaded;
    ``$schema`` names the schema document's own format, not a table property.
    """
    kept = {k: v for k, v in schema.items() if k not in ("$schema", "foreignKeys")}
    return frictionless.Schema.from_descriptor(kept)


def inline_table(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Another dataset's table (a foreign key's target) as an inline tabular resource."""
    fields = list(rows[0]) if rows else []
    return {"name": name, "type": "table", "data": [fields, *([row[f] for f in fields] for row in rows)]}


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
    document["resources"] += [inline_table(name, rows) for name, rows in references.items()]
    return frictionless.Package(document, basepath=str(descriptor.parent))


def validate_datapackage(
    descriptor: Path,
    *,
    schemas: dict[str, TableSchema] | None = None,
    references: dict[str, list[dict[str, Any]]] | None = None,
    prechecked: Collection[str] = (),
) -> list[Problem]:
    """Every error frictionless finds, as issues ``(table, row, field, code, message)``.

    With ``references`` (tables of another dataset, by name) and the full ``schemas``,
    foreign keys to those tables are checked too. Tables named in ``prechecked`` are
    not read again (see ``check_package``).
    """
    if references:
        package = _with_references(descriptor, schemas or {}, references)
    else:
        package = frictionless.Package(str(descriptor))
    return check_package(package, references or {}, prechecked).issues


@dataclass(frozen=True)
class PackageCheck:
    """A package's issues, and which engine found them (and why not the fast one)."""

    issues: list[Problem]
    rows: dict[str, int]
    engine: str
    reason: str = ""


def check_package(
    package: frictionless.Package,
    references: dict[str, list[dict[str, Any]]] | None = None,
    prechecked: Collection[str] = (),
) -> PackageCheck:
    """Every error of the package, on Arrow columns, or by frictionless when it must decide.

    ``prechecked`` names tables whose rows are exactly the values a check of their
    source found valid, with the same schema and references (a table file's typed values,
    ``gather.table_file``): their CSV, JSON and Parquet files are not read again, unless
    another table's foreign key needs their keys. Reading them back would repeat that
    check on the same values (2.3 s a million rows); the writers' bytes are those of
    Python's csv module and json.dumps (oracle tests), and each file's sha256 is the one
    computed over the very bytes written (a re-read would come from the page cache, not
    from the disk, and prove nothing more).
    """
    rows: dict[str, int] = {}
    try:
        return PackageCheck(_columnar_issues(package, references or {}, rows, set(prechecked)), rows, ARROW)
    except Fallback as why:
        reason = str(why)
    report = package.validate(checklist=frictionless.Checklist(), limit_errors=UNLIMITED_ERRORS)
    rows = {
        task.name: int(task.stats.get("rows") or 0)
        for task in report.tasks
        if task.name not in (references or {})
    }
    return PackageCheck(issues_of(report, skip=set(references or {})), rows, FRICTIONLESS, reason)


class UnreadablePackage(ConfigError):
    """``path`` (a descriptor, a CSV file or its schema) does not read as a package to
    check: ``reason`` is what frictionless, the JSON parser or the system said."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"Descripteur, table ou schéma illisible ({path}) : {reason}",
            hint="Vérifiez que le fichier est un datapackage.json, ou un CSV accompagné de son "
            "schéma de table (--schema), et qu'il se lit en UTF-8.",
            path=path,
            reason=reason,
        )
        self.path = path
        self.reason = reason


def package_to_check(path: Path, schema: Path | None = None) -> frictionless.Package:
    """What ``ogp check`` checks: the Data Package a descriptor (``*.json``) describes, or a
    one-table package of a CSV file, with its Table Schema when ``schema`` is given. Files
    are resolved from the descriptor's folder, as frictionless does. Raises
    :class:`NotFound` or :class:`UnreadablePackage`, never frictionless's own errors."""
    for given in (path, schema):
        if given is not None and not given.is_file():
            raise NotFound(f"Fichier introuvable : {given}", path=given, hint="Vérifiez le chemin.")
    basepath = str(path.parent.resolve())
    try:
        if path.suffix.lower() == ".json" and schema is None:
            return frictionless.Package(path.name, basepath=basepath)
        resource: dict[str, Any] = {"name": path.stem.lower(), "path": path.name}
        if schema is not None:
            resource["schema"] = json.loads(schema.read_text(encoding="utf-8"))
        return frictionless.Package({"resources": [resource]}, basepath=basepath)
    except (frictionless.FrictionlessException, ValueError, OSError) as exc:  # JSON, UTF-8, disk
        raise UnreadablePackage(path, str(exc)) from None


def check_path(path: Path, schema: Path | None = None) -> PackageCheck:
    """:func:`check_package` of :func:`package_to_check`: every error of the package or CSV
    file at ``path``. A file that cannot be read at all raises :class:`UnreadablePackage`."""
    package = package_to_check(path, schema)
    try:
        return check_package(package)
    except (frictionless.FrictionlessException, OSError) as exc:
        raise UnreadablePackage(path, str(exc)) from None


def issues_of(report: frictionless.Report, skip: Collection[str] = ()) -> list[Problem]:
    """A frictionless report as issues ``(table, row, field, code, message)``."""
    issues = [
        problem_of(error, task.name or "?")
        for task in report.tasks
        if task.name not in skip
        for error in task.errors
    ]
    issues += [problem_of(error, "datapackage") for error in report.errors]
    return issues


def _file_errors(resource: frictionless.Resource) -> list[Any]:
    """frictionless's byte and hash checks of a file against its descriptor."""
    found: list[Any] = []
    if not resource.hash and not resource.bytes:
        return found
    path = Path(resource.normpath or "")
    with path.open("rb") as stream:  # the bytes as the system gives them back, against the descriptor
        digest = hashlib.file_digest(stream, "sha256")
        size = stream.tell()
    if resource.hash:
        algorithm, _, expected = resource.hash.rpartition(":")
        if algorithm not in ("", "sha256"):
            raise Fallback(f"empreinte {algorithm}")
        if expected != digest.hexdigest():
            found.append(
                fe.HashCountError(note=f'expected is "{expected}" and actual is "{digest.hexdigest()}"')
            )
    if resource.bytes and resource.bytes != size:
        found.append(fe.ByteCountError(note=f'expected is "{resource.bytes}" and actual is "{size}"'))
    return found


def _columnar_issues(
    package: frictionless.Package,
    references: dict[str, list[dict[str, Any]]],
    rows: dict[str, int] | None = None,
    prechecked: Collection[str] = (),
) -> list[Problem]:
    """Every error of the package, tables on Arrow columns; :class:`Fallback` if not covered."""
    wanted: dict[str, set[tuple[str, ...]]] = {}
    for resource in package.resources:
        for fk in resource.schema.foreign_keys if resource.schema else []:
            target = fk["reference"]["resource"]
            if target and target != resource.name:
                wanted.setdefault(target, set()).add(tuple(fk["reference"]["fields"]))
    lookups: dict[str, dict[tuple[str, ...], Lookup]] = {
        name: {key: Lookup.of_rows(rows, key) for key in wanted.get(name, set())}
        for name, rows in references.items()
    }
    pending = [r for r in package.resources if r.name not in references]
    checked: dict[str, list[Any]] = {}
    while pending:
        ready = [
            r
            for r in pending
            if all(
                fk["reference"]["resource"] in ("", r.name) or fk["reference"]["resource"] in lookups
                for fk in (r.schema.foreign_keys if r.schema else [])
            )
        ]
        if not ready:
            raise Fallback("clés étrangères circulaires")
        for resource in ready:
            pending.remove(resource)
            table_of_file = Path(str(resource.path or "")).stem
            if table_of_file in prechecked and resource.name not in wanted:
                checked[resource.name] = []
                continue
            found = _file_errors(resource)
            if resource.type == "table":
                keys = wanted.get(resource.name, set())
                check = check_table(resource, lookups=lookups, keep={f for key in keys for f in key})
                lookups[resource.name] = {key: Lookup([check.keys[f] for f in key]) for key in keys}
                found = check.errors + found
                if rows is not None:
                    rows[resource.name] = check.rows
            elif resource.type != "file":
                raise Fallback(f"ressource de type {resource.type}")
            checked[resource.name] = found
    return [
        problem_of(error, resource.name or "?")
        for resource in package.resources
        if resource.name in checked
        for error in checked[resource.name]
    ]
