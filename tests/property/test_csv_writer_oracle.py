"""The columnar writers against oracles: Python's csv module fed cell by cell and
json.dumps of the rows, the way the writers worked before they were made columnar
(byte-for-byte equality on generated tables)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from publish.writers import csv_cell, write_csv, write_csv_to, write_json, write_json_to


def oracle(table: pa.Table) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    lines = []
    for cells in [table.column_names, *([csv_cell(v) for v in row.values()] for row in table.to_pylist())]:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        lines.append(buffer.getvalue()[:-2] + "\n")
    return "".join(lines).encode("utf-8")


text = st.one_of(
    st.none(), st.text(alphabet=st.sampled_from(list("aé ,;\"'\n\r\t«»-0") + ["😀"]), max_size=12)
)
columns = {
    "texte": (pa.string(), text),
    "entier": (pa.int64(), st.one_of(st.none(), st.integers(-(10**12), 10**12))),
    "jour": (pa.date32(), st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)))),
    "ok": (pa.bool_(), st.one_of(st.none(), st.booleans())),
    "mesure": (pa.float64(), st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))),
    "alias": (
        pa.list_(pa.string()),
        st.one_of(st.none(), st.lists(text.filter(lambda t: t is not None), max_size=3)),
    ),
    # Table Schema datetime: whole seconds in UTC; years 1-9999 (Arrow's text path covers 1000-9999).
    "recu": (
        pa.timestamp("s", tz="UTC"),
        st.one_of(
            st.none(),
            st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)).map(
                lambda d: d.replace(microsecond=0)
            ),
        ),
    ),
}


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    """Up to 8 rows of 1 to 6 typed columns, nulls included."""
    names = draw(st.lists(st.sampled_from(sorted(columns)), min_size=1, max_size=6, unique=True))
    size = draw(st.integers(0, 8))
    return pa.table(
        {
            n: pa.array(draw(st.lists(columns[n][1], min_size=size, max_size=size)), columns[n][0])
            for n in names
        }
    )


@settings(max_examples=200, deadline=None)
@given(table=tables())
def test_columnar_csv_equals_the_csv_module(table: pa.Table) -> None:
    assert write_csv(table) == oracle(table)
    # Large tables are written a slice of rows at a time: the joins must not show.
    sliced = io.BytesIO()
    write_csv_to(table, sliced, slice_rows=3)
    assert sliced.getvalue() == oracle(table)


def test_a_lone_empty_column_and_an_empty_table() -> None:
    one = pa.table({"texte": pa.array(["", None, "a"], pa.string())})
    assert write_csv(one) == oracle(one) == b'texte\n""\n""\na\n'
    empty = pa.table({"a": pa.array([], pa.int64()), "b": pa.array([], pa.string())})
    assert write_csv(empty) == oracle(empty) == b"a,b\n"


def _as_spreadsheets_read(value: object) -> object:
    """The oracle's own statement of the number rule: an integral double as an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_as_spreadsheets_read(v) for v in value]
    return value


def json_oracle(table: pa.Table) -> bytes:
    from pipelines.core.schema import python_value

    records = [
        {k: _as_spreadsheets_read(python_value(v)) for k, v in row.items()} for row in table.to_pylist()
    ]
    return (json.dumps(records, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(table=tables())
def test_columnar_json_equals_json_dumps(table: pa.Table) -> None:
    assert write_json(table) == json_oracle(table)
    sliced = io.BytesIO()
    write_json_to(table, sliced, slice_rows=2)
    assert sliced.getvalue() == json_oracle(table)


def test_json_escapes_every_control_character() -> None:
    table = pa.table({"texte": pa.array(["".join(chr(c) for c in range(40)) + '\\"é😀', None])})
    assert write_json(table) == json_oracle(table)


def test_integral_numbers_are_written_as_integers_and_others_with_a_point() -> None:
    values = [3.0, 100000.0, -0.0, 2.5, 0.1, 1e16, 1.5e16, -7.0, 1e-07, None]
    table = pa.table({"mesure": pa.array(values, pa.float64())})
    assert write_csv(table).decode().split("\n")[1:-1] == [
        "3",
        "100000",
        "0",
        "2.5",
        "0.1",
        "10000000000000000",
        "15000000000000000",
        "-7",
        "1e-07",
        '""',  # a lone empty cell is quoted, so that the row is not blank
    ]
    assert [
        line.strip().rstrip(",") for line in write_json(table).decode().splitlines() if "mesure" in line
    ] == [
        '"mesure": 3',
        '"mesure": 100000',
        '"mesure": 0',
        '"mesure": 2.5',
        '"mesure": 0.1',
        '"mesure": 10000000000000000',
        '"mesure": 15000000000000000',
        '"mesure": -7',
        '"mesure": 1e-07',
        '"mesure": null',
    ]
