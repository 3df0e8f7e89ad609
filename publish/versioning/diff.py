"""Publish stage: the row-level differences between two published versions of a dataset.

Read from the published JSON files and schemas of both versions, compared table by table
by primary key: which keys were added or removed, and for each changed row which fields
went from which value to which. What ``ogp diff`` prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.core.errors import PublishError
from pipelines.core.schema import primary_key
from publish import versioning as v


@dataclass
class VersionDiff:
    """What changed from version ``old`` to ``new``: the versioning level's reasons and each table's rows."""

    old: str
    new: str
    reasons: list[str]
    tables: dict[str, v.TableDiff]


def diff_versions(dataset_dir: Path, old: str, new: str) -> VersionDiff:
    """The row-level differences between two published versions of the dataset in ``dataset_dir``.

    Tables present in either version are compared, by the newer schema's primary key when it has
    the table. Raises ``PublishError`` naming the published versions if either one is missing."""
    for version in (old, new):
        if not (dataset_dir / version / "datapackage.json").is_file():
            known = ", ".join(e.version for e in v.read_versions(dataset_dir)) or "aucune"
            raise PublishError(
                f"Version {version} introuvable dans {dataset_dir} (versions publiées : {known}).",
                hint="Choisissez deux versions listées par ogp versions.",
            )
    old_rows, old_schemas = v.read_version(dataset_dir / old)
    new_rows, new_schemas = v.read_version(dataset_dir / new)
    change = v.classify_change(old_rows, new_rows, old_schemas, new_schemas)
    tables = {}
    for table in sorted(old_schemas.keys() | new_schemas.keys()):
        key = primary_key(new_schemas.get(table) or old_schemas[table])
        tables[table] = v.diff_table(old_rows.get(table, []), new_rows.get(table, []), key)
    return VersionDiff(old, new, change.reasons, tables)


def _value(value: Any) -> str:
    if value is None:
        return "(vide)"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 120 else text[:119] + "…"


def _key_text(row: dict[str, Any], key: list[str]) -> str:
    return " / ".join(str(row.get(k)) for k in key)


def render_diff(slug: str, diff: VersionDiff) -> str:
    """French text: the level's reasons, then per table ``+`` added, ``-`` removed, ``~`` changed."""
    lines = [f"{slug} : de {diff.old} à {diff.new}"]
    lines += [f"  motif : {reason}" for reason in diff.reasons] or ["  aucune différence"]
    for table, t in diff.tables.items():
        counts = t.counts
        if not (counts.added or counts.removed or counts.changed):
            continue
        lines.append(
            f"\n[{table}] clé {', '.join(t.key)} : {counts.added} ajoutée(s), "
            f"{counts.changed} modifiée(s), {counts.removed} supprimée(s)"
        )
        for row in t.added:
            lines.append(f"+ {_key_text(row, t.key)}")
        for row in t.removed:
            lines.append(f"- {_key_text(row, t.key)}")
        for _, new, fields in t.changed:
            lines.append(f"~ {_key_text(new, t.key)}")
            lines += [
                f"    {name} : {_value(before)} → {_value(after)}" for name, (before, after) in fields.items()
            ]
    return "\n".join(lines) + "\n"
