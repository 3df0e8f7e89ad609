"""Row counts of a change on Arrow columns against the Python diff of published rows."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.core.schema import python_value
from publish.versioning import diff_table
from publish.versioning.table_diff import arrow_counts

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("jour", pa.date32()),
        ("n", pa.int64()),
        ("x", pa.float64()),
        ("texte", pa.string()),
    ]
)
KEY = ["id", "jour"]

values = {
    "n": st.none() | st.integers(-5, 5),
    "x": st.none() | st.sampled_from([0.0, 1.0, 1.5, -2.25, 1e-9]),
    "texte": st.none() | st.sampled_from(["", "a", "é", "a,b", 'dit "x"']),
}


@st.composite
def versions(draw: st.DrawFn) -> tuple[pa.Table, pa.Table]:
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["E1", "E2", "E3"]), st.dates(dt.date(2021, 1, 1), dt.date(2021, 1, 9))
            ),
            unique=True,
            max_size=20,
        )
    )

    def rows(chosen: list) -> list[dict]:
        return [{"id": k[0], "jour": k[1], **{f: draw(s) for f, s in values.items()}} for k in chosen]

    old_keys = [k for k in keys if draw(st.booleans())]
    old = rows(old_keys)
    new = []
    for key in keys:
        before = next((r for r in old if (r["id"], r["jour"]) == key), None)
        if before is not None and draw(st.booleans()):
            new.append(dict(before))  # kept unchanged
        elif draw(st.booleans()):
            new.extend(rows([key]))  # added, or changed (or drawn equal)
    return pa.Table.from_pylist(old, schema=SCHEMA), pa.Table.from_pylist(new, schema=SCHEMA)


def published(table: pa.Table) -> list[dict]:
    return [{k: python_value(v) for k, v in row.items()} for row in table.to_pylist()]


@settings(max_examples=300, deadline=None)
@given(pair=versions())
def test_arrow_counts_equal_the_diff_of_published_rows(pair: tuple[pa.Table, pa.Table]) -> None:
    old, new = pair
    assert arrow_counts(old, new, KEY) == diff_table(published(old), published(new), KEY).counts


def test_cases_it_cannot_decide_are_left_to_the_python_diff() -> None:
    table = pa.table({"id": ["a", "a"], "n": [1, 2]})
    assert arrow_counts(table, table, ["id"]) is None  # repeated key
    assert arrow_counts(pa.table({"id": ["a", None]}), pa.table({"id": ["a", None]}), ["id"]) is None
    nested = pa.table({"id": ["a"], "l": pa.array([["x"]])})
    assert arrow_counts(nested, nested, ["id"]) is None
    assert (
        arrow_counts(pa.table({"id": ["a"], "n": [1]}), pa.table({"id": ["a"], "n": [1.0]}), ["id"]) is None
    )
    assert arrow_counts(None, table, ["id"]).added == 2


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(st.none() | st.text(max_size=3), st.none() | st.integers(-3, 3)), max_size=40),
    chunk=st.integers(1, 7),
)
def test_the_key_order_is_the_sort_of_the_texts(rows: list, chunk: int) -> None:
    """Ranks of distinct texts sort rows as the texts do (UTF-8 order, nulls first, stable)."""
    import pyarrow.compute as pc

    from pipelines.build.tables import key_order

    texts = pa.array([r[0] for r in rows], pa.string())
    numbers = pa.array([r[1] for r in rows], pa.int64())
    table = pa.Table.from_batches(
        [
            pa.RecordBatch.from_arrays([texts[i : i + chunk], numbers[i : i + chunk]], names=["t", "n"])
            for i in range(0, len(rows), chunk)
        ]
        or [pa.RecordBatch.from_arrays([texts, numbers], names=["t", "n"])]
    )
    expected = pc.sort_indices(
        table, sort_keys=[("t", "ascending", "at_start"), ("n", "ascending", "at_start")]
    )
    assert key_order(table, ["t", "n"]).to_pylist() == expected.to_pylist()
