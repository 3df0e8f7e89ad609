"""Publish stage: CSV, Parquet and JSON files from a typed Arrow table, byte for byte deterministic.

Each writer streams the file to a binary stream, a slice of rows at a time, so that a
table of millions of rows never exists twice in memory as text; ``write_*`` return the
bytes of small files. The caller hashes what it writes (``HashingWriter``).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.build.tables import SLICE_ROWS
from pipelines.core.schema import python_value
from pipelines.io.background import InOrder

# Parquet options fixed here so that the same table always gives the same bytes (for a
# given pyarrow version, whose name Parquet records in `created_by`).
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    # Level 3 (zstd's default): 4 % larger than level 9 here, five times faster to write.
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_version": "2.0",
    "version": "2.6",
}


# What each revision of the writers changed in the bytes they write from the same rows, in
# French, for the changelog: a version records the revision it was written with
# (``format`` in ``versions.json``; entries without one were written by revision 1), and
# the first version a dataset publishes with a newer one says what changed and why.
FORMAT_REVISION = 2
FORMAT_CHANGES = {
    2: "nombres entiers écrits sans partie décimale dans les fichiers CSV et JSON (3 et non 3.0), "
    "pour que les tableurs les lisent comme des nombres ; les valeurs ne changent pas",
}


def published_value(value: Any) -> Any:
    """A value as the CSV and JSON files write it (``python_value``), an integral number as
    an integer: ``3``, not ``3.0``, which French spreadsheets read as text. Exact: ``int``
    of a double is its exact value; Parquet keeps the ``double``."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"nombre non fini : {value}")
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [published_value(v) for v in value]
    return python_value(value)


def csv_cell(value: Any) -> str:
    """One CSV cell as Table Schema's default formats read it back.

    Empty for null; ``true``/``false``; ISO 8601 dates; arrays as compact JSON (the
    ``array`` type's CSV form); integral numbers as integers, others in their shortest
    round-trip form with ``.`` as the decimal separator.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(published_value(value), ensure_ascii=False, separators=(",", ":"))
    plain = published_value(value)
    return plain if isinstance(plain, str) else repr(plain) if isinstance(plain, float) else str(plain)


# Column types whose Arrow text cast is exactly ``csv_cell``'s text; other columns (numbers:
# Arrow writes 1.0 as "1"; arrays: compact JSON; timestamps) go through ``csv_cell``.
_CAST_AS_TEXT = (
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_integer,
    pa.types.is_boolean,
    pa.types.is_date32,
)
_NEEDS_QUOTES = r'[,"\r\n]'


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


# Types whose text never holds a comma, a quote or a line break (digits, signs, ISO dates,
# true/false): no quoting pass is needed.
_NEVER_QUOTED = (pa.types.is_integer, pa.types.is_boolean, pa.types.is_date32)


_ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"  # python_value's text of a datetime


def _utc_seconds_text(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A UTC timestamp column (Table Schema ``datetime``, whole seconds) as ``python_value``
    writes each value (``2023-07-03T09:15:00Z``), in one Arrow call; ``None`` when Arrow's
    text could differ from Python's (another unit or zone, a year outside 1000-9999)."""
    kind = column.type
    if not (pa.types.is_timestamp(kind) and kind.unit == "s" and kind.tz in ("UTC", "+00:00")):
        return None
    if column.null_count < len(column):
        bounds = pc.min_max(column)  # on the timestamps themselves: no array of years is made
        if bounds["min"].as_py().year < 1000 or bounds["max"].as_py().year > 9999:
            return None
    return pc.cast(pc.strftime(column, format=_ISO_SECONDS), pa.large_string())


def _cell_texts(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Every cell of a column as CSV text (quoted where RFC 4180 needs it), column-wise."""
    timestamps = _utc_seconds_text(column)
    if timestamps is not None:  # digits, dashes, colons, T and Z: never quoted
        return pc.fill_null(timestamps, _text(""))
    if any(check(column.type) for check in _CAST_AS_TEXT):
        text = pc.fill_null(pc.cast(column, pa.large_string()), "")
        if any(check(column.type) for check in _NEVER_QUOTED):
            return text
    else:
        text = pa.chunked_array([pa.array([csv_cell(v) for v in column.to_pylist()], pa.large_string())])
    needs = pc.match_substring_regex(text, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return text
    quote = _text('"')
    quoted = pc.binary_join_element_wise(quote, pc.replace_substring(text, '"', '""'), quote, _text(""))
    return pc.if_else(needs, quoted, text)


def _join(texts: pa.ChunkedArray, separator: str) -> pa.Buffer:
    """The whole column as one UTF-8 text, in one Arrow call (large offsets: no 2 GiB limit).

    An Arrow buffer, written as it is (no copy into a Python ``bytes``)."""
    values = texts.chunk(0) if texts.num_chunks == 1 else texts.combine_chunks()
    joined = pc.binary_join(
        pa.LargeListArray.from_arrays(pa.array([0, len(values)], pa.int64()), values), _text(separator)
    )
    return joined[0].as_buffer()


def table_slices(table: pa.Table, rows: int = SLICE_ROWS) -> list[pa.Table]:
    """The table's rows in order as zero-copy slices of at most ``rows`` rows; none for an empty table."""
    return [table.slice(start, rows) for start in range(0, table.num_rows, rows)]


def _csv_header(names: list[str]) -> bytes:
    header = _cell_texts(pa.chunked_array([pa.array(names, pa.large_string())]))
    if len(names) == 1:
        # The csv module writes a lone empty cell as "" so that the row is not blank.
        header = pc.if_else(pc.equal(header, _text("")), _text('""'), header)
    return (",".join(header.to_pylist()) + "\n").encode("utf-8")


def _csv_lines(part: pa.Table) -> list[pa.Buffer | bytes]:
    columns = [_cell_texts(part.column(i)) for i in range(part.num_columns)]
    if part.num_columns == 1:
        columns = [pc.if_else(pc.equal(columns[0], _text("")), _text('""'), columns[0])]
    rows = columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, _text(","))
    return [_join(rows, "\n"), b"\n"]


def write_csv_to(table: pa.Table, stream: BinaryIO, slice_rows: int = SLICE_ROWS) -> None:
    """UTF-8 without BOM, comma, header row, RFC 4180 quoting (only where needed), ``\n``.

    Built column by column with Arrow compute (no Python loop per row for text, integer,
    boolean and date columns); byte for byte what Python's ``csv`` module writes with
    minimal quoting, which a property test checks.
    """
    write_formats(table.schema, table_slices(table, slice_rows), {"csv": stream})


def write_parquet_to(table: pa.Table, stream: BinaryIO) -> None:
    """Parquet typed from the schema: no pandas index, fields carry title and description.

    One row group per ``SLICE_ROWS`` rows, each written from one contiguous chunk, so the
    bytes do not depend on how the table's rows were chunked in memory.
    """
    write_formats(table.schema, table_slices(table, SLICE_ROWS), {"parquet": stream})


# JSON string escapes of json.dumps(ensure_ascii=False): backslash first, then the rest.
_JSON_ESCAPES = [
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\b", "\\b"),
    ("\f", "\\f"),
] + [(chr(c), f"\\u{c:04x}") for c in range(32) if chr(c) not in "\n\r\t\b\f"]


def _json_escaped(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text with json.dumps's escapes, without its quotes.

    The backslash and the quote are replaced straight away (a scan that finds none costs
    as much as the replacement); control characters, rare, only when a scan finds one.
    """
    for raw, escaped in _JSON_ESCAPES[:2]:
        text = pc.replace_substring(text, raw, escaped)
    if pc.any(pc.match_substring_regex(text, r"[\x00-\x1f]")).as_py():
        for raw, escaped in _JSON_ESCAPES[2:]:
            text = pc.replace_substring(text, raw, escaped)
    return text


def _json_values(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, bool]:
    """Every value of a column as json.dumps writes it one level inside an object, and
    whether its quotes are still to be put around it (text without nulls: the quotes go
    into the constant text on either side, which spares a copy of the column)."""
    kind = column.type
    timestamps = _utc_seconds_text(column)
    text_like = (
        timestamps is not None
        or pa.types.is_date32(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
    )
    if text_like:
        text = timestamps if timestamps is not None else pc.cast(column, pa.large_string())
        if timestamps is None and not pa.types.is_date32(kind):  # ISO dates and times: nothing to escape
            text = _json_escaped(text)
        if not column.null_count:
            return text, True
        quote = _text('"')
        text = pc.binary_join_element_wise(quote, text, quote, _text(""))
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        text = pc.cast(column, pa.large_string())
    else:  # numbers (repr form), arrays (nested indentation), timestamps: as json.dumps does
        text = pa.chunked_array(
            [
                pa.array(
                    [
                        None
                        if v is None
                        else json.dumps(
                            published_value(v), ensure_ascii=False, indent=2, allow_nan=False
                        ).replace("\n", "\n    ")
                        for v in column.to_pylist()
                    ],
                    pa.large_string(),
                )
            ]
        )
    return pc.fill_null(text, _text("null")), False


def _json_objects(part: pa.Table) -> list[pa.Buffer | bytes]:
    """The objects of ``part``, built in one Arrow call: constant text and value columns
    alternate (``  {\n    "key": `` value ``,\n    "key": `` value ... ``\n  }``)."""
    pieces: list[pa.Scalar | pa.ChunkedArray] = []
    constant = "  {\n"
    for i, name in enumerate(part.column_names):
        constant += f"    {json.dumps(name, ensure_ascii=False)}: "
        values, quoted = _json_values(part.column(i))
        if quoted:
            constant += '"'
        pieces += [_text(constant), values]
        constant = '"' if quoted else ""
        constant += ",\n" if i + 1 < part.num_columns else "\n  }"
    objects = pc.binary_join_element_wise(*pieces, _text(constant), _text(""))
    return [_join(objects, ",\n")]


def write_json_to(table: pa.Table, stream: BinaryIO, slice_rows: int = SLICE_ROWS) -> None:
    """An array of objects with typed values, ``null`` for empty, one key order for all.

    Built column by column like the CSV: byte for byte ``json.dumps(rows, indent=2,
    ensure_ascii=False)``, which a property test checks.
    """
    write_formats(table.schema, table_slices(table, slice_rows), {"json": stream})


def _formatted(fmt: str, part: pa.Table) -> list[pa.Buffer | bytes]:
    """CSV lines or JSON objects of ``part`` (each ends its last line; none starts one)."""
    return _csv_lines(part) if fmt == "csv" else _json_objects(part)


# Rows turned into text by one task: small enough that the intermediate Arrow columns of
# a task stay a few MB, large enough that Arrow still works column-wise.
TEXT_ROWS = 16_384


def _write_text(stream: BinaryIO | io.RawIOBase, item: Future[list[pa.Buffer | bytes]] | bytes) -> None:
    for chunk in item.result() if isinstance(item, Future) else [item]:
        stream.write(chunk)


def write_formats(
    schema: pa.Schema, parts: Iterable[pa.Table], streams: Mapping[str, BinaryIO | io.RawIOBase]
) -> None:
    """Each format of ``streams`` (csv, json, parquet) from one pass over the rows' slices.

    ``parts`` are the table's rows in order, ``SLICE_ROWS`` at a time (the last one
    shorter): Parquet writes one row group per part, from one contiguous chunk, so its
    bytes do not depend on how the rows were held; a table on disk (``pipelines.spill``)
    is read once for all formats. The CSV and JSON text is made by two threads,
    ``TEXT_ROWS`` at a time (Arrow's kernels release the GIL), and written in order by
    one thread per format, while this thread encodes the Parquet row groups. At most two
    parts' text is in flight.
    """
    texts = [fmt for fmt in ("csv", "json") if fmt in streams]
    if "csv" in streams:
        streams["csv"].write(_csv_header(schema.names))
    parquet = (
        pq.ParquetWriter(streams["parquet"], schema, **_PARQUET_OPTIONS) if "parquet" in streams else None
    )
    written = 0
    ahead = -(-SLICE_ROWS // TEXT_ROWS) + 1
    # Each format's text is hashed and written on a thread of its own, in order.
    writers = {fmt: InOrder(partial(_write_text, streams[fmt]), ahead) for fmt in texts}
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            for part in parts:
                if not part.num_rows:
                    continue
                for piece in table_slices(part, TEXT_ROWS):
                    for fmt in texts:
                        if fmt == "json":  # objects are separated, the first opens the array
                            writers[fmt].put(b",\n" if written else b"[\n")
                        writers[fmt].put(pool.submit(_formatted, fmt, piece))
                    written += piece.num_rows
                if parquet is not None:
                    parquet.write_table(part.combine_chunks(), row_group_size=part.num_rows)
    finally:
        for writer in writers.values():
            writer.close()
    if parquet is not None:
        if not written:
            parquet.write_table(schema.empty_table())
        parquet.close()
    if "json" in streams:
        streams["json"].write(b"\n]\n" if written else b"[]\n")


class HashingWriter(io.RawIOBase):
    """A binary stream that passes bytes on and keeps their sha256 and count."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        """Always true: pyarrow (which infers the open mode from it) and ``io`` check it before writing."""
        return True

    def write(self, data: Any) -> int:
        """Hashes, counts and passes on all of ``data``; returns its length (never a short write)."""
        view = memoryview(data).cast("B")
        self.digest.update(view)
        self.size += len(view)
        self.target.write(view)
        return len(view)


STREAM_WRITERS = {"csv": write_csv_to, "parquet": write_parquet_to, "json": write_json_to}
FORMATS = tuple(STREAM_WRITERS)


def _bytes_of(fmt: str, table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    STREAM_WRITERS[fmt](table, buffer)
    return buffer.getvalue()


def write_csv(table: pa.Table) -> bytes:
    """The whole CSV file of ``table`` in memory (``write_csv_to``), for small tables and tests."""
    return _bytes_of("csv", table)


def write_parquet(table: pa.Table) -> bytes:
    """The whole Parquet file of ``table`` in memory (``write_parquet_to``), for small tables and tests."""
    return _bytes_of("parquet", table)


def write_json(table: pa.Table) -> bytes:
    """The whole JSON file of ``table`` in memory (``write_json_to``), for small tables and tests."""
    return _bytes_of("json", table)
