"""Publish stage: the version rule, table by table and by primary key: what makes a
new version MAJOR, MINOR or PATCH, and the row differences it counts."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from pipelines.core.errors import PublishError
from pipelines.core.schema import primary_key

VERSION_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class Level(IntEnum):
    """How far a new version moves from the last one, ordered so that ``max`` keeps the strongest change."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3


@dataclass
class TableChanges:
    """How many rows of one table a version adds, changes and removes, by primary key."""

    added: int = 0
    changed: int = 0
    removed: int = 0


@dataclass
class Change:
    """What a new build changes against the latest version, and the level that follows."""

    level: Level
    reasons: list[str] = field(default_factory=list)
    tables: dict[str, TableChanges] = field(default_factory=dict)

    def raise_to(self, level: Level, reason: str) -> None:
        """Records ``reason`` and lifts the level to ``level`` if higher (a level never goes down)."""
        self.level = max(self.level, level)
        self.reasons.append(reason)


def fingerprint(digests: dict[str, str]) -> str:
    """sha256 over the sorted names and sha256 digests of a version's data and schema files."""
    lines = "".join(f"{name} {digest}\n" for name, digest in sorted(digests.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def bump(version: str | None, level: Level) -> str:
    """The version number after ``version`` for a change of ``level``; ``1.0.0`` when there is none yet.

    ``NONE`` bumps the patch like ``PATCH``. Raises ``PublishError`` if ``version`` is not x.y.z."""
    if version is None:
        return "1.0.0"
    match = VERSION_PATTERN.match(version)
    if match is None:
        raise PublishError(f"Numéro de version invalide dans l'historique : {version}")
    major, minor, patch = (int(g) for g in match.groups())
    if level == Level.MAJOR:
        return f"{major + 1}.0.0"
    if level == Level.MINOR:
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def _compare_schema(table: str, old: dict[str, Any], new: dict[str, Any], change: Change) -> None:
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    for name, before in old_fields.items():
        after = new_fields.get(name)
        if after is None:
            change.raise_to(Level.MAJOR, f"{table}: champ {name} supprimé ou renommé")
        elif after.get("type") != before.get("type"):
            change.raise_to(Level.MAJOR, f"{table}: type du champ {name} modifié")
        elif after.get("constraints", {}) != before.get("constraints", {}):
            old_c, new_c = before.get("constraints", {}), after.get("constraints", {})
            # Relaxed only when constraints were dropped and none kept was altered.
            widened = set(new_c) <= set(old_c) and all(old_c[k] == new_c[k] for k in new_c)
            if widened:
                change.raise_to(Level.MINOR, f"{table}: contraintes du champ {name} assouplies")
            else:
                change.raise_to(Level.MAJOR, f"{table}: contraintes du champ {name} modifiées")
    for name in [n for n in new_fields if n not in old_fields]:  # schema order, not a set's
        if new_fields[name].get("constraints", {}).get("required"):
            change.raise_to(Level.MAJOR, f"{table}: champ obligatoire {name} ajouté")
        else:
            change.raise_to(Level.MINOR, f"{table}: champ facultatif {name} ajouté")
    if primary_key(old) != primary_key(new):
        change.raise_to(Level.MAJOR, f"{table}: clé primaire modifiée")


def row_key(row: dict[str, Any], key: list[str]) -> tuple[str, ...]:
    """A row's primary key as comparable text (JSON of each key value)."""
    return tuple(json.dumps(row.get(k), ensure_ascii=False) for k in key)


@dataclass
class TableDiff:
    """Row-level differences of one table between two versions, by primary key."""

    key: list[str]
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    # (old row, new row, {field: (old value, new value)}) for rows whose key is in both.
    changed: list[tuple[dict[str, Any], dict[str, Any], dict[str, tuple[Any, Any]]]] = field(
        default_factory=list
    )

    @property
    def counts(self) -> TableChanges:
        """The table's number of added, changed and removed rows."""
        return TableChanges(len(self.added), len(self.changed), len(self.removed))


def diff_table(old_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]], key: list[str]) -> TableDiff:
    """Rows added, removed and changed between two lists of one table's rows, matched by ``key``.

    Each list comes in key order; a changed row comes with the fields whose values differ."""
    before = {row_key(r, key): r for r in old_rows}
    after = {row_key(r, key): r for r in new_rows}
    diff = TableDiff(key)
    diff.added = [after[k] for k in sorted(after.keys() - before.keys())]
    diff.removed = [before[k] for k in sorted(before.keys() - after.keys())]
    for k in sorted(after.keys() & before.keys()):
        old, new = before[k], after[k]
        if old != new:
            fields = {
                f: (old.get(f), new.get(f))
                for f in sorted(old.keys() | new.keys())
                if old.get(f) != new.get(f)
            }
            diff.changed.append((old, new, fields))
    return diff


def classify_change(
    old_rows: dict[str, list[dict[str, Any]]],
    new_rows: dict[str, list[dict[str, Any]]],
    old_schemas: dict[str, dict[str, Any]],
    new_schemas: dict[str, dict[str, Any]],
    *,
    counts: Callable[[str, list[str]], TableChanges] | None = None,
) -> Change:
    """The semantic-versioning level of a new build, table by table, by primary key.

    Rows changed or removed: PATCH. Rows added, optional fields added, constraints
    relaxed: MINOR. A field removed, renamed or retyped, a constraint narrowed or a
    primary key changed: MAJOR. Metadata-only changes (titles, descriptions): PATCH.
    Rows are counted by ``counts(table, key)`` when given (large tables, on Arrow
    columns), else by ``diff_table`` on ``old_rows`` and ``new_rows``.
    """
    count = counts or (lambda table, key: diff_table(old_rows[table], new_rows[table], key).counts)
    change = Change(Level.NONE)
    for table in sorted(old_schemas.keys() - new_schemas.keys()):
        change.raise_to(Level.MAJOR, f"table {table} supprimée")
    for table in sorted(new_schemas):
        new_schema = new_schemas[table]
        if table not in old_schemas:
            change.raise_to(Level.MINOR, f"table {table} ajoutée")
            change.tables[table] = (
                TableChanges(added=len(new_rows[table]))
                if counts is None
                else counts(table, primary_key(new_schema))
            )
            continue
        old_schema = old_schemas[table]
        _compare_schema(table, old_schema, new_schema, change)
        if change.level < Level.PATCH and old_schema != new_schema:
            change.raise_to(Level.PATCH, f"{table}: documentation du schéma modifiée")
        found = count(table, primary_key(new_schema))
        change.tables[table] = found
        if found.added:
            change.raise_to(Level.MINOR, f"{table}: {found.added} ligne(s) ajoutée(s)")
        if found.changed:
            change.raise_to(Level.PATCH, f"{table}: {found.changed} ligne(s) modifiée(s)")
        if found.removed:
            change.raise_to(Level.PATCH, f"{table}: {found.removed} ligne(s) supprimée(s)")
    return change


def version_tuple(version: str) -> tuple[int, int, int]:
    """A version number as integers, so that versions compare numerically.

    Raises ``PublishError`` if it is not x.y.z."""
    match = VERSION_PATTERN.match(version)
    if match is None:
        raise PublishError(f"Numéro de version invalide dans l'historique : {version}")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch
