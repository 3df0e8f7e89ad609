"""Build stage: a typed table too large to hold twice, kept on disk in Arrow IPC files and read in order.

A table delivered as one CSV file of millions of rows is checked a batch at a time
(``validate.columnar``); its typed batches go to disk as they are checked, so the table
never sits whole in memory. Publishing needs the rows in primary-key order, which only
the whole table decides: the key columns (small) give each row its output position, and
the rows are then dealt, in one more sequential read, into *partitions* of consecutive
positions (``PARTITION_ROWS``). Reading the partitions in turn, each sorted on its own,
gives the table in key order with one partition in memory at a time: a distribution
sort whose buckets are exact because every row's position is known.

Files live in a folder of the state directory named after the dataset and the process,
removed when the release is done (``discard``); folders of dead processes are removed by
the next gather (``sweep``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.build.tables import SLICE_ROWS
from pipelines.io.background import InOrder

# Rows per partition: two writer slices (43 MB of the bench's rows; four cost 100 MB more
# at the peak, for no speed), so that partitions cut the table exactly where slices do
# (Parquet's row groups follow the slices, so the bytes do not depend on it).
PARTITION_ROWS = 2 * SLICE_ROWS
_POSITION = "__position"
SPILL_DIR = ".tables-en-cours"


def release_unused() -> None:
    """Gives back to the system the memory Arrow's allocator keeps after a phase.

    mimalloc keeps freed pages a while for reuse, which is fast within a phase (faulting
    fresh pages costs about 4 µs each on these machines: giving pages back at once cost
    a second of system time a million rows), but what one phase leaves need not add to
    the next one's peak.
    """
    pa.default_memory_pool().release_unused()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(state_dir: Path) -> None:
    """Removes the spill folders of processes that no longer run (a crash or a kill)."""
    root = state_dir / SPILL_DIR
    if not root.is_dir():
        return
    for folder in root.iterdir():
        pid = folder.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def spill_folder(state_dir: Path, name: str) -> Path:
    folder = state_dir / SPILL_DIR / f"{name}-{os.getpid()}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


@dataclass
class SpilledTable:
    """A typed table on disk, in key order: partitions of consecutive output positions."""

    folder: Path
    schema: pa.Schema
    num_rows: int
    partitions: list[Path] = field(default_factory=list)

    def parts(self, rows: int = SLICE_ROWS) -> Iterator[pa.Table]:
        """The rows in key order, ``rows`` at a time (one partition in memory)."""
        for path in self.partitions:
            with pa.OSFile(str(path)) as source:
                held = pa.ipc.open_stream(source).read_all()
            order = pc.sort_indices(held.column(_POSITION))
            held = held.drop_columns([_POSITION])
            for start in range(0, held.num_rows, rows):  # taken a slice at a time: no copy of it all
                yield held.take(order.slice(start, rows))
            del held, order
            release_unused()

    def read_all(self) -> pa.Table:
        """The whole table in memory (a version diff needs it; small tables only)."""
        return pa.Table.from_batches(
            [b for part in self.parts() for b in part.to_batches()], schema=self.schema
        )

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Spill:
    """Receives a table's typed batches in file order, then deals them into key order.

    Batches are made and written by a thread of its own (``add`` takes a function that
    makes the batch), so the checker goes on with the next batch meanwhile; at most two
    wait in line.
    """

    def __init__(self, folder: Path, schema: pa.Schema) -> None:
        self.folder = folder
        self.schema = schema
        self.rows = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._path = folder / "lues.arrows"
        self._sink = pa.OSFile(str(self._path), "wb")
        self._writer = pa.ipc.new_stream(self._sink, schema)
        self._line: InOrder[Callable[[], pa.RecordBatch]] = InOrder(self._write, ahead=2)

    def _write(self, make: Callable[[], pa.RecordBatch]) -> None:
        batch = make()
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def add(self, make: Callable[[], pa.RecordBatch]) -> None:
        self._line.put(make)

    def _close(self) -> None:
        try:
            self._line.close()
        finally:
            if not self._sink.closed:
                self._writer.close()
                self._sink.close()

    def discard(self) -> None:
        try:
            self._close()
        except BaseException:  # noqa: BLE001 - discarded anyway
            pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def ordered(self, order: pa.Array | np.ndarray) -> SpilledTable:
        """The table in the order ``order`` gives (row numbers, in file order, of each output
        row): every row goes to the partition of its output position, in one read."""
        self._close()
        order = np.asarray(order, dtype=np.int64)
        if len(order) != self.rows:
            raise ValueError(f"ordre de {len(order)} lignes pour une table de {self.rows}")
        position = np.empty(self.rows, dtype=np.int64)
        position[order] = np.arange(self.rows, dtype=np.int64)
        del order  # the positions say it all (8 bytes a row less while the rows are dealt)
        count = max(1, -(-self.rows // PARTITION_ROWS))
        paths = [self.folder / f"partition-{k:06d}.arrows" for k in range(count)]
        with_position = self.schema.append(pa.field(_POSITION, pa.int64()))
        sinks = [pa.OSFile(str(p), "wb") for p in paths]
        writers = [pa.ipc.new_stream(s, with_position) for s in sinks]
        try:
            start = 0
            with pa.OSFile(str(self._path)) as source:
                for batch in pa.ipc.open_stream(source):
                    where = position[start : start + batch.num_rows]
                    start += batch.num_rows
                    partition = where // PARTITION_ROWS
                    dealt = np.argsort(partition, kind="stable")
                    bounds = np.searchsorted(partition[dealt], np.arange(count + 1))
                    taken = pa.RecordBatch.from_arrays(
                        [*batch.take(pa.array(dealt)).columns, pa.array(where[dealt])], schema=with_position
                    )
                    for k in np.flatnonzero(np.diff(bounds)).tolist():
                        writers[k].write_batch(taken.slice(int(bounds[k]), int(bounds[k + 1] - bounds[k])))
        finally:
            for writer, sink in zip(writers, sinks, strict=True):
                writer.close()
                sink.close()
        self._path.unlink()
        release_unused()
        return SpilledTable(self.folder, self.schema, self.rows, paths)
