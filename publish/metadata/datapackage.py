"""Publish stage: the Frictionless Data Package descriptor of one version.

Every file of the version is a resource with its ``bytes`` and ``hash`` (sha256), so
that ``frictionless validate datapackage.json`` checks integrity as well as content.
The CSV file of each table is the tabular resource (with its inline schema, primary and
foreign keys); its Parquet and JSON twins are file resources holding the same rows. A
dataset's workbook (its tables as sheets of one xlsx file) is one more file resource.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pipelines.core.config import DatasetConfig
from pipelines.core.schema import TableSchema
from publish.workbook import MEDIA_TYPE as WORKBOOK_MEDIA_TYPE
from publish.workbook import workbook_name
from publish.writers import FORMATS

MEDIA_TYPES = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
    "xlsx": WORKBOOK_MEDIA_TYPE,
}
# The workbook's resource name: no table has it.
WORKBOOK = "classeur"

# Keys of a published schema that describe the schema document itself rather than the
# table (they stay in schemas/*.json, the schema's own home).
_SCHEMA_DOCUMENT_KEYS = {"$schema"}


@dataclass(frozen=True)
class FileFacts:
    """Size and sha256 of a file, computed once per file and build."""

    bytes: int
    sha256: str

    @classmethod
    def of(cls, content: builtins.bytes) -> FileFacts:
        """The facts of bytes held in memory (schemas); data files are measured as they stream out."""
        return cls(len(content), hashlib.sha256(content).hexdigest())


def published_schema(schema: TableSchema, tables: tuple[str, ...]) -> TableSchema:
    """The schema as a package resource carries it.

    A foreign key to a table of another dataset (the progress reports point at the plan's
    actions) cannot be checked inside this package: it is checked when the version is
    built (see ``validate_datapackage``'s ``references``) and documented in the field's
    description, but left out of the descriptor so that the package validates on its own.
    """
    kept = {k: v for k, v in schema.items() if k not in _SCHEMA_DOCUMENT_KEYS}
    if "foreignKeys" in kept:
        local = [fk for fk in kept["foreignKeys"] if fk["reference"].get("resource", "") in ("", *tables)]
        kept["foreignKeys"] = local
        if not local:
            del kept["foreignKeys"]
    return kept


def resource_name(table: str, fmt: str) -> str:
    """The CSV of a table is the tabular resource named after it; its twins are suffixed."""
    return table if fmt == "csv" else f"{table}-{fmt}"


def table_of(resource: dict[str, Any]) -> str | None:
    """The table a resource of a descriptor holds (the inverse of ``resource_name``); None
    for the workbook, which holds several."""
    name, fmt = str(resource["name"]), str(resource["format"])
    if name == WORKBOOK:
        return None
    return name.removesuffix(f"-{fmt}") if fmt != "csv" else name


def workbook_resource(config: DatasetConfig, facts: FileFacts) -> dict[str, Any]:
    """The workbook as a file resource: its sheets named in its description."""
    sheets = ", ".join(config.workbook)
    return {
        "name": WORKBOOK,
        "path": workbook_name(config.slug),
        "title": "Classeur de toutes les tables (XLSX)",
        "description": f"Les tables {sheets} dans un classeur pour tableur, une feuille par table "
        "(mêmes lignes et mêmes colonnes que leurs fichiers CSV ; cellules typées : nombres, dates, "
        "heures en UTC ; titre et description de chaque colonne en commentaire de son en-tête).",
        "format": "xlsx",
        "mediatype": WORKBOOK_MEDIA_TYPE,
        "bytes": facts.bytes,
        "hash": f"sha256:{facts.sha256}",
        "type": "file",
    }


def build_datapackage(
    config: DatasetConfig,
    version: str,
    schemas: dict[str, TableSchema],
    files: dict[str, FileFacts],
) -> dict[str, Any]:
    """The descriptor as a dict; ``files`` maps ``<table>.<format>`` to the file's facts.

    It holds nothing that varies between two builds of the same inputs (no build time),
    so a version rebuilt from scratch is byte-identical.
    """
    resources: list[dict[str, Any]] = []
    for table in config.tables:
        schema = schemas[table]
        for fmt in FORMATS:
            path = f"{table}.{fmt}"
            resource: dict[str, Any] = {
                "name": resource_name(table, fmt),
                "path": path,
                "title": schema["title"] + ("" if fmt == "csv" else f" ({fmt.upper()})"),
                "description": schema["description"],
                "format": fmt,
                "mediatype": MEDIA_TYPES[fmt],
                "bytes": files[path].bytes,
                "hash": f"sha256:{files[path].sha256}",
            }
            if fmt == "csv":
                resource.update(
                    {
                        "type": "table",
                        "scheme": "file",
                        "encoding": "utf-8",
                        "dialect": {"csv": {"delimiter": ",", "lineTerminator": "\n"}},
                        "schema": published_schema(schema, config.tables),
                    }
                )
            else:
                resource["type"] = "file"
            resources.append(resource)
    if config.workbook:
        resources.append(workbook_resource(config, files[workbook_name(config.slug)]))
    return {
        "name": config.slug,
        "id": config.slug,
        "title": config.title,
        "description": config.description,
        "version": version,
        "keywords": list(config.keywords),
        "licenses": [{"name": config.licence.id, "title": config.licence.title, "path": config.licence.url}],
        "contributors": [{"title": config.publisher.name, "role": "publisher"}],
        "sources": [config.source.provenance()],
        "resources": resources,
    }


def datapackage_bytes(descriptor: dict[str, Any]) -> bytes:
    """``datapackage.json`` as written: UTF-8 JSON, two-space indent, keys in the descriptor's order."""
    return (json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
