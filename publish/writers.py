"""Publish stage: CSV, Parquet and JSON files from a typed Arrow table, byte for byte deterministic.

Each writer returns the file's bytes rather than writing to a path, so that the caller
hashes exactly what it writes and a version's fingerprint is known before any file lands.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.tables import python_value

# Parquet options fixed here so that the same table always gives the same bytes (for a
# given pyarrow version, whose name Parquet records in `created_by`).
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_version": "2.0",
    "version": "2.6",
}


def csv_cell(value: Any) -> str:
    """One CSV cell as Table Schema's default formats read it back.

    Empty for null; ``true``/``false``; ISO 8601 dates; arrays as compact JSON (the
    ``array`` type's CSV form); numbers in their shortest round-trip form.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"nombre non fini : {value}")
        return repr(value)
    if isinstance(value, list):
        return json.dumps(python_value(value), ensure_ascii=False, separators=(",", ":"))
    plain = python_value(value)
    return plain if isinstance(plain, str) else str(plain)


def write_csv(table: pa.Table) -> bytes:
    """UTF-8 without BOM, comma, header row, RFC 4180 quoting (only where needed), ``\\n``."""
    # The csv module quotes a cell only for the characters of its line terminator: with
    # "\r\n" it quotes cells holding either; each row's "\r\n" then becomes "\n".
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    lines = []
    for cells in [table.column_names, *([csv_cell(v) for v in row.values()] for row in table.to_pylist())]:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        lines.append(buffer.getvalue()[:-2] + "\n")
    return "".join(lines).encode("utf-8")


def write_parquet(table: pa.Table) -> bytes:
    """Parquet typed from the schema: no pandas index, fields carry title and description."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **_PARQUET_OPTIONS)
    return sink.getvalue().to_pybytes()


def write_json(table: pa.Table) -> bytes:
    """An array of objects with typed values, ``null`` for empty, one key order for all."""
    records = [{k: python_value(v) for k, v in row.items()} for row in table.to_pylist()]
    text = json.dumps(records, ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


WRITERS = {"csv": write_csv, "parquet": write_parquet, "json": write_json}
FORMATS = tuple(WRITERS)
