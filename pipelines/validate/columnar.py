"""Validate stage: Table Schema validation on Arrow columns, reporting exactly the errors frictionless reports.

frictionless reads a CSV row by row in Python (about 18 000 rows a second here); the same
checks run on whole Arrow columns take a small fraction of that. The contract is equality:
for every table this module accepts, its errors are the ones ``frictionless validate``
reports with no error limit (same rows, fields, codes and constraints), and frictionless
itself is both the reference (the differential tests compare the two) and the fallback.

How a cell is decided. Each field has a *fast path*: a vectorised test that accepts only
cells frictionless certainly accepts, with their typed values (integers written as plain
digits, ``YYYY-MM-DD`` dates that survive a round trip, URLs of a strict subset of the
``uri`` format, every string for the default string format). Constraints of accepted
cells are then checked on columns. Every other non-missing cell is handed to the field's
own frictionless cell reader, once per *distinct* value, so its type and constraint
errors are frictionless's by construction. Types without a fast path (number, boolean,
datetime, time, year, geopoint, arrays, objects, other formats...) take that route for
all their cells: exact, and fast while a column has few distinct values.

Row-level rules are frictionless's, on columns: a blank row reports only ``blank-row``;
``unique`` and the primary key flag every later occurrence of a value (type errors count
as missing); a primary key whose cells are all missing is an error; a foreign key is
skipped when all its cells are missing.

Whole-table fallback to frictionless (the reason is reported), because the fast path
would have to reimplement frictionless's reading rather than its checks:

* the encoding frictionless detects is not UTF-8, or a byte is not UTF-8;
* the dialect frictionless detects is not plain CSV (``,`` ``"`` doubled quotes, one
  header row, no comments), or the header differs from the schema's field names;
* ``""`` is not a missing value (an empty line could then not be told from a row of
  empty strings), or the file holds a NUL byte (Python's csv module refuses it);
* a constraint frictionless cannot parse, a cell reader that raises, a foreign key to a
  resource the fast path does not hold, or a ``fieldsMatch`` other than the default.

The file is read in batches (``BLOCK_SIZE``), parsed by Arrow in a thread ahead of the
checks; rows of the wrong length are set aside with their row number (Arrow's, which
counts rows as frictionless does, a multi-line cell once) and parsed by Python's csv
module, as frictionless parses them. Only key fields keep their values for the whole
table, so memory does not grow with the width of the text.

Not done by the fast path, on purpose: frictionless's opt-in checks (``ascii-value``,
``duplicate-row``...), which the pipeline does not use.
"""

from __future__ import annotations

import csv
import io
import os
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import frictionless
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from frictionless import errors as fe

ARROW = "arrow"
FRICTIONLESS = "frictionless"

_INTEGER = r"^-?[0-9]{1,18}$"
_DATE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"
# A strict subset of what rfc3986 (frictionless's ``uri``) accepts: a scheme, a plain
# host, then printable ASCII; anything else goes to frictionless's own reader.
_URI = r"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(?:[/?#][\x21-\x7e]*)?$"
_PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
# Patterns whose meaning is the same for RE2 (Arrow) and Python on printable ASCII text:
# literals, classes, the usual escapes, groups, alternation and quantifiers. Anything else
# (look-arounds, back-references, flags, POSIX classes, ``{,n}``) goes to Python's ``re``.
_SAFE_PATTERN = re.compile(
    r"^(?:[A-Za-z0-9 _\-:/@,;'\"!%&=~<>#.^$|?*+()]|\(\?:|\\[dwsDWSb.\-/+*?()\[\]{}|^$\\]"
    r"|\{[0-9]+(?:,[0-9]*)?\}|\[\^?(?:[A-Za-z0-9 _\-:/@,;'\"!%&=~<>#.^$|?*+(){}]"
    r"|\\[dwsDWS.\-/+*?()\[\]{}|^$\\])+\])*$"
)


def _np(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numpy copy of an Arrow column (a chunked one would import pandas to convert)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_boolean(values.type):  # Arrow packs booleans in bits; numpy needs bytes
        return cast(
            np.ndarray, values.cast(pa.uint8()).fill_null(0).to_numpy(zero_copy_only=False).astype(bool)
        )
    return cast(np.ndarray, values.to_numpy(zero_copy_only=False))


_ERROR_CLASSES = {
    cls.type: cls
    for cls in (
        fe.TypeError,
        fe.ConstraintError,
        fe.UniqueError,
        fe.MissingCellError,
        fe.ExtraCellError,
        fe.BlankRowError,
        fe.PrimaryKeyError,
        fe.ForeignKeyError,
        fe.HashCountError,
        fe.ByteCountError,
    )
}


@dataclass(frozen=True, slots=True)
class TableError:
    """One error, as frictionless would report it (its type, message and location).

    Building frictionless's own error objects costs 0.2 ms each (they validate their
    metadata), 2 s for the 10 000 errors of a million-row file with 1 % bad rows.
    """

    type: str
    row_number: int | None = None
    note: str = ""
    field_name: str | None = None
    field_number: int | None = None
    cell: str | None = None
    field_names: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        template = _ERROR_CLASSES[self.type].template
        return template.format(
            rowNumber=self.row_number,
            fieldName=self.field_name,
            fieldNumber=self.field_number,
            cell=self.cell,
            note=self.note,
        )


class Fallback(Exception):
    """The table is outside what the fast path proves equal to frictionless."""


@dataclass
class _Column:
    """One field as frictionless holds it: decided once per distinct cell text (an *entry*).

    A column of mostly distinct texts (comments, URLs) is not deduplicated: each row is
    its own entry (``index`` is None), which spares a copy of the column.
    """

    entries: pa.Array | pa.ChunkedArray  # the texts decided (null: a ragged row's absent cell)
    index: np.ndarray | None  # row -> entry; None when row i is entry i
    absent: np.ndarray  # per row: the cell is not in the row at all
    missing: np.ndarray  # per entry: a missing value (so a blank cell)
    values: pa.Array | pa.ChunkedArray | None  # per entry: typed value, null if missing or wrong
    objects: list[Any] | None  # per entry: Python values, when Arrow cannot hold them
    errors: dict[int, list[tuple[str, str]]]  # entry -> [(code, constraint)]

    def per_row(self, per_entry: np.ndarray, absent: Any) -> np.ndarray:
        if self.index is None:
            return per_entry
        rows = per_entry[self.index] if len(per_entry) else np.zeros(len(self.index), per_entry.dtype)
        rows[self.absent] = absent
        return rows

    def entry(self, row: int) -> int:
        return row if self.index is None else int(self.index[row])

    def text(self, row: int) -> str | None:
        return None if self.absent[row] else self.entries[self.entry(row)].as_py()

    def value(self, row: int) -> Any:
        if self.absent[row]:
            return None
        if self.objects is not None:
            return self.objects[self.entry(row)]
        return None if self.values is None else self.values[self.entry(row)].as_py()

    def entry_codes(self) -> np.ndarray:
        """Equal values, equal codes; -1 for None (Python equality for Python values)."""
        if self.objects is not None:
            ids: dict[Any, int] = {}
            return np.array(
                [-1 if v is None else ids.setdefault(v, len(ids)) for v in self.objects], dtype=np.int64
            )
        if self.values is None or self.values.type == pa.null():
            return np.full(len(self.entries), -1, dtype=np.int64)
        return _np(
            pc.fill_null(
                pc.cast(
                    pc.dictionary_encode(self.values).indices
                    if isinstance(self.values, pa.Array)
                    else _indices(pc.dictionary_encode(self.values)),
                    pa.int64(),
                ),
                -1,
            )
        )

    def codes(self) -> np.ndarray:
        return self.per_row(self.entry_codes(), -1)

    def python_entries(self) -> list[Any]:
        if self.objects is not None:
            return self.objects
        return [None] * len(self.entries) if self.values is None else self.values.to_pylist()


def _indices(encoded: pa.ChunkedArray) -> pa.Array:
    unified = encoded.unify_dictionaries()
    return (
        pa.concat_arrays([chunk.indices for chunk in unified.chunks])
        if unified.num_chunks
        else pa.array([], pa.int32())
    )


@dataclass
class TableCheck:
    """One table's errors, as frictionless error objects, and how they were found."""

    name: str
    errors: list[TableError] | list[Any]  # the fast path's records, or frictionless's errors
    rows: int
    engine: str
    reason: str = ""
    keys: dict[str, _Column] = field(default_factory=dict, repr=False)


def _py_reader(field_: frictionless.Field) -> Callable[[Any], tuple[Any, dict[str, str] | None]]:
    reader = field_.create_cell_reader()

    def read(cell: Any) -> tuple[Any, dict[str, str] | None]:
        try:
            return reader(cell)
        except Exception as error:  # frictionless's own reader failed: let it decide
            raise Fallback(f"le lecteur frictionless du champ {field_.name} échoue") from error

    return read


def _missing_values(field_: frictionless.Field, schema: frictionless.Schema) -> list[str]:
    return list(field_.missing_values if field_.has_defined("missing_values") else schema.missing_values)


def _fast_values(
    field_: frictionless.Field, cells: pa.ChunkedArray
) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """``(accepted, values)``: cells frictionless certainly reads, and their typed values."""
    kind, fmt = field_.type, field_.format
    if kind == "string" and fmt in ("default", None):
        return pc.is_valid(cells), cells
    if kind == "string" and fmt == "uri":
        return pc.fill_null(pc.match_substring_regex(cells, _URI), False), cells
    if kind == "integer" and getattr(field_, "bare_number", True):
        accepted = pc.fill_null(pc.match_substring_regex(cells, _INTEGER), False)
        digits = pc.if_else(accepted, cells, pa.scalar(None, pa.string()))
        return accepted, pc.cast(digits, pa.int64())
    if kind == "date" and fmt == "default":
        shaped = pc.fill_null(pc.match_substring_regex(cells, _DATE), False)
        candidates = pc.if_else(shaped, cells, pa.scalar(None, pa.string()))
        parsed = pc.strptime(candidates, format="%Y-%m-%d", unit="s", error_is_null=True)
        # Arrow rolls 2021-02-30 over to March; frictionless (strptime) refuses it.
        round_trip = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), candidates)
        accepted = pc.fill_null(round_trip, False)
        return accepted, pc.cast(pc.if_else(accepted, parsed, pa.scalar(None, parsed.type)), pa.date32())
    return None


def _constraint_failures(
    field_: frictionless.Field,
    cells: pa.ChunkedArray,
    values: pa.ChunkedArray,
    accepted: np.ndarray,
    reader_of_values: Any,
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Cells demoted to frictionless's reader (``accepted`` narrowed), and constraint failures.

    A constraint the columns cannot decide exactly for a cell sends that cell to the
    reader, which then checks every constraint of it.
    """
    constraints = {k: v for k, v in field_.constraints.items() if k in field_.supported_constraints}
    failures: list[tuple[str, np.ndarray]] = []
    for name, constraint in constraints.items():
        if name in ("required", "unique"):
            continue
        if name == "pattern":
            if not _SAFE_PATTERN.match(str(constraint)):
                accepted = np.zeros_like(accepted)
                continue
            if field_.format != "uri":  # the uri fast path accepts printable ASCII only
                printable = pc.fill_null(pc.match_substring_regex(cells, _PRINTABLE_ASCII), False)
                accepted = accepted & _np(printable)
            matched = pc.fill_null(pc.match_substring_regex(cells, f"\\A(?:^{constraint}$)"), False)
            failures.append((name, ~_np(matched)))
        elif name in ("minLength", "maxLength"):
            if field_.type != "string":
                accepted = np.zeros_like(accepted)
                continue
            length = _np(pc.fill_null(pc.utf8_length(cells), 0))
            bad = length < int(constraint) if name == "minLength" else length > int(constraint)
            failures.append((name, bad))
        elif name == "enum":
            allowed = [reader_of_values(item) for item in constraint]
            try:
                value_set = pa.array([a for a in allowed if a is not None], type=values.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                accepted = np.zeros_like(accepted)
                continue
            inside = pc.fill_null(pc.is_in(values, value_set=value_set), False)
            failures.append((name, ~_np(inside)))
        elif name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            bound = reader_of_values(constraint)
            if bound is None:
                raise Fallback(f"contrainte {name} illisible pour le champ {field_.name}")
            try:
                scalar = pa.scalar(bound, type=values.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                accepted = np.zeros_like(accepted)
                continue
            compare = {
                "minimum": pc.less,
                "maximum": pc.greater,
                "exclusiveMinimum": pc.less_equal,
                "exclusiveMaximum": pc.greater_equal,
            }[name]
            bad = _np(pc.fill_null(compare(values, scalar), False))
            failures.append((name, bad))
        else:  # a constraint this module does not know: frictionless decides every cell
            accepted = np.zeros_like(accepted)
    return accepted, [(name, bad & accepted) for name, bad in failures]


def mostly_distinct(cells: pa.ChunkedArray) -> bool:
    """Whether deduplicating this column would cost more than it saves (judged on a sample)."""
    sample = cells.slice(0, 5_000)
    return bool(len(sample)) and len(pc.unique(sample)) > len(sample) // 2


def _entries(cells: pa.ChunkedArray, plain: bool) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray | None]:
    """Distinct texts and each row's entry, or the column itself when ``plain``."""
    if plain:
        return cells, None
    unified = pc.dictionary_encode(cells).unify_dictionaries()
    if not unified.num_chunks:
        return pa.array([], pa.string()), np.zeros(0, dtype=np.int64)
    entries = unified.chunk(0).dictionary
    index = np.concatenate([_np(pc.fill_null(c.indices, -1)).astype(np.int64) for c in unified.chunks])
    return entries, index


def _column(
    field_: frictionless.Field,
    schema: frictionless.Schema,
    cells: pa.ChunkedArray,
    need_values: bool,
    plain: bool = False,
) -> _Column:
    absent = _np(pc.is_null(cells))
    entries, index = _entries(cells, plain)
    n = len(entries)
    read_cell = _py_reader(field_)
    missing = _np(pc.is_null(entries))
    for value in _missing_values(field_, schema):  # comparisons: cheaper than hashing each text
        same = pc.equal(pc.binary_length(entries), 0) if value == "" else pc.equal(entries, value)
        missing |= _np(pc.fill_null(same, False))
    fast = _fast_values(field_, entries)
    accepted = np.zeros(n, dtype=bool) if fast is None else _np(pc.fill_null(fast[0], False)) & ~missing
    values = None if fast is None else fast[1]
    failures: list[tuple[str, np.ndarray]] = []
    if values is not None:
        accepted, failures = _constraint_failures(
            field_, entries, values, accepted, field_.create_value_reader()
        )
    errors: dict[int, list[tuple[str, str]]] = {}
    for name, bad in failures:
        for entry in np.flatnonzero(bad).tolist():
            errors.setdefault(entry, []).append(("constraint-error", name))

    # Every other text goes to frictionless's own reader, once per distinct text.
    residual = ~missing & ~accepted
    residual_values: list[Any] = []
    if residual.any():
        rows = np.flatnonzero(residual)
        texts = entries.take(pa.array(rows))
        distinct = pc.unique(texts)
        outcomes = [read_cell(text) for text in distinct.to_pylist()]
        positions = _np(pc.index_in(texts, value_set=distinct)).tolist()
        for entry, position in zip(rows.tolist(), positions, strict=True):
            value, found = outcomes[position]
            residual_values.append(value)
            for key in found or {}:
                errors.setdefault(entry, []).append(
                    ("type-error", "") if key == "type" else ("constraint-error", key)
                )

    objects: list[Any] | None = None
    typed: pa.Array | pa.ChunkedArray | None = None
    if need_values:
        typed = (
            values
            if (values is not None and accepted.all())
            else (
                pc.if_else(pa.array(accepted), values, pa.scalar(None, values.type))
                if values is not None
                else pa.nulls(n)
            )
        )
        if residual.any():
            try:
                kind = values.type if values is not None else pa.array(residual_values).type
                typed = pc.replace_with_mask(
                    typed.cast(kind), pa.array(residual), pa.array(residual_values, type=kind)
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
                objects = typed.to_pylist()
                for entry, value in zip(np.flatnonzero(residual).tolist(), residual_values, strict=True):
                    objects[entry] = value
    return _Column(
        entries=entries,
        index=index,
        absent=absent,
        missing=missing,
        values=typed,
        objects=objects,
        errors=errors,
    )


# --- reading ---------------------------------------------------------------------------


def standalone_resource(resource: frictionless.Resource) -> frictionless.Resource:
    """A copy of ``resource`` that opens outside its package (no foreign keys to load)."""
    descriptor = resource.to_descriptor()
    if resource.schema:
        schema = resource.schema.to_descriptor()
        schema.pop("foreignKeys", None)
        descriptor["schema"] = schema
    return frictionless.Resource(descriptor, basepath=resource.basepath)


def _opened_schema(resource: frictionless.Resource) -> frictionless.Schema:
    """The schema frictionless validates against: the declared one, else the detected one.

    Raises :class:`Fallback` when frictionless would read the resource otherwise than as
    plain UTF-8 CSV with a header matching the schema.
    """
    if resource.data is not None or not resource.path or resource.remote:
        raise Fallback("ressource non locale")
    if resource.compression or resource.innerpath:
        raise Fallback("fichier compressé")
    opened = standalone_resource(resource)
    try:
        opened.open()  # type: ignore[no-untyped-call]
    except frictionless.FrictionlessException as error:
        raise Fallback(f"frictionless ne peut pas ouvrir le fichier ({error.error.type})") from error
    try:
        schema = opened.schema
        reason = _reading_difference(opened, schema)
    finally:
        opened.close()
    if reason:
        raise Fallback(reason)
    if resource.schema and resource.schema.foreign_keys:
        schema.foreign_keys = resource.schema.foreign_keys
    return schema


def _reading_difference(resource: frictionless.Resource, schema: frictionless.Schema) -> str:
    opened: Any = resource  # an opened table resource: its labels and header are read
    if opened.encoding not in ("utf-8", "utf-8-sig"):
        return f"encodage {opened.encoding}"
    if opened.format != "csv":
        return f"format {opened.format}"
    dialect = opened.dialect
    control: Any = dialect.get_control("csv") if dialect.has_control("csv") else None
    plain = control is None or (
        control.delimiter == ","
        and control.quote_char == '"'
        and control.double_quote
        and not control.escape_char
        and not control.skip_initial_space
    )
    if not plain:
        return 'dialecte CSV détecté autre que , et "'
    if not dialect.header or dialect.header_rows != [1] or dialect.comment_char or dialect.comment_rows:
        return "en-tête ou commentaires non standard"
    if list(opened.labels) != schema.field_names:
        return "en-tête différent des champs du schéma"
    if schema.has_defined("fields_match") and schema.fields_match != "exact":
        return "fieldsMatch"
    if opened.header and not opened.header.valid:
        return "en-tête invalide"
    return ""


def _has_nul(path: Path) -> bool:
    """Python's csv module refuses NUL bytes (frictionless then reports a source error)."""
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 24):
            if b"\x00" in chunk:
                return True
    return False


BLOCK_SIZE = 1 << 22  # bytes of CSV per batch: memory stays flat whatever the file's size


class _PacedFile(io.RawIOBase):
    """The CSV file as Arrow reads it, but never more than a few blocks ahead of the batches
    taken: Arrow's reader otherwise reads some 35 blocks ahead of a serial parse (140 MB
    of 4 MiB blocks), memory that the rest of a run then cannot use."""

    def __init__(self, path: Path, ahead: int) -> None:
        self._file = path.open("rb")
        self._paced = threading.Condition()
        self._allowed = float(ahead)
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._paced:
            # Bounded wait: a cell longer than the blocks allowed (a multi-line text of
            # many MB) needs more blocks before Arrow can give its batch.
            self._paced.wait_for(lambda: self._read < self._allowed, timeout=0.2)
        count = self._file.readinto(buffer)
        self._read += count
        return count

    def allow(self, more: float) -> None:
        with self._paced:
            self._allowed += more
            self._paced.notify_all()

    def close(self) -> None:
        self.allow(float("inf"))
        self._file.close()
        super().close()


def _batches(path: Path, names: list[str], ragged: list[tuple[int | None, str]]) -> Iterator[pa.RecordBatch]:
    """The file's rows as string batches; rows of the wrong length go to ``ragged``.

    Serial reading is what makes Arrow number the ragged rows (with frictionless's
    numbering: the header is row 1 and a multi-line cell counts once); a background
    thread still reads ahead.
    """

    def keep_aside(row: Any) -> str:
        ragged.append((row.number, row.text))
        return "skip"

    paced = _PacedFile(path, ahead=4 * BLOCK_SIZE)
    try:
        reader = pacsv.open_csv(
            paced,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, use_threads=False, block_size=BLOCK_SIZE
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=keep_aside
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False, null_values=[]
            ),
        )
    except (pa.ArrowInvalid, OSError) as error:
        paced.close()
        raise Fallback(f"lecture Arrow impossible ({str(error)[:80]})") from error
    # Parsing (in Arrow, without the GIL) runs ahead in a thread while batches are checked.
    ready: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=3)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in reader:
                paced.allow(BLOCK_SIZE)
                while not stop.is_set():
                    try:
                        ready.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(None)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            ready.put(error)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, pa.ArrowInvalid):
                raise Fallback(f"lecture Arrow impossible ({str(item)[:80]})") from item
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        paced.allow(float("inf"))  # Arrow may be waiting to read: let it finish
        producer.join()
        paced.close()


def _ragged_batch(
    names: list[str], ragged: list[tuple[int | None, str]]
) -> tuple[pa.RecordBatch, dict[int, list[str]]]:
    """Rows of the wrong length, parsed as frictionless parses them (Python's csv module)."""
    if any(number is None for number, _ in ragged):
        raise Fallback("ligne de longueur incorrecte sans numéro")
    parsed = [next(csv.reader([text]), []) for _, text in ragged]
    columns = [
        pa.array([cells[i] if i < len(cells) else None for cells in parsed], pa.string())
        for i in range(len(names))
    ]
    extra = {i: cells[len(names) :] for i, cells in enumerate(parsed) if len(cells) > len(names)}
    return pa.RecordBatch.from_arrays(columns, names=names), extra


# --- rows ------------------------------------------------------------------------------


def _tuple_codes(columns: list[np.ndarray]) -> np.ndarray:
    """One code per distinct tuple of per-field codes (-1, None, is a value like the others).

    Equal tuples, equal codes, and nothing more (the codes are not dense): two fields'
    codes are combined arithmetically while the product fits in 62 bits, and renumbered
    only when it would not. A hash of every row's tuple (a primary key is distinct on
    each row) cost some 100 bytes a row at the check's peak.
    """
    codes = columns[0] + 1
    for more in columns[1:]:
        width = int(more.max(initial=-1)) + 2
        if (int(codes.max(initial=0)) + 1) * width >= 1 << 62:
            codes = _np(pc.dictionary_encode(pa.array(codes)).indices).astype(np.int64)
        codes *= width
        codes += more + 1
    return codes


def _repeats(codes: np.ndarray, present: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """Rows whose code appeared in an earlier present row (frictionless's memory dict).

    One stable sort of the present rows' codes: in each run of equal codes, every row but
    the first (the earliest, the sort being stable) is a repeat. Rows are taken in
    ``order`` when given (ragged rows come last in the file's batches).
    """
    flagged = np.zeros(len(codes), dtype=bool)
    if order is None and present.all():
        rows: np.ndarray | None = None
        candidates = codes
    else:
        rows = np.flatnonzero(present) if order is None else order[present[order]]
        candidates = codes[rows]
    if len(candidates) < 2:
        return flagged
    sort = np.argsort(candidates, kind="stable")
    ordered = candidates[sort]
    again = ordered[1:] == ordered[:-1]
    del ordered
    later = sort[1:][again]
    flagged[later if rows is None else rows[later]] = True
    return flagged


@dataclass
class Lookup:
    """The key values of a referenced table, as frictionless collects them (no all-None)."""

    columns: list[_Column]

    @classmethod
    def of_rows(cls, rows: list[dict[str, Any]], fields: tuple[str, ...]) -> Lookup:
        """Keys given as Python values (a reference table of another dataset)."""
        n = len(rows)
        return cls(
            [
                _Column(
                    entries=pa.nulls(n, pa.string()),
                    index=None,
                    absent=np.zeros(n, dtype=bool),
                    missing=np.zeros(n, dtype=bool),
                    values=None,
                    objects=[row.get(f) for row in rows],
                    errors={},
                )
                for f in fields
            ]
        )

    def arrow_values(self) -> pa.Array | None:
        if len(self.columns) != 1:
            return None
        objects = self.columns[0].objects
        if objects is not None:  # Python strings (another dataset's keys): Arrow holds them as is
            if all(isinstance(v, str) for v in objects if v is not None):
                return pa.array([v for v in objects if v is not None], pa.string())
            return None
        if self.columns[0].values is None:
            return None
        values = self.columns[0].values
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        return pc.drop_null(values)

    def tuples(self) -> set[tuple[Any, ...]]:
        entries = [c.python_entries() for c in self.columns]
        if len(entries) == 1:
            return {(v,) for v in entries[0] if v is not None}
        codes = [c.codes() for c in self.columns]
        _, first = np.unique(_tuple_codes(codes), return_index=True)
        found = set()
        for row in first.tolist():
            key = tuple(c.value(row) for c in self.columns)
            if any(v is not None for v in key):
                found.add(key)
        return found


def _found(target: list[_Column], lookup: Lookup) -> np.ndarray:
    """Per row: the foreign key's values are in the lookup."""
    theirs = lookup.arrow_values()
    if len(target) == 1:
        mine = target[0]
        if (
            theirs is not None
            and mine.objects is None
            and mine.values is not None
            and mine.values.type == theirs.type
        ):
            inside = _np(pc.fill_null(pc.is_in(mine.values, value_set=theirs), False))
        else:
            known = lookup.tuples()
            inside = np.array([(v,) in known for v in mine.python_entries()], dtype=bool)
        return mine.per_row(inside, False)
    known = lookup.tuples()
    codes = _tuple_codes([c.codes() for c in target])
    distinct, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    inside = np.array([tuple(c.value(r) for c in target) in known for r in first.tolist()], dtype=bool)
    return inside[inverse.reshape(-1)]


_Found = tuple[int, str, str, str | None, str | None, int | None]  # row, type, note, cell, field, position


def _decide(
    schema: frictionless.Schema,
    batch: pa.RecordBatch,
    keyed: set[str],
    pool: ThreadPoolExecutor,
    extra: Mapping[int, list[str]],
    plain: dict[str, bool],
) -> tuple[list[_Found], dict[str, _Column]]:
    """One batch's cell-level errors (a blank row reports only blank-row) and its columns
    (with typed values for the fields in ``keyed``).

    ``plain`` remembers, per field, whether the first batch found it mostly distinct.
    """
    fields = schema.fields

    def decide(f: frictionless.Field) -> _Column:
        cells = pa.chunked_array([batch.column(f.name)])
        if f.name not in plain:
            plain[f.name] = mostly_distinct(cells)
        return _column(f, schema, cells, f.name in keyed, plain[f.name])

    columns = list(pool.map(decide, fields))
    blank_row = np.ones(batch.num_rows, dtype=bool)
    for column in columns:
        blank_row &= column.per_row(column.missing, True)
    found: list[_Found] = []
    for position, (field_, column) in enumerate(zip(fields, columns, strict=True), start=1):
        required = bool(field_.constraints.get("required"))
        flagged = np.zeros(len(column.missing), dtype=bool)
        if column.errors:
            flagged[list(column.errors)] = True
        if required:
            flagged |= column.missing
        for index in np.flatnonzero(column.per_row(flagged, required) & ~blank_row).tolist():
            if column.absent[index]:
                errors = [("constraint-error", "required")]
            else:
                entry = column.entry(index)
                errors = (
                    [("constraint-error", "required")]
                    if required and column.missing[entry]
                    else column.errors.get(entry, [])
                )
            cell = str(column.text(index))
            for code, constraint in errors:
                note = (
                    f'type is "{field_.type}/{field_.format}"'
                    if code == "type-error"
                    else f'constraint "{constraint}" is "{field_.constraints[constraint]}"'
                )
                found.append((index, code, note, cell, field_.name, position))
        for index in np.flatnonzero(column.absent & ~blank_row).tolist():
            found.append((index, "missing-cell", "", "", field_.name, position))
    for index, cells in extra.items():
        if not blank_row[index]:
            for position, cell in enumerate(cells, start=len(fields) + 1):
                found.append((index, "extra-cell", "", str(cell), "", position))
    found.extend((index, "blank-row", "", None, None, None) for index in np.flatnonzero(blank_row).tolist())
    return found, {f.name: c for f, c in zip(fields, columns, strict=True)}


def row_values(column: _Column) -> pa.ChunkedArray | list[Any]:
    """A column's typed values row by row: Arrow values, or Python ones where Arrow has none."""
    joined = _joined([column])
    return joined.objects if joined.objects is not None else joined.values


def _joined(parts: list[_Column]) -> _Column:
    """One keyed column, row by row, from its batches."""
    absent = np.concatenate([p.absent for p in parts]) if parts else np.zeros(0, dtype=bool)
    n = len(absent)
    types = {
        p.values.type
        for p in parts
        if p.objects is None and p.values is not None and p.values.type != pa.null()
    }
    values: pa.ChunkedArray | None = None
    objects: list[Any] | None = None
    if all(p.objects is None for p in parts) and len(types) <= 1:
        kind = types.pop() if types else pa.null()
        chunks: list[pa.Array] = []
        for p in parts:
            per_entry = p.values if p.values is not None else pa.nulls(len(p.entries))
            rows = per_entry if p.index is None else per_entry.take(pa.array(p.index, mask=p.absent))
            rows = rows.cast(kind) if rows.type != kind else rows
            chunks.extend(rows.chunks if isinstance(rows, pa.ChunkedArray) else [rows])
        values = pa.chunked_array(chunks, type=kind)
    else:
        objects = []
        for p in parts:
            entries = p.python_entries()
            objects.extend(None if p.absent[i] else entries[p.entry(i)] for i in range(len(p.absent)))
    return _Column(
        entries=pa.nulls(n, pa.string()),
        index=None,
        absent=absent,
        missing=np.zeros(n, dtype=bool),
        values=values,
        objects=objects,
        errors={},
    )


def check_table(
    resource: frictionless.Resource,
    *,
    lookups: Mapping[str, Mapping[tuple[str, ...], Lookup]] | None = None,
    keep: Iterable[str] = (),
    sink: Callable[[Mapping[str, _Column]], None] | None = None,
) -> TableCheck:
    """Errors of one CSV against its schema, as frictionless reports them (no limit).

    ``lookups[resource][fields]`` are the referenced keys for foreign keys to other
    tables (a self-reference is resolved here); ``keep`` names the fields whose values
    the caller needs (another table's foreign keys). Raises :class:`Fallback` when the
    table is outside the fast path; callers then ask frictionless.

    The file is read in batches of ``BLOCK_SIZE``: only the values of key fields (primary
    key, unique, foreign keys) are kept for the whole table. ``sink`` receives every
    field of each batch, in file order, while no error has been found (a caller that
    keeps the typed rows elsewhere: ``pipelines.spill``).
    """
    schema = _opened_schema(resource)
    name = resource.name or ""
    names = schema.field_names
    if not names:
        raise Fallback("schéma sans champ")
    if "" not in schema.missing_values:
        raise Fallback('"" n\'est pas une valeur manquante du schéma')
    if resource.normpath is None:
        raise Fallback("ressource non locale")
    path = Path(resource.normpath)
    if _has_nul(path):
        raise Fallback("octet NUL dans le fichier")
    keyed = set(keep) | set(schema.primary_key)
    for fk in schema.foreign_keys:
        keyed |= set(fk["fields"])
        if fk["reference"]["resource"] in ("", name):
            keyed |= set(fk["reference"]["fields"])
    keyed |= {f.name for f in schema.fields if f.constraints.get("unique")}

    ragged: list[tuple[int | None, str]] = []
    found: list[_Found] = []
    parts: dict[str, list[_Column]] = {k: [] for k in keyed}
    valued = set(names) if sink is not None else keyed  # fields whose typed values are made
    n = 0
    plain: dict[str, bool] = {}
    # Arrow's kernels release the GIL: fields are decided on every core at once.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for batch in _batches(path, names, ragged):
            batch_found, columns_of_batch = _decide(schema, batch, valued, pool, {}, plain)
            found.extend((n + row, *rest) for row, *rest in batch_found)  # type: ignore[misc]
            for key in keyed:
                parts[key].append(columns_of_batch[key])
            if sink is not None and not found and not ragged:
                sink(columns_of_batch)
            n += batch.num_rows
        good = n
        if ragged:
            batch, extra = _ragged_batch(names, ragged)
            batch_found, columns_of_batch = _decide(schema, batch, keyed, pool, extra, plain)
            found.extend((n + row, *rest) for row, *rest in batch_found)  # type: ignore[misc]
            for key in keyed:
                parts[key].append(columns_of_batch[key])
            n += batch.num_rows
    bad_numbers = np.array([number for number, _ in ragged], dtype=np.int64)
    number_of = np.concatenate(
        [
            np.setdiff1d(np.arange(2, n + 2, dtype=np.int64), bad_numbers, assume_unique=True)[:good],
            bad_numbers,
        ]
    )
    order = None if not ragged else np.argsort(number_of, kind="stable")
    columns = {key: _joined(parts.pop(key)) for key in list(parts)}  # each batch list freed once joined

    row_errors: dict[int, list[TableError]] = {}

    def add(index: int, error: TableError) -> None:
        row_errors.setdefault(index, []).append(error)

    for index, code, note, cell, field_name, position in found:
        add(
            index,
            TableError(
                type=code,
                row_number=int(number_of[index]),
                note=note,
                cell=cell,
                field_name=field_name,
                field_number=position,
            ),
        )

    # Unique fields, then the primary key, then foreign keys (frictionless's order).
    for position, field_ in enumerate(schema.fields, start=1):
        if not field_.constraints.get("unique"):
            continue
        column = columns[field_.name]
        codes = column.codes()
        for index in np.flatnonzero(_repeats(codes, codes >= 0, order)).tolist():
            add(
                index,
                TableError(
                    type="unique-error",
                    row_number=int(number_of[index]),
                    note="the same as in an earlier row",
                    cell=str(column.value(index)),
                    field_name=field_.name,
                    field_number=position,
                ),
            )
    if schema.primary_key:
        per_field = [columns[k].codes() for k in schema.primary_key]
        none = np.ones(n, dtype=bool)
        for codes in per_field:
            none &= codes < 0
        for index in np.flatnonzero(none).tolist():
            add(
                index,
                TableError(
                    type="primary-key",
                    row_number=int(number_of[index]),
                    note='cells composing the primary keys are all "None"',
                ),
            )
        repeated = _repeats(_tuple_codes(per_field), ~none, order)
        del per_field, codes, none  # 17 bytes a row not held through the foreign keys
        for index in np.flatnonzero(repeated).tolist():
            add(
                index,
                TableError(
                    type="primary-key", row_number=int(number_of[index]), note="the same as in an earlier row"
                ),
            )
        del repeated
    for fk in schema.foreign_keys:
        source_name = fk["reference"]["resource"]
        source_key = tuple(fk["reference"]["fields"])
        target = [columns[k] for k in fk["fields"]]
        if source_name in ("", name):
            lookup = Lookup([columns[k] for k in source_key])
        else:
            given = (lookups or {}).get(source_name, {}).get(source_key)
            if given is None:
                raise Fallback(f"clé étrangère vers {source_name}, table non fournie")
            lookup = given
        all_none = np.ones(n, dtype=bool)
        for column in target:
            all_none &= column.codes() < 0
        for index in np.flatnonzero(~all_none & ~_found(target, lookup)).tolist():
            values = ", ".join(str(c.value(index)) for c in target)
            add(
                index,
                TableError(
                    type="foreign-key",
                    row_number=int(number_of[index]),
                    note=f'for "{", ".join(fk["fields"])}": values "{values}" not found in the lookup '
                    f'table "{source_name}" as "{", ".join(source_key)}"',
                    field_names=tuple(fk["fields"]),
                ),
            )

    errors = [e for index in sorted(row_errors, key=lambda i: number_of[i]) for e in row_errors[index]]
    return TableCheck(name=name, errors=errors, rows=n, engine=ARROW, keys={k: columns[k] for k in keep})


def validate_resource(resource: frictionless.Resource, **options: Any) -> TableCheck:
    """``check_table``, or frictionless itself (no error limit) when the table needs it."""
    try:
        return check_table(resource, **options)
    except Fallback as why:
        report = frictionless.validate(resource, limit_errors=UNLIMITED_ERRORS)
        errors = [e for task in report.tasks for e in task.errors] + list(report.errors)
        rows = sum(int(task.stats.get("rows") or 0) for task in report.tasks)
        return TableCheck(
            name=resource.name or "", errors=errors, rows=rows, engine=FRICTIONLESS, reason=str(why)
        )


# frictionless stops at 1 000 errors by default and says so nowhere in its text output:
# a report must list every error.
UNLIMITED_ERRORS = 10**9
