"""Publish stage: one dataset's tables to a new immutable version, or to nothing if unchanged.

Order of work, chosen so that a failure at any step leaves what is served untouched:
write every file in memory and hash it once → fingerprint → compare with the latest version (unchanged:
stop) → stage → validate the staged package with frictionless (errors: discard the
staging, raise; frictionless re-reads every staged file and checks its bytes and sha256
against the descriptor, so a file damaged on its way to disk fails here too) → rename into place → version log → ``latest``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.config import DatasetConfig
from pipelines.errors import Issue, PublishError, ValidationFailed
from pipelines.tables import TableSchema
from publish import versions as v
from publish.metadata.datapackage import FileFacts, build_datapackage, datapackage_bytes
from publish.writers import FORMATS, WRITERS

Validator = Callable[[Path], list[Issue]]


@dataclass(frozen=True)
class ReleaseResult:
    slug: str
    version: str
    published: bool
    rows: dict[str, int]


def publication_date() -> str:
    """Today (UTC), or the day of ``SOURCE_DATE_EPOCH`` for reproducible rebuilds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    )
    return moment.date().isoformat()


def _schema_bytes(schema: TableSchema) -> bytes:
    return json.dumps(schema, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _read_version(version_dir: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, TableSchema]]:
    """Rows (from the JSON files) and schemas (from datapackage.json) of a published version."""
    descriptor = json.loads((version_dir / "datapackage.json").read_text(encoding="utf-8"))
    schemas = {r["name"]: r["schema"] for r in descriptor["resources"] if "schema" in r}
    rows = {
        name: json.loads((version_dir / f"{name}.json").read_text(encoding="utf-8"))
        for name in schemas
    }
    return rows, schemas


def _report(tables: dict[str, pa.Table]) -> bytes:
    document = {
        "valide": True,
        "erreurs": [],
        "tables": {name: {"lignes": table.num_rows} for name, table in sorted(tables.items())},
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def release_dataset(
    out: Path,
    config: DatasetConfig,
    schemas: dict[str, TableSchema],
    tables: dict[str, pa.Table],
    validate: Validator,
) -> ReleaseResult:
    """Publishes ``tables`` under ``out/datasets/<slug>/`` as a new version if they changed.

    Guarantees: an unchanged build publishes nothing; a build with any frictionless error
    publishes nothing and raises :class:`ValidationFailed` with every issue; a version
    folder, once renamed into place, is never rewritten.
    """
    dataset_dir = out / "datasets" / config.slug
    rows = {name: tables[name].num_rows for name in config.tables}
    data_files = {
        f"{name}.{fmt}": WRITERS[fmt](tables[name]) for name in config.tables for fmt in FORMATS
    }
    facts = {name: FileFacts.of(content) for name, content in data_files.items()}
    fingerprint = v.fingerprint({
        **{name: f.sha256 for name, f in facts.items()},
        **{
            f"schemas/{name}.json": FileFacts.of(_schema_bytes(schemas[name])).sha256
            for name in config.tables
        },
    })
    history = v.read_versions(dataset_dir)
    latest = history[-1] if history else None
    if latest is not None and latest["fingerprint"] == fingerprint:
        return ReleaseResult(config.slug, latest["version"], False, rows)

    if latest is None:
        change = v.Change(v.Level.MAJOR, ["première publication"])
        change.tables = {name: v.TableChanges(added=n) for name, n in rows.items()}
    else:
        # Rows compared as published (JSON values), the same form as the old version's.
        new_rows = {name: json.loads(data_files[f"{name}.json"]) for name in config.tables}
        old_rows, old_schemas = _read_version(dataset_dir / latest["version"])
        change = v.classify_change(old_rows, new_rows, old_schemas, dict(schemas))
        if change.level == v.Level.NONE:
            change.raise_to(v.Level.PATCH, "fichiers régénérés à l'identique des données")
    version = v.bump(latest["version"] if latest else None, change.level)

    descriptor = build_datapackage(config, version, schemas, facts)
    files = {
        **data_files,
        "datapackage.json": datapackage_bytes(descriptor),
        "report.json": _report(tables),
    }
    staging = out / v.STAGING_DIR / f"{config.slug}-{version}-{os.getpid()}"
    target = dataset_dir / version
    if target.exists():
        # A folder no version log lists: a run stopped between rename and log. It was
        # never announced; keep it aside rather than overwrite or serve it.
        if any(entry["version"] == version for entry in history):
            raise PublishError(f"La version {version} est déjà publiée pour {config.slug}.")
        aside = out / v.STAGING_DIR / f"abandoned-{config.slug}-{version}-{os.getpid()}"
        os.rename(target, aside)
    try:
        v.stage_files(staging, files)
        issues = validate(staging / "datapackage.json")
        if issues:
            raise ValidationFailed(
                f"Le jeu de données {config.slug} contient {len(issues)} erreur(s) : "
                "rien n'a été publié.",
                issues,
                hint="Corrigez la source ou le référentiel indiqués, puis relancez.",
            )
        v.commit_version(staging, dataset_dir, version)
    finally:
        if staging.exists():
            shutil.rmtree(staging)

    entry = {
        "version": version,
        "date": publication_date(),
        "fingerprint": fingerprint,
        "level": change.level.name.lower(),
        "reasons": change.reasons,
        "tables": {
            name: {"added": c.added, "changed": c.changed, "removed": c.removed}
            for name, c in sorted(change.tables.items())
        },
    }
    history = [*history, entry]
    v.write_atomically(dataset_dir / v.VERSIONS_FILE, v.render_versions(config.slug, history))
    v.write_atomically(dataset_dir / v.CHANGELOG_FILE, v.render_changelog(config.title, history))
    v.point_latest(dataset_dir, version)
    return ReleaseResult(config.slug, version, True, rows)
