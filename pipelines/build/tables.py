"""Build stage: rows into typed Arrow tables that follow a Frictionless Table Schema.

Arrow is the in-memory form of every published table: the writers of all three formats
read the same typed columns, so CSV, Parquet and JSON cannot disagree on a value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.core.errors import ConfigError
from pipelines.core.schema import TableSchema, arrow_schema, primary_key

# Rows formatted at a time: enough for Arrow to work column-wise, little for memory.
SLICE_ROWS = 65_536


def _sort_key(value: Any) -> tuple[int, Any]:
    # Nulls first, then values in their natural (typed) order.
    return (0, "") if value is None else (1, value)


def to_arrow(rows: list[dict[str, Any]], schema: TableSchema) -> pa.Table:
    """Typed table with rows sorted by primary key (the published row order)."""
    names = [f["name"] for f in schema["fields"]]
    for position, row in enumerate(rows):
        unexpected = set(row) - set(names)
        if unexpected:
            raise ConfigError(
                f"Ligne {position} de {schema['name']} : colonnes absentes du schéma {sorted(unexpected)}."
            )
    key = primary_key(schema)
    table = pa.Table.from_pydict({n: [r.get(n) for r in rows] for n in names}, schema=arrow_schema(schema))
    if any(pa.types.is_list(table.schema.field(k).type) for k in key):
        ordered = sorted(rows, key=lambda r: tuple(_sort_key(r.get(k)) for k in key))
        return pa.Table.from_pydict(
            {n: [r.get(n) for r in ordered] for n in names}, schema=arrow_schema(schema)
        )
    # Arrow's stable sort, nulls first: the order of Python's sort on the typed values
    # (UTF-8 bytes sort as code points), without a Python comparison per row.
    order = pc.sort_indices(table, sort_keys=[(k, "ascending", "at_start") for k in key])
    return table.take(order)


def sorted_by_key(table: pa.Table, schema: TableSchema) -> pa.Table:
    """An Arrow table (already typed, e.g. from a columnar check) in the published order."""
    table = table.cast(arrow_schema(schema))
    key = primary_key(schema)
    if any(pa.types.is_list(table.schema.field(k).type) for k in key):
        return to_arrow(table.to_pylist(), schema)
    order = key_order(table, key)
    if pc.all(pc.equal(order, pa.array(np.arange(len(order), dtype=np.uint64)))).as_py() is not False:
        return table  # already in order: the same table, not a copy
    if table.nbytes < 1 << 30:
        return table.take(order)
    return _take_large(table, order)


def key_order(table: pa.Table, key: list[str]) -> pa.Array:
    """Arrow's stable ascending sort on ``key``, nulls first, with text keys sorted once per
    distinct value: each text column is replaced by the rank of its value among the sorted
    distinct values (a few dozen action ids for millions of rows), so the sort compares
    integers. Same order as sorting the texts (a property test checks it)."""
    columns = {}
    for name in key:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            encoded = pc.dictionary_encode(column).unify_dictionaries()
            distinct = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([], column.type)
            rank_of = pc.rank(distinct, sort_keys="ascending", tiebreaker="first")
            column = pa.chunked_array([rank_of.take(c.indices) for c in encoded.chunks], pa.uint64())
        columns[name] = column
    ranked = pa.table(columns) if columns else table
    return pc.sort_indices(ranked, sort_keys=[(k, "ascending", "at_start") for k in key])


def _take_large(table: pa.Table, order: pa.Array, part_bytes: int = 1 << 30) -> pa.Table:
    """``table.take(order)`` for tables whose text columns exceed 2 GiB (tens of millions
    of rows): Arrow's ``string`` has 32-bit offsets, so the rows are gathered from one
    ``large_string`` copy, a part of under ``part_bytes`` at a time, each its own chunk."""
    wide_schema = pa.schema(
        [f.with_type(pa.large_string()) if pa.types.is_string(f.type) else f for f in table.schema],
        metadata=table.schema.metadata,
    )
    wide = table.cast(wide_schema).combine_chunks()
    step = max(1, int(part_bytes * table.num_rows / max(1, table.nbytes)))
    parts = [wide.take(order.slice(start, step)).cast(table.schema) for start in range(0, len(order), step)]
    return pa.concat_tables(parts)


def build_tables(
    records: dict[str, list[dict[str, Any]]] | dict[str, Any], schemas: dict[str, TableSchema]
) -> dict[str, Any]:
    """Every table of a dataset as a typed Arrow table, ready for the writers.

    A table already on disk in key order (``pipelines.spill.SpilledTable``) is kept as is.
    """
    missing = schemas.keys() - records.keys()
    if missing:
        raise ConfigError(f"Tables attendues mais non produites : {sorted(missing)}")
    built: dict[str, Any] = {}
    for name, schema in schemas.items():
        given = records[name]
        if isinstance(given, list):
            built[name] = to_arrow(given, schema)
        elif isinstance(given, pa.Table):
            built[name] = sorted_by_key(given, schema)
        else:
            built[name] = given
    return built
