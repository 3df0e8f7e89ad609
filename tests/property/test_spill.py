"""A table held on disk (``pipelines.spill``) comes back in exactly the order asked, and the
files written from it are the bytes written from the same table held in memory."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.build import spill
from pipelines.build.tables import key_order
from publish.writers import table_slices, write_formats

SCHEMA = pa.schema(
    [
        pa.field("id_action", pa.string(), metadata={"title": "Action"}),
        pa.field("date_rapport", pa.date32()),
        pa.field("avancement_pct", pa.int64()),
        pa.field("commentaire", pa.string()),
    ]
)


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    size = draw(st.integers(0, 60))
    text = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('ab é,"\n«')), max_size=6))
    return pa.table(
        {
            "id_action": pa.array(
                draw(
                    st.lists(
                        st.sampled_from(["E1-A1-01", "E2-A3-02", "E10-A1-01", None]),
                        min_size=size,
                        max_size=size,
                    )
                ),
                pa.string(),
            ),
            "date_rapport": pa.array(
                draw(
                    st.lists(
                        st.one_of(st.none(), st.dates(dt.date(2021, 1, 1), dt.date(2023, 12, 31))),
                        min_size=size,
                        max_size=size,
                    )
                ),
                pa.date32(),
            ),
            "avancement_pct": pa.array(
                draw(st.lists(st.one_of(st.none(), st.integers(0, 100)), min_size=size, max_size=size)),
                pa.int64(),
            ),
            "commentaire": pa.array(draw(st.lists(text, min_size=size, max_size=size)), pa.string()),
        },
        schema=SCHEMA,
    )


def _spilled(folder: Path, table: pa.Table, batch_rows: int, order: np.ndarray) -> spill.SpilledTable:
    held = spill.Spill(folder, table.schema)
    for batch in table.to_batches(max_chunksize=batch_rows):
        held.add(lambda batch=batch: batch)
    return held.ordered(order)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables(), batch_rows=st.integers(1, 9), data=st.data())
def test_a_spilled_table_comes_back_in_the_order_given(
    tmp_path_factory, monkeypatch, table: pa.Table, batch_rows: int, data: st.DataObject
) -> None:
    monkeypatch.setattr(spill, "PARTITION_ROWS", 8)  # many partitions, cut across batches
    order = np.array(data.draw(st.permutations(range(table.num_rows))), dtype=np.int64)
    spilled = _spilled(tmp_path_factory.mktemp("spill"), table, batch_rows, order)
    assert len(spilled.partitions) == max(1, -(-table.num_rows // 8))
    parts = list(spilled.parts(rows=4))
    assert all(p.num_rows == 4 for p in parts[:-1])  # slices cut where the writers' are
    assert (
        pa.Table.from_batches([b for p in parts for b in p.to_batches()], schema=SCHEMA).to_pylist()
        == table.take(pa.array(order, pa.int64())).to_pylist()
    )
    spilled.discard()
    assert not spilled.folder.exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables())
def test_files_from_disk_are_the_bytes_of_files_from_memory(
    tmp_path_factory, monkeypatch, table: pa.Table
) -> None:
    monkeypatch.setattr(spill, "PARTITION_ROWS", 8)
    order = key_order(table, ["id_action", "date_rapport"])
    spilled = _spilled(tmp_path_factory.mktemp("spill"), table, 5, order.to_numpy())
    from_disk = {fmt: io.BytesIO() for fmt in ("csv", "json", "parquet")}
    write_formats(SCHEMA, spilled.parts(rows=4), from_disk)
    from_memory = {fmt: io.BytesIO() for fmt in ("csv", "json", "parquet")}
    write_formats(SCHEMA, table_slices(table.take(order), 4), from_memory)
    for fmt in from_disk:
        assert from_disk[fmt].getvalue() == from_memory[fmt].getvalue(), fmt


def test_an_order_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    table = pa.table({"a": pa.array([1, 2, 3])})
    held = spill.Spill(tmp_path / "s", table.schema)
    held.add(lambda: table.to_batches()[0])
    with pytest.raises(ValueError, match="ordre de 2 lignes"):
        held.ordered(np.array([0, 1]))


def test_folders_of_dead_processes_are_swept_and_a_live_one_is_kept(tmp_path: Path) -> None:
    root = tmp_path / spill.SPILL_DIR
    mine = spill.spill_folder(tmp_path, "suivi")
    dead = root / "suivi-999999999"
    dead.mkdir()
    (dead / "partition-000000.arrows").write_bytes(b"x")
    spill.sweep(tmp_path)
    assert mine.is_dir() and mine.name == f"suivi-{os.getpid()}"
    assert not dead.exists()


def test_an_error_while_making_a_batch_reaches_the_caller(tmp_path: Path) -> None:
    """Batches are made on the spill's own thread: its error must not be lost there."""
    held = spill.Spill(tmp_path / "s", pa.schema([pa.field("a", pa.int64())]))

    def broken() -> pa.RecordBatch:
        raise ValueError("valeur illisible")

    held.add(broken)
    with pytest.raises(ValueError, match="valeur illisible"):
        held.ordered(np.array([], dtype=np.int64))
    held.discard()
    assert not (tmp_path / "s").exists()
