"""Intake: a table delivered whole as one CSV file (millions of rows).

The file is recognised by its checksum before anything parses it (``pipelines.state.inputs``):
when the inputs of the served version are unchanged, a rerun stops there. Otherwise it is
archived under ``<state>/<slug>/entrees/<sha256>/`` (kept even when rejected, with its
report), checked on Arrow columns with frictionless's semantics, and its typed values
become the table, so that nothing parses it twice. Those values go to disk batch by
batch as they are checked and come back in primary-key order (``pipelines.build.spill``):
the table is never whole in memory, whatever its size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import frictionless
import pyarrow as pa

from pipelines.build import spill
from pipelines.build.tables import key_order, sorted_by_key
from pipelines.core.config import DatasetConfig, Settings, TableFileSource
from pipelines.core.errors import ConfigError, PipelineError, ValidationFailed
from pipelines.core.problems import Problem, problem_of
from pipelines.core.schema import TableSchema, arrow_schema, load_schema, primary_key
from pipelines.io.atomic import copy_atomically, write_atomically
from pipelines.state.inputs import input_fingerprint, sha256_file
from pipelines.validate import columnar
from pipelines.validate.package import inline_table, issues_of

ARCHIVE_DIR = "entrees"


class SetAsideFailed(PipelineError):
    """The checked rows of ``file`` could not be set aside in the state folder ``folder``
    while the table was checked (a full disk, a folder not writable: ``reason``). Nothing
    was published; the file received stays archived."""

    def __init__(self, message: str, *, file: str, folder: Path, reason: str, hint: str) -> None:
        super().__init__(message, hint=hint, file=file, folder=folder, reason=reason)
        self.file = file
        self.folder = folder
        self.reason = reason


def source_of(config: DatasetConfig) -> TableFileSource:
    """The dataset's table-file source; raises ``ConfigError`` if the dataset is not fed by a table file."""
    if not isinstance(config.source, TableFileSource):
        raise ConfigError(f"Le jeu de données {config.slug} n'est pas alimenté par un fichier de table.")
    return config.source


def input_file(config: DatasetConfig) -> Path:
    """The delivered CSV, found from the dataset's folder by its ``path`` in ``dataset.yaml``.

    Raises ``ConfigError`` if no file is there, saying where it is expected."""
    path = config.directory / source_of(config).path
    if not path.is_file():
        raise ConfigError(
            f"Fichier de la table {source_of(config).table} introuvable : {path}",
            hint="Déposez l'export à cet emplacement ou corrigez « path » dans dataset.yaml.",
        )
    return path


def _reference_rows(config: DatasetConfig) -> dict[str, list[dict[str, str]]]:
    from pipelines.gather.submissions.plan_facts import plan_references

    return plan_references(config) if source_of(config).plan else {}


def _typed_column(column: columnar._Column, kind: pa.DataType) -> pa.Array:
    """A checked column's values, row by row, as the published Arrow type."""
    values = columnar.row_values(column)
    if isinstance(values, list):
        return pa.array(values, type=kind)
    combined = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pa.nulls(len(combined), kind) if combined.type == pa.null() else combined.cast(kind)


def _typed_batch(columns: Mapping[str, columnar._Column], target: pa.Schema) -> pa.RecordBatch:
    """One batch's rows as frictionless reads them, from the values the check made."""
    return pa.RecordBatch.from_arrays([_typed_column(columns[f.name], f.type) for f in target], schema=target)


def _key_table(check: columnar.TableCheck, key: list[str], target: pa.Schema) -> pa.Table:
    """The key columns of the whole table, in file order (the check kept them)."""
    return pa.table([_typed_column(check.keys[name], target.field(name).type) for name in key], names=key)


def _key_order(check: columnar.TableCheck, key: list[str], target: pa.Schema) -> pa.Array:
    """The rows' order by primary key. The check's key columns are dropped once copied
    into the key table, and that table once sorted: neither is held while the rows are
    dealt (``Spill.ordered``), some 20 bytes a row each."""
    keys = _key_table(check, key, target)
    check.keys.clear()
    return key_order(keys, key)


def _frictionless_table(resource: frictionless.Resource, schema: TableSchema) -> pa.Table:
    """The rows frictionless reads, when the file is outside the columnar fast path."""
    names = [f["name"] for f in schema["fields"]]
    with columnar.standalone_resource(resource) as opened:
        rows = [{n: row[n] for n in names} for row in opened.row_stream]
    return pa.Table.from_pylist(rows, schema=arrow_schema(schema))


def check_table_file(
    path: Path, schema: TableSchema, table: str, references: dict[str, list[dict[str, str]]], folder: Path
) -> tuple[list[Problem], spill.SpilledTable | pa.Table | None]:
    """Every error of the file (frictionless's, with no limit) and, if none, its typed table
    in primary-key order: on disk under ``folder`` (columnar check), or in memory when
    frictionless had to read the file."""
    descriptor = {k: v for k, v in schema.items() if k != "$schema"}
    resource = frictionless.Resource(
        path=path.name,
        basepath=str(path.parent),
        name=table,
        schema=frictionless.Schema.from_descriptor(descriptor),
    )
    lookups: dict[str, Mapping[tuple[str, ...], columnar.Lookup]] = {
        name: {(key,): columnar.Lookup.of_rows(rows, (key,)) for key in (rows[0] if rows else {})}
        for name, rows in references.items()
    }
    target = arrow_schema(schema)
    key = primary_key(schema)
    spilled = spill.Spill(folder, target)
    try:
        try:
            check = columnar.check_table(
                resource,
                lookups=lookups,
                keep=key,
                sink=lambda columns: spilled.add(partial(_typed_batch, columns, target)),
            )
        except columnar.Fallback:
            spilled.discard()
            package = frictionless.Package(
                {
                    "resources": [
                        {"name": table, "path": path.name, "schema": descriptor},
                        *(inline_table(name, rows) for name, rows in references.items() if rows),
                    ]
                },
                basepath=str(path.parent),
            )
            report = package.validate(limit_errors=columnar.UNLIMITED_ERRORS)
            issues = [i for i in issues_of(report) if i.table == table or i.table == "datapackage"]
            return issues, None if issues else sorted_by_key(_frictionless_table(resource, schema), schema)
        spill.release_unused()
        issues = [problem_of(e, table) for e in check.errors]
        if issues:
            spilled.discard()
            return issues, None
        if any(pa.types.is_list(target.field(name).type) for name in key):  # no Arrow sort on lists
            whole = spilled.ordered(range(check.rows))
            table_in_memory = whole.read_all()
            whole.discard()
            return [], sorted_by_key(table_in_memory, schema)
        return [], spilled.ordered(_key_order(check, key, target))
    except BaseException:
        spilled.discard()
        raise


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def gather_table_file(config: DatasetConfig, settings: Settings) -> dict[str, spill.SpilledTable | pa.Table]:
    """The dataset's table from its file, archived first; a file with errors is rejected."""
    source = source_of(config)
    path = input_file(config)
    sha256 = sha256_file(path)
    kept = settings.state_dir / config.slug / ARCHIVE_DIR / sha256
    original = kept / f"original{path.suffix.lower() or '.csv'}"
    if not original.exists():
        copy_atomically(path, original)
    fingerprint = input_fingerprint(config, settings)
    schema = load_schema(settings.schemas_dir, source.table)
    report_path = kept / "rapport.json"
    known = _read_report(report_path)
    if known and not known["valide"] and known.get("empreinte_entrees") == fingerprint:
        # The same file, schema and plan were rejected before: the same report, not reread.
        issues = [Problem.from_dict(d) for d in known["details"]]
        table = None
    else:
        spill.sweep(settings.state_dir)
        try:
            issues, table = check_table_file(
                original,
                schema,
                source.table,
                _reference_rows(config),
                spill.spill_folder(settings.state_dir, config.slug),
            )
        except OSError as exc:  # a full disk, a folder not writable: said, not a traceback
            raise SetAsideFailed(
                f"La table de {path.name} n'a pas pu être mise de côté pendant sa vérification "
                f"({exc.strerror or exc}) : rien n'a été publié.",
                file=path.name,
                folder=settings.state_dir,
                reason=str(exc.strerror or exc),
                hint=f"Vérifiez la place libre et les droits du dossier d'état "
                f"({settings.state_dir}) : la table y occupe à peu près la taille du fichier "
                "le temps de la publication.",
            ) from exc
        report = {
            "fichier": path.name,
            "sha256": sha256,
            "empreinte_entrees": fingerprint,
            "valide": not issues,
            "erreurs": len(issues),
            "details": [i.to_dict() for i in issues],
        }
        write_atomically(
            report_path, (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        )
    if issues:
        raise ValidationFailed(
            f"Le fichier {path.name} de {config.slug} contient {len(issues)} erreur(s) : rien n'a "
            f"été publié. Le fichier et son rapport sont archivés dans {kept}.",
            issues,
            hint="Corrigez l'export (le rapport donne la ligne, le champ et la règle de chaque "
            "erreur), puis relancez.",
        )
    assert table is not None
    return {source.table: table}
