"""Core: a Frictionless Table Schema, read from ``schemas/`` and said in Arrow's types.

Every stage reads a table's schema through :func:`load_schema` (a missing or unreadable
schema is a :class:`ConfigError`); the Arrow type of each field, the primary key and the
Python value of an Arrow scalar are decided here once, so that the build, the validators
and the writers agree on them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.core.errors import ConfigError

TableSchema = dict[str, Any]

_SCALAR_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("s", tz="UTC"),
    "year": pa.int32(),
}


def load_schema(schemas_dir: Path, table: str) -> TableSchema:
    path = schemas_dir / f"{table}.json"
    try:
        schema: TableSchema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Schéma introuvable pour la table {table} : {path}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"Schéma illisible ({path}) : {exc}") from exc
    if schema.get("name") != table:
        raise ConfigError(f"Le schéma {path} s'appelle « {schema.get('name')} », pas « {table} ».")
    return schema


def arrow_type(field: dict[str, Any]) -> pa.DataType:
    """The Arrow type a Table Schema field is stored as (Parquet keeps it)."""
    kind = field.get("type", "string")
    if kind == "array":
        item = field.get("arrayItem", {}).get("type", "string")
        if item not in _SCALAR_TYPES:
            raise ConfigError(f"Type d'élément de tableau non pris en charge : {item}")
        return pa.list_(_SCALAR_TYPES[item])
    if kind not in _SCALAR_TYPES:
        raise ConfigError(f"Type de champ non pris en charge : {kind} ({field.get('name')})")
    return _SCALAR_TYPES[kind]


def arrow_schema(schema: TableSchema) -> pa.Schema:
    """Arrow schema with each field's French title and description as field metadata."""
    return pa.schema(
        [
            pa.field(
                f["name"],
                arrow_type(f),
                # Required-ness is the schema's to check (frictionless reports it as
                # data); a non-nullable Arrow field would turn bad data into a crash.
                nullable=True,
                metadata={
                    "title": f.get("title", ""),
                    "description": f.get("description", ""),
                },
            )
            for f in schema["fields"]
        ]
    )


def python_value(value: Any) -> Any:
    """A JSON-ready scalar: dates in ISO 8601, everything else as it is."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [python_value(v) for v in value]
    return value


def primary_key(schema: TableSchema) -> list[str]:
    """The fields that order published rows: the primary key, or every field without one."""
    key = schema.get("primaryKey") or [f["name"] for f in schema["fields"]]
    return [key] if isinstance(key, str) else list(key)
