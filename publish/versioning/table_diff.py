"""Publish stage: row counts of a change between two versions of a table, on Arrow columns.

``versions.diff_table`` compares rows as Python dicts read from the published JSON: right
for the plan and the progress reports, out of reach for a table of ten million rows
(several GB of Python objects per version). Here the old version's Parquet and the new
table are joined on the primary key instead, and the rows present in both are compared
column by column. Same counts as ``diff_table`` (a property test compares them); ``None``
where they could differ, and the caller then uses ``diff_table``: no primary key, a
missing or repeated key value, nested columns, or different field names or types.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from publish.versioning import TableChanges

_OLD, _NEW = "__ligne_avant", "__ligne_apres"


def _shape(table: pa.Table) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.type) for f in table.schema]


def _comparable(old: pa.Table, new: pa.Table, key: list[str]) -> bool:
    if _shape(old) != _shape(new) or not key:
        return False
    if any(pa.types.is_nested(f.type) for f in new.schema):
        return False
    for table in (old, new):
        if any(table.column(k).null_count for k in key):
            return False
        if table.group_by(key).aggregate([]).num_rows != table.num_rows:
            return False
    return True


def arrow_counts(old: pa.Table | None, new: pa.Table, key: list[str]) -> TableChanges | None:
    """Rows added, changed and removed from ``old`` to ``new``, matched by ``key``."""
    if old is None:
        return TableChanges(added=new.num_rows)
    if not _comparable(old, new, key):
        return None
    left = old.select(key).append_column(_OLD, pa.array(np.arange(old.num_rows)))
    right = new.select(key).append_column(_NEW, pa.array(np.arange(new.num_rows)))
    joined = left.join(right, keys=key, join_type="full outer")
    added = joined.column(_OLD).null_count
    removed = joined.column(_NEW).null_count
    both = joined.filter(pc.and_(pc.is_valid(joined.column(_OLD)), pc.is_valid(joined.column(_NEW))))
    differs = pa.chunked_array([pa.repeat(False, both.num_rows)])
    for name in new.column_names:
        if name in key:
            continue
        before = old.column(name).take(both.column(_OLD))
        after = new.column(name).take(both.column(_NEW))
        same = pc.or_(
            pc.and_(pc.is_null(before), pc.is_null(after)), pc.fill_null(pc.equal(before, after), False)
        )
        differs = pc.or_(differs, pc.invert(same))
    return TableChanges(
        added=added, changed=int(pc.sum(pc.cast(differs, pa.int64())).as_py() or 0), removed=removed
    )
