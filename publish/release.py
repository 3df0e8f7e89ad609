"""Publish stage: one dataset's tables to a new immutable version, or to nothing if unchanged.

Order of work, chosen so that a failure at any step leaves what is served untouched:
take the output's lock → recover what an interrupted run left → stream every data file
into a staging folder, hashing it as it is written (a table of millions of rows is
never held as text) → fingerprint → compare with the served version (unchanged: discard
the staging, stop) → metadata → validate the staged package with frictionless's
semantics (errors: discard the staging, raise; every staged file is re-read and its
bytes and sha256 checked against the descriptor, except the files of tables the caller
names as already checked: a table file's rows are the values its gather check found
valid) → rename into place → version log (the commit record) → changelog → ``latest``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.build.tables import SLICE_ROWS
from pipelines.core.clock import publication_date
from pipelines.core.config import DatasetConfig, SubmissionsSource
from pipelines.core.errors import PublishError, ValidationFailed
from pipelines.core.problems import Problem
from pipelines.core.schema import TableSchema
from pipelines.gather.submissions.records import withdrawal_notes
from pipelines.gather.submissions.views import FILES as FILES_TABLE
from pipelines.io import failpoints
from pipelines.io.lock import exclusive
from pipelines.state.archive import SubmissionArchive
from pipelines.state.samples import is_sample, refuse_over_real_output, refuse_over_real_state
from pipelines.validate.package import validate_datapackage
from publish import versioning as v
from publish.metadata.datapackage import (
    FileFacts,
    build_datapackage,
    datapackage_bytes,
    published_schema,
)
from publish.metadata.udata import build_udata_payload, udata_bytes
from publish.versioning.table_diff import arrow_counts
from publish.workbook import workbook_bytes, workbook_name
from publish.writers import (
    FORMAT_CHANGES,
    FORMAT_REVISION,
    FORMATS,
    HashingWriter,
    table_slices,
    write_formats,
)

Validator = Callable[[Path], list[Problem]]
Table = Any  # a pa.Table, or a pipelines.spill.SpilledTable (on disk, in key order)


@dataclass(frozen=True)
class ReleaseResult:
    slug: str
    version: str
    published: bool
    rows: dict[str, int]
    note: str = ""


def served_entry(out: Path, slug: str) -> v.VersionEntry | None:
    """The served version's entry of ``versions.json`` (its number, its ``inputs``...)."""
    log = v.read_log(out / "datasets" / slug)
    return log.entry(log.served) if log.served else None


def _schema_bytes(schema: TableSchema) -> bytes:
    return json.dumps(schema, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _report(tables: dict[str, Table]) -> bytes:
    """The version's validation report: a version is published only valid (one with errors
    raises, and its staging folder is removed)."""
    document = {
        "valide": True,
        "erreurs": [],
        "tables": {name: {"lignes": table.num_rows} for name, table in sorted(tables.items())},
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _stage_data(
    staging: Path, config: DatasetConfig, tables: dict[str, Table], schemas: dict[str, TableSchema]
) -> dict[str, FileFacts]:
    """Every data file streamed into a fresh staging folder, fsynced; their sizes and sha256.

    The three files of a table are written in one pass over its rows (a table on disk is
    read once); the dataset's workbook, if it has one, last."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    facts = {}
    for table in sorted(config.tables):
        names = {fmt: f"{table}.{fmt}" for fmt in FORMATS}
        handles = {fmt: open(staging / name, "wb") for fmt, name in names.items()}
        try:
            hashing = {fmt: HashingWriter(handle) for fmt, handle in handles.items()}
            rows = tables[table]
            parts = table_slices(rows, SLICE_ROWS) if isinstance(rows, pa.Table) else rows.parts(SLICE_ROWS)
            write_formats(rows.schema, parts, hashing)
            for handle in handles.values():
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            for handle in handles.values():
                handle.close()
        for fmt, name in sorted(names.items(), key=lambda item: item[1]):
            facts[name] = FileFacts(hashing[fmt].size, hashing[fmt].digest.hexdigest())
            failpoints.reached(f"stage:{name}")
    if config.workbook:
        name = workbook_name(config.slug)
        content = workbook_bytes(tables, schemas, config.workbook)
        with open(staging / name, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        facts[name] = FileFacts.of(content)
        failpoints.reached(f"stage:{name}")
    return facts


def release_dataset(
    out: Path,
    config: DatasetConfig,
    schemas: dict[str, TableSchema],
    tables: dict[str, Table],
    validate: Validator,
    *,
    lock_timeout: float = 600.0,
    base_url: str = "http://127.0.0.1:8000/",
    inputs: str | None = None,
    notes: Callable[[Path], list[str]] | None = None,
) -> ReleaseResult:
    """Publishes ``tables`` under ``out/datasets/<slug>/`` as a new version if they changed.

    Guarantees: one publisher at a time per output folder (others wait, up to
    ``lock_timeout``); what an interrupted run left is finished or discarded first; an
    unchanged build publishes nothing; a build identical to a version withdrawn by a
    rollback is not published again; a build with any frictionless error publishes
    nothing and raises :class:`ValidationFailed` with every issue; a version folder, once
    renamed into place, is never rewritten; ``versions.json`` is the commit record, and
    ``latest`` follows it. A version built from sample submissions is marked
    ``"exemple": true`` and is never published where a real version was. ``notes(served
    version folder)`` gives reasons the data cannot tell (a withdrawn submission). When the
    served version's rows are written differently by the current writers (an older
    ``format`` revision), they are first published again as a version of its own, whose one
    reason is the change of format; the new rows then follow as the next version.
    """
    dataset_dir = out / "datasets" / config.slug
    with exclusive(out, timeout=lock_timeout, what=f"Publication de {config.slug}"):
        log = v.recover(dataset_dir, out / v.STAGING_DIR, config.slug, config.title)
        refuse_samples_over_real_output(out, config, log)
        served = log.entry(log.served) if log.served else None
        # The served rows, written again by newer writers: a version of its own first.
        rewritten = _release_in_new_format(out, config, schemas, log, served, base_url) if served else None
        result = _release_locked(
            out, config, schemas, tables, validate, log, base_url=base_url, inputs=inputs, notes=notes
        )
    if rewritten is None:
        return result
    if not result.published:
        return ReleaseResult(config.slug, rewritten.version, True, result.rows, note=rewritten.note)
    return ReleaseResult(
        config.slug,
        result.version,
        True,
        result.rows,
        note=f"après la version {rewritten.version} : {rewritten.note}",
    )


def _release_in_new_format(
    out: Path,
    config: DatasetConfig,
    current: dict[str, TableSchema],
    log: v.VersionLog,
    served: v.VersionEntry,
    base_url: str,
) -> ReleaseResult | None:
    """When the served version was written by an older revision of the writers and they now
    write its rows differently, publishes those very rows (read back from its Parquet files,
    under its own schemas, title and description) as a PATCH version whose one reason is
    what the writers changed: a change of format is a version of its own, never mixed with
    a change of data (the caller holds the lock; ``log`` is updated)."""
    old_dir = out / "datasets" / config.slug / served.version
    notes = _format_notes(old_dir, served)
    if not notes:
        return None
    descriptor = json.loads((old_dir / "datapackage.json").read_text(encoding="utf-8"))
    schemas = v.read_schemas(old_dir)
    # A table's schema of the definitions when it publishes as the served one did: then
    # the same rows, built again later, have this version's fingerprint (nothing more to publish).
    schemas = {
        name: current[name]
        if name in current and published_schema(current[name], tuple(schemas)) == schema
        else schema
        for name, schema in schemas.items()
    }
    tables: dict[str, Table] = {name: pq.read_table(old_dir / f"{name}.parquet") for name in schemas}
    as_served = config.model_copy(
        update={
            "tables": tuple(schemas),
            "workbook": (),
            "title": descriptor["title"],
            "description": descriptor["description"],
        }
    )
    change = v.Change(v.Level.PATCH, notes)
    change.tables = {name: v.TableChanges() for name in schemas}
    # Checked as a package on its own: these rows passed every check when first published
    # (the plan they refer to may have changed since; the next version is checked against it).
    result = _release_locked(
        out,
        as_served,
        schemas,
        tables,
        validate_datapackage,
        log,
        base_url=base_url,
        inputs=served.inputs,
        change=change,
        sample=served.sample,
    )
    return ReleaseResult(
        config.slug, result.version, True, result.rows, note="nouvelle écriture des fichiers"
    )


def _release_locked(
    out: Path,
    config: DatasetConfig,
    schemas: dict[str, TableSchema],
    tables: dict[str, Table],
    validate: Validator,
    log: v.VersionLog,
    *,
    base_url: str,
    inputs: str | None = None,
    notes: Callable[[Path], list[str]] | None = None,
    change: v.Change | None = None,
    sample: bool | None = None,
) -> ReleaseResult:
    """``release_dataset``'s work once the lock is held and ``log`` recovered; ``change``
    given: the version's level and reasons (else computed against the served version);
    ``sample``: the version's sample mark (else this run's)."""
    dataset_dir = out / "datasets" / config.slug
    rows = {name: tables[name].num_rows for name in config.tables}
    sample = is_sample(config) if sample is None else sample
    staging = out / v.STAGING_DIR / f"{config.slug}-{os.getpid()}"
    try:
        facts = _stage_data(staging, config, tables, schemas)
        fingerprint = v.fingerprint(
            {
                **{name: f.sha256 for name, f in facts.items()},
                **{
                    f"schemas/{name}.json": FileFacts.of(_schema_bytes(schemas[name])).sha256
                    for name in config.tables
                },
            }
        )
        served = log.entry(log.served) if log.served else None
        if served is not None and served.fingerprint == fingerprint:
            if inputs and served.inputs != inputs:  # same data from new inputs
                served.inputs = inputs
                v.write_log(dataset_dir, config.slug, config.title, log)
            return ReleaseResult(config.slug, served.version, False, rows)
        withdrawn = next((e for e in log.withdrawn() if e.fingerprint == fingerprint), None)
        if withdrawn is not None:
            return ReleaseResult(
                config.slug,
                log.served or "",
                False,
                rows,
                note=f"identique à la version {withdrawn.version}, retirée par un retour "
                f"arrière : rien n'est publié ; pour la servir de nouveau : ogp rollback {config.slug} "
                f"{withdrawn.version}",
            )
        if change is None:
            change = _change_against(dataset_dir, served, staging, schemas, config, rows, tables)
            if served is not None and notes is not None:
                for note in notes(dataset_dir / served.version):
                    change.raise_to(v.Level.PATCH, note)
        version = v.bump(log.highest, change.level)
        descriptor = build_datapackage(config, version, schemas, facts)
        v.stage_files(
            staging,
            {
                "datapackage.json": datapackage_bytes(descriptor),
                "report.json": _report(tables),
                "udata.json": udata_bytes(build_udata_payload(config, version, descriptor, base_url)),
            },
            fresh=False,
        )
        issues = validate(staging / "datapackage.json")
        failpoints.reached("validated")
        if issues:
            raise ValidationFailed(
                f"Le jeu de données {config.slug} contient {len(issues)} erreur(s) : rien n'a été publié.",
                issues,
                hint="Corrigez la source ou le référentiel indiqués, puis relancez.",
            )
        v.commit_version(staging, dataset_dir, version)
    finally:
        if staging.exists():
            shutil.rmtree(staging)

    entry = v.VersionEntry(
        version=version,
        date=publication_date(),
        fingerprint=fingerprint,
        level=change.level.name.lower(),
        reasons=change.reasons,
        tables={
            name: v.TableCounts(c.added, c.changed, c.removed) for name, c in sorted(change.tables.items())
        },
        inputs=inputs,
        sample=sample if isinstance(config.source, SubmissionsSource) else None,
        format=FORMAT_REVISION,
    )
    log.versions.append(entry)
    log.served = version
    v.write_log(dataset_dir, config.slug, config.title, log)
    return ReleaseResult(config.slug, version, True, rows)


def _change_against(
    dataset_dir: Path,
    served: v.VersionEntry | None,
    staging: Path,
    schemas: dict[str, TableSchema],
    config: DatasetConfig,
    rows: dict[str, int],
    tables: dict[str, Table],
) -> v.Change:
    """The change of a build against the served version (the first version: MAJOR)."""
    if served is None:
        change = v.Change(v.Level.MAJOR, ["première publication"])
        change.tables = {name: v.TableChanges(added=n) for name, n in rows.items()}
        return change
    old_dir = dataset_dir / served.version
    old_schemas = v.read_schemas(old_dir)
    # Compared as published on both sides (the old one is read from its datapackage.json):
    # a schema whose published text did not change gives no « documentation » reason.
    new_schemas = {name: published_schema(schema, config.tables) for name, schema in schemas.items()}

    def counts(table: str, key: list[str]) -> v.TableChanges:
        # On Arrow columns (the old version's Parquet against the new table) when the two
        # can be compared so; else as published (JSON values), the old version's form.
        old_parquet = old_dir / f"{table}.parquet"
        old = pq.read_table(old_parquet) if old_parquet.exists() else None
        new = (
            tables[table]
            if isinstance(tables[table], pa.Table)
            else pq.read_table(staging / f"{table}.parquet")
        )
        found = arrow_counts(old, new, key)
        if found is not None:
            return found
        old_rows = json.loads((old_dir / f"{table}.json").read_bytes()) if old is not None else []
        new_rows = json.loads((staging / f"{table}.json").read_bytes())
        return v.diff_table(old_rows, new_rows, key).counts

    change = v.classify_change({}, {}, old_schemas, new_schemas, counts=counts)
    if change.level == v.Level.NONE:
        change.raise_to(v.Level.PATCH, "fichiers régénérés à l'identique des données")
    return change


def _format_notes(old_dir: Path, served: v.VersionEntry) -> list[str]:
    """What the writers now write differently from the served version, when they do.

    Only for a version written by an earlier revision of the writers (``format`` in its
    log entry; none: revision 1): its tables are written again, from its own Parquet
    files, by the current writers; if a CSV or JSON file then differs from the served
    one, the change of format is a reason of the new version (the same rows written
    differently are not « rows changed »), in the words of ``FORMAT_CHANGES``."""
    written_with = served.format or 1
    if written_with >= FORMAT_REVISION:
        return []
    notes = [FORMAT_CHANGES[r] for r in range(written_with + 1, FORMAT_REVISION + 1) if r in FORMAT_CHANGES]
    descriptor = json.loads((old_dir / "datapackage.json").read_text(encoding="utf-8"))
    hashes = {r["path"]: r["hash"] for r in descriptor["resources"]}
    for table in sorted(v.read_schemas(old_dir)):
        parquet_path = old_dir / f"{table}.parquet"
        if not parquet_path.exists():
            continue
        parquet = pq.ParquetFile(parquet_path)
        with open(os.devnull, "wb") as void:
            sinks = {fmt: HashingWriter(void) for fmt in ("csv", "json")}
            parts = (pa.Table.from_batches([b]) for b in parquet.iter_batches(batch_size=SLICE_ROWS))
            write_formats(parquet.schema_arrow, parts, sinks)
        if any(
            hashes.get(f"{table}.{fmt}") != f"sha256:{sink.digest.hexdigest()}" for fmt, sink in sinks.items()
        ):
            return notes
    return []


def refuse_samples_over_real_output(
    out: Path, config: DatasetConfig, log: v.VersionLog | None = None
) -> None:
    """Stops a sample release where a version built from real submissions was published
    (``log``: the dataset's version log when the caller has read it already)."""
    if not is_sample(config):
        return
    dataset_dir = out / "datasets" / config.slug
    versions = (log or v.read_log(dataset_dir)).versions
    refuse_over_real_output(
        config, out, [e.version for e in versions if not v.version_is_sample(dataset_dir, e)]
    )


def refuse_samples_over_real_data(out: Path, config: DatasetConfig, state_dir: Path) -> None:
    """Before a run writes anything: sample submissions never go where real ones were
    received (state folder) or published (output folder)."""
    if not is_sample(config):
        return
    archive = SubmissionArchive(state_dir / config.slug)  # a fresh one
    refuse_over_real_state(config, archive.root, archive.has_real_submissions())
    refuse_samples_over_real_output(out, config)


def submissions_in(version_dir: Path) -> set[str]:
    """The received files (``id_soumission``) whose rows a published version holds, read from
    its Parquet files (one column each). The ``soumissions`` table is not read: it lists the
    withdrawn files too, as withdrawn, and holds no row of theirs."""
    found: set[str] = set()
    for path in sorted(version_dir.glob("*.parquet")):
        if path.stem == FILES_TABLE:
            continue
        parquet = pq.ParquetFile(path)
        if "id_soumission" in parquet.schema_arrow.names:
            column = parquet.read(columns=["id_soumission"]).column(0)
            found |= {x for x in column.unique().to_pylist() if x}
    return found


def withdrawal_reasons(config: DatasetConfig, settings: Any) -> Callable[[Path], list[str]]:
    """The ``notes`` of a progress release: the withdrawals it applies, read from the served
    version's ``id_soumission`` values and the archive's journal."""

    def notes(served_dir: Path) -> list[str]:
        return withdrawal_notes(config, settings, submissions_in(served_dir))

    return notes


def rollback_dataset(
    out: Path, slug: str, title: str, version: str, reason: str = "", *, lock_timeout: float = 600.0
) -> str:
    """Serves an earlier ``version`` again; deletes nothing. Returns the version it replaced.

    The rollback is recorded in ``versions.json`` (which versions are withdrawn) and in the
    changelog; later builds are compared with the served version, and numbered above the
    highest version ever published so that no number is reused.
    """
    dataset_dir = out / "datasets" / slug
    with exclusive(out, timeout=lock_timeout, what=f"Retour arrière de {slug}"):
        log = v.recover(dataset_dir, out / v.STAGING_DIR, slug, title)
        if log.entry(version) is None:
            known = ", ".join(e.version for e in log.versions) or "aucune"
            raise PublishError(
                f"La version {version} de {slug} n'existe pas (versions publiées : {known}).",
                hint="Choisissez une version listée par ogp versions.",
            )
        if not (dataset_dir / version / "datapackage.json").is_file():
            raise PublishError(f"Le dossier de la version {version} de {slug} est incomplet.")
        previous = log.served or ""
        if previous == version:
            return previous
        log.rollbacks.append(v.Rollback(publication_date(), previous, version, reason))
        log.served = version
        v.write_log(dataset_dir, slug, title, log)
    return previous
