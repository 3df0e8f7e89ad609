"""Publish stage: a version's tables as one xlsx workbook, typed, byte for byte deterministic.

For people who open data in a spreadsheet: one sheet per table (in the order the
dataset lists them), the header row holding the field names of the CSV files, each
header cell with a comment giving the field's French title and description, the header
frozen and filterable, every cell typed as its Table Schema field (numbers, whole
numbers, booleans, dates; times in UTC, which Excel cannot mark), an empty cell for an
empty value. The same rows give the same bytes: the document properties carry no time,
and every entry of the zip archive has the same fixed date and attributes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

import pyarrow as pa
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from pipelines.core.errors import PublishError
from pipelines.core.schema import TableSchema, python_value

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 1_048_575  # Excel's rows, the header aside
# The date of every entry of the archive: the zip format's own epoch (1980-01-01).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Characters XML 1.0 cannot hold: OOXML writes them as _xHHHH_ (Excel shows the character).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_HEADER_FILL = PatternFill("solid", fgColor="E3E3FD")  # blue France, lightest


def workbook_name(slug: str) -> str:
    """The workbook's file name in a version folder: the dataset's slug."""
    return f"{slug}.xlsx"


def _text(value: str) -> str:
    return _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)


def _cell(value: Any, kind: str) -> Any:
    """A value as a typed cell: what openpyxl writes for each Table Schema type."""
    if value is None:
        return None
    if kind == "datetime":  # Excel has no time zone: the UTC time, said in the header's comment
        return value.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    if kind == "array":
        return _text(json.dumps(python_value(value), ensure_ascii=False, separators=(",", ":")))
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _comment(field: Mapping[str, Any]) -> Comment:
    title = str(field.get("title") or field["name"])
    description = str(field.get("description") or "")
    if field.get("type") == "datetime":
        description += " (Heure UTC.)"
    comment = Comment(f"{title}\n\n{description}".strip(), "")
    comment.width, comment.height = 360, 200
    return comment


def _sheet(book: Workbook, name: str, schema: TableSchema, rows: Iterable[dict[str, Any]]) -> None:
    sheet = book.create_sheet(name)
    fields = schema["fields"]
    for column, field in enumerate(fields, start=1):
        header = sheet.cell(row=1, column=column, value=field["name"])
        header.font = Font(bold=True)
        header.fill = _HEADER_FILL
        header.alignment = Alignment(vertical="top")
        header.comment = _comment(field)
        width = max(len(field["name"]), len(str(field.get("title", "")))) + 2
        sheet.column_dimensions[get_column_letter(column)].width = min(max(width, 10), 60)
    formats = {"date": DATE_FORMAT, "datetime": DATETIME_FORMAT}
    count = 0
    for count, row in enumerate(rows, start=2):
        if count > MAX_ROWS + 1:
            raise PublishError(
                f"La table {name} a plus de {MAX_ROWS} lignes : elle ne tient pas dans une feuille "
                "de classeur.",
                hint="Retirez-la de la liste workbook de dataset.yaml (ses fichiers CSV, Parquet "
                "et JSON restent publiés).",
            )
        for column, field in enumerate(fields, start=1):
            value = _cell(row.get(field["name"]), str(field.get("type", "string")))
            if value is None:
                continue
            cell = sheet.cell(row=count, column=column, value=value)
            if field.get("type") in formats:
                cell.number_format = formats[str(field["type"])]
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(fields))
    sheet.auto_filter.ref = f"A1:{last}{max(count, 1)}"


def _rows(table: Any) -> Iterable[dict[str, Any]]:
    """A table's rows in order (an Arrow table, or a table spilled to disk), a slice at a time."""
    parts = [table] if isinstance(table, pa.Table) else table.parts(65_536)
    for part in parts:
        yield from part.to_pylist()


def workbook_bytes(
    tables: Mapping[str, Any], schemas: Mapping[str, TableSchema], order: Iterable[str]
) -> bytes:
    """The workbook of ``tables`` (typed Arrow tables, in key order), one sheet per table of
    ``order``: the same rows always give the same bytes."""
    book = Workbook()
    book.remove(book.active)
    for name in order:
        _sheet(book, name, schemas[name], _rows(tables[name]))
    # The document properties' times are the archive's fixed date, not the time of
    # writing (openpyxl's default); they must be there, and say nothing.
    book.properties.created = book.properties.modified = dt.datetime(*ZIP_DATE)
    book.properties.creator = None
    written = io.BytesIO()
    with zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()
    return _fixed_dates(written.getvalue())


def _fixed_dates(content: bytes) -> bytes:
    """The same archive with every entry dated ``ZIP_DATE`` and the same attributes (a zip
    entry otherwise carries the time it was written)."""
    fixed = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            target.writestr(info, source.read(entry.filename))
    return fixed.getvalue()


def write_workbook_to(
    tables: Mapping[str, Any], schemas: Mapping[str, TableSchema], order: Iterable[str], stream: BinaryIO
) -> None:
    """Writes the workbook (``workbook_bytes``) to ``stream``."""
    stream.write(workbook_bytes(tables, schemas, order))
