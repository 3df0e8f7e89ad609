"""Publish stage: CSV, Parquet and JSON files from a typed Arrow table, byte for byte deterministic.

Each writer returns the file's bytes rather than writing to a path, so that the caller
hashes exactly what it writes and a version's fingerprint is known before any file lands.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
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


# Column types whose Arrow text cast is exactly ``csv_cell``'s text; other columns (numbers:
# Arrow writes 1.0 as "1"; arrays: compact JSON; timestamps) go through ``csv_cell``.
_CAST_AS_TEXT = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer,
                 pa.types.is_boolean, pa.types.is_date32)
_NEEDS_QUOTES = r'[,"\r\n]'


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _cell_texts(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Every cell of a column as CSV text (quoted where RFC 4180 needs it), column-wise."""
    if any(check(column.type) for check in _CAST_AS_TEXT):
        text = pc.cast(column, pa.large_string())
    else:
        text = pa.chunked_array([pa.array([csv_cell(v) for v in column.to_pylist()], pa.large_string())])
    text = pc.fill_null(text, "")
    quote = _text('"')
    quoted = pc.binary_join_element_wise(quote, pc.replace_substring(text, '"', '""'), quote, _text(""))
    return pc.if_else(pc.match_substring_regex(text, _NEEDS_QUOTES), quoted, text)


def _join(texts: pa.ChunkedArray, separator: str) -> str:
    """The whole column as one string, in one Arrow call (large offsets: no 2 GiB limit)."""
    joined = pc.binary_join(pa.LargeListArray.from_arrays(
        pa.array([0, len(texts)], pa.int64()), texts.combine_chunks()), _text(separator))
    return joined[0].as_py()


def write_csv(table: pa.Table) -> bytes:
    """UTF-8 without BOM, comma, header row, RFC 4180 quoting (only where needed), ``\\n``.

    Built column by column with Arrow compute (no Python loop per row for text, integer,
    boolean and date columns); byte for byte what Python's ``csv`` module writes with
    minimal quoting, which a property test checks.
    """
    header = _cell_texts(pa.chunked_array([pa.array(table.column_names, pa.large_string())]))
    columns = [_cell_texts(table.column(i)) for i in range(table.num_columns)]
    if table.num_columns == 1:
        # The csv module writes a lone empty cell as "" so that the row is not blank.
        columns = [pc.if_else(pc.equal(columns[0], _text("")), _text('""'), columns[0])]
        header = pc.if_else(pc.equal(header, _text("")), _text('""'), header)
    lines = [",".join(header.to_pylist())]
    if table.num_rows:
        rows = columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, _text(","))
        lines.append(_join(rows, "\n"))
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_parquet(table: pa.Table) -> bytes:
    """Parquet typed from the schema: no pandas index, fields carry title and description."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **_PARQUET_OPTIONS)
    return sink.getvalue().to_pybytes()


# JSON string escapes of json.dumps(ensure_ascii=False): backslash first, then the rest.
_JSON_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
                 ("\b", "\\b"), ("\f", "\\f")] + [
    (chr(c), f"\\u{c:04x}") for c in range(32) if chr(c) not in "\n\r\t\b\f"]


def _json_string(text: pa.ChunkedArray) -> pa.ChunkedArray:
    for raw, escaped in _JSON_ESCAPES[:3]:
        text = pc.replace_substring(text, raw, escaped)
    if pc.any(pc.match_substring_regex(text, r"[\x00-\x1f]")).as_py():
        for raw, escaped in _JSON_ESCAPES[3:]:
            text = pc.replace_substring(text, raw, escaped)
    quote = _text('"')
    return pc.binary_join_element_wise(quote, text, quote, _text(""))


def _json_values(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Every value of a column as json.dumps writes it one level inside an object."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_date32(kind):
        text = _json_string(pc.cast(column, pa.large_string()))
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        text = pc.cast(column, pa.large_string())
    else:  # numbers (repr form), arrays (nested indentation), timestamps: as json.dumps does
        text = pa.chunked_array([pa.array(
            [None if v is None else json.dumps(python_value(v), ensure_ascii=False, indent=2,
                                               allow_nan=False).replace("\n", "\n    ")
             for v in column.to_pylist()], pa.large_string())])
    return pc.fill_null(text, _text("null"))


def write_json(table: pa.Table) -> bytes:
    """An array of objects with typed values, ``null`` for empty, one key order for all.

    Built column by column like the CSV: byte for byte ``json.dumps(rows, indent=2,
    ensure_ascii=False)``, which a property test checks.
    """
    if table.num_rows == 0:
        return b"[]\n"
    members = []
    for name in table.column_names:
        key = json.dumps(name, ensure_ascii=False)
        members.append(pc.binary_join_element_wise(_text(f"    {key}: "), _json_values(table.column(name)),
                                                   _text("")))
    body = members[0] if len(members) == 1 else pc.binary_join_element_wise(*members, _text(",\n"))
    objects = pc.binary_join_element_wise(_text("  {\n"), body, _text("\n  }"), _text(""))
    return ("[\n" + _join(objects, ",\n") + "\n]\n").encode("utf-8")


WRITERS = {"csv": write_csv, "parquet": write_parquet, "json": write_json}
FORMATS = tuple(WRITERS)
