"""Round trips of the three writers: what is written reads back as the input, for any table."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import frictionless
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.build.tables import to_arrow
from pipelines.core.schema import python_value
from pipelines.validate.package import standalone_schema
from publish.writers import write_csv, write_json, write_parquet

SCHEMA = {
    "name": "t",
    "fields": [
        {"name": "id", "type": "integer"},
        {"name": "texte", "type": "string"},
        {"name": "jour", "type": "date"},
        {"name": "ok", "type": "boolean"},
        {"name": "mesure", "type": "number"},
        {"name": "alias", "type": "array", "arrayItem": {"type": "string"}},
    ],
    "primaryKey": ["id"],
    "missingValues": [""],
}

# Text as stewards write it: accents, commas, quotes, semicolons, line breaks of both kinds.
text = st.text(
    alphabet=st.sampled_from(list("aéèçÀ ,;\"'\n\r\t«»€œ-_./0123456789") + ["∑", "😀"]),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s and s != "")
rows = st.lists(
    st.fixed_dictionaries(
        {
            "texte": st.one_of(st.none(), text),
            "jour": st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))),
            "ok": st.one_of(st.none(), st.booleans()),
            "mesure": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)),
            "alias": st.one_of(st.none(), st.lists(text, max_size=3)),
        }
    ),
    max_size=20,
).map(lambda rs: [{"id": i, **r} for i, r in enumerate(rs)])


def expected(rs: list[dict]) -> list[dict]:
    return [{k: python_value(v) for k, v in r.items()} for r in rs]


# frictionless opens a resource in ~0.1 s: fewer examples keep the suite fast.
@settings(max_examples=30, deadline=None)
@given(rows)
def test_csv_reads_back_with_frictionless(rs: list[dict]) -> None:
    content = write_csv(to_arrow(rs, SCHEMA))
    assert content == write_csv(to_arrow(rs, SCHEMA))  # deterministic
    resource = frictionless.Resource(
        data=content,
        format="csv",
        encoding="utf-8",
        schema=standalone_schema(SCHEMA),
    )
    with resource:
        read = [row.to_dict() for row in resource.row_stream]
    normalised = [
        {k: float(v) if isinstance(v, Decimal) else python_value(v) for k, v in r.items()} for r in read
    ]
    for got, want in zip(normalised, expected(rs), strict=True):
        want = {**want, "alias": want["alias"] or None}  # an empty array is written as []
        got = {**got, "alias": got["alias"] or None}
        assert got == want


@settings(max_examples=60, deadline=None)
@given(rows)
def test_parquet_round_trip(rs: list[dict]) -> None:
    table = to_arrow(rs, SCHEMA)
    content = write_parquet(table)
    assert content == write_parquet(table)
    read = pq.read_table(io.BytesIO(content))
    assert read.schema.equals(table.schema, check_metadata=False)
    assert read.to_pylist() == rs
    assert "__index_level_0__" not in read.column_names


@settings(max_examples=60, deadline=None)
@given(rows)
def test_json_round_trip(rs: list[dict]) -> None:
    content = write_json(to_arrow(rs, SCHEMA))
    assert json.loads(content) == expected(rs)
    assert b"\\/" not in content


def test_csv_quotes_carriage_returns_and_uses_lf() -> None:
    content = write_csv(to_arrow([{"id": 1, "texte": "a\rb"}, {"id": 2, "texte": 'x "y", z'}], SCHEMA))
    assert content == (b'id,texte,jour,ok,mesure,alias\n1,"a\rb",,,,\n2,"x ""y"", z",,,,\n')
