"""A whole table from one CSV file: published from the columnar check's typed values,
unchanged inputs recognised before parsing, a rejected file kept with its report."""

from __future__ import annotations

import csv
import json
from functools import partial
from pathlib import Path

import frictionless
import pyarrow.parquet as pq
import pytest

from bench.synthetic import DATASET_SLUG, reference_keys, write_datasets_dir
from pipelines.build.tables import build_tables
from pipelines.core.config import Settings, load_dataset
from pipelines.core.errors import ValidationFailed
from pipelines.core.schema import load_schema
from pipelines.gather.submissions.plan_facts import plan_references
from pipelines.intake import table_file
from pipelines.state.inputs import input_fingerprint
from pipelines.validate import columnar
from pipelines.validate.package import validate_datapackage
from publish.release import release_dataset, served_entry

ROWS = 1_500


@pytest.fixture(scope="module")
def keys() -> tuple[list[str], list[str]]:
    return reference_keys()


def _setup(tmp_path: Path, keys: tuple[list[str], list[str]], invalid: bool = False, rows: int = ROWS):
    datasets = write_datasets_dir(tmp_path / "datasets", rows, invalid=invalid, keys=keys)
    settings = Settings(datasets_dir=datasets, state_dir=tmp_path / "var")
    return settings, load_dataset(datasets / DATASET_SLUG)


def _publish(out: Path, settings: Settings, config) -> tuple[str, bool]:
    schemas = {"suivi": load_schema(settings.schemas_dir, "suivi")}
    tables = build_tables(table_file.gather_table_file(config, settings), schemas)
    validate = partial(validate_datapackage, schemas=schemas, references=plan_references(config))
    result = release_dataset(
        out, config, schemas, tables, validate, inputs=input_fingerprint(config, settings)
    )
    return result.version, result.published


def test_the_published_table_is_the_file_checked_typed_and_sorted(tmp_path: Path, keys) -> None:
    settings, config = _setup(tmp_path, keys)
    version, published = _publish(tmp_path / "site", settings, config)
    assert (version, published) == ("1.0.0", True)
    folder = tmp_path / "site" / "datasets" / DATASET_SLUG / version
    source = list(csv.DictReader((config.directory / "suivi.csv").open(encoding="utf-8")))
    rows = list(csv.DictReader((folder / "suivi.csv").open(encoding="utf-8")))
    keys_in_order = [(r["id_action"], r["date_rapport"]) for r in rows]
    assert keys_in_order == sorted(keys_in_order)  # the published order: by primary key
    # Same rows as the file sent (with the reporting body), nothing lost or added.
    assert sorted(map(lambda r: tuple(r.values()), rows)) == sorted(map(lambda r: tuple(r.values()), source))
    parquet = pq.read_table(folder / "suivi.parquet")
    assert parquet.num_rows == ROWS
    assert str(parquet.schema.field("date_rapport").type) == "date32[day]"
    assert str(parquet.schema.field("avancement_pct").type) == "int64"
    assert json.loads((folder / "suivi.json").read_text(encoding="utf-8"))[0]["avancement_pct"] is not None


def test_unchanged_inputs_are_recognised_by_checksum_and_a_change_is_not(tmp_path: Path, keys) -> None:
    settings, config = _setup(tmp_path, keys)
    out = tmp_path / "site"
    _publish(out, settings, config)
    fingerprint = input_fingerprint(config, settings)
    served = served_entry(out, DATASET_SLUG)
    assert served is not None and served.inputs == fingerprint
    # One byte more in the file, or a changed definition, is another input.
    with (config.directory / "suivi.csv").open("a", encoding="utf-8") as stream:
        stream.write("E1-A1-01,2099-01-01,limite,10,,,," + "a" * 64 + ",2099-01-02T08:00:00Z\n")
    assert input_fingerprint(config, settings) != fingerprint
    version, published = _publish(out, settings, config)
    assert (version, published) == ("1.1.0", True)  # a row added: MINOR
    # Counted on Arrow columns (the old Parquet against the new table), not Python rows.
    log = json.loads((out / "datasets" / DATASET_SLUG / "versions.json").read_text(encoding="utf-8"))
    assert log["versions"][-1]["tables"] == {"suivi": {"added": 1, "changed": 0, "removed": 0}}


def test_a_rejected_file_is_kept_with_its_report_and_not_reread(tmp_path: Path, keys, monkeypatch) -> None:
    settings, config = _setup(tmp_path, keys, invalid=True, rows=2_000)  # every error kind once
    with pytest.raises(ValidationFailed) as rejected:
        table_file.gather_table_file(config, settings)
    issues = rejected.value.issues
    kinds = {i.code for i in issues}
    assert {
        "type-error",
        "constraint-error",
        "foreign-key",
        "primary-key",
        "blank-row",
        "missing-cell",
        "extra-cell",
    } <= kinds
    archived = next((settings.state_dir / DATASET_SLUG / table_file.ARCHIVE_DIR).iterdir())
    assert (archived / "original.csv").read_bytes() == (config.directory / "suivi.csv").read_bytes()
    report = json.loads((archived / "rapport.json").read_text(encoding="utf-8"))
    assert report["valide"] is False and report["erreurs"] == len(issues)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the same rejected inputs were parsed again")

    monkeypatch.setattr(table_file, "check_table_file", must_not_run)
    with pytest.raises(ValidationFailed) as again:
        table_file.gather_table_file(config, settings)
    assert again.value.issues == issues


def test_a_file_outside_the_fast_path_is_checked_by_frictionless(tmp_path: Path, keys) -> None:
    """A semicolon export: frictionless reads it (its sniffing), and decides alone."""
    settings, config = _setup(tmp_path, keys)
    path = config.directory / "suivi.csv"
    rows = list(csv.reader(path.open(encoding="utf-8")))[:200]
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, delimiter=";", lineterminator="\n").writerows(rows)
    schema = load_schema(settings.schemas_dir, "suivi")
    descriptor = {k: v for k, v in schema.items() if k not in ("$schema", "foreignKeys")}
    with pytest.raises(columnar.Fallback, match="dialecte"):
        columnar.check_table(
            frictionless.Resource(
                path=path.name,
                basepath=str(path.parent),
                schema=frictionless.Schema.from_descriptor(descriptor),
            )
        )
    issues, table = table_file.check_table_file(
        path, schema, "suivi", plan_references(config), tmp_path / "spill"
    )
    assert issues == [] and table is not None and table.num_rows == 199


def test_a_state_folder_where_the_table_cannot_be_set_aside_is_a_clear_error(tmp_path: Path, keys) -> None:
    """The checked rows go to the state folder while the file is published: a full disk
    or an unwritable folder says so, in French, and publishes nothing."""
    from pipelines.build import spill

    settings, config = _setup(tmp_path, keys, rows=50)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / spill.SPILL_DIR).write_text("pas un dossier", encoding="utf-8")
    with pytest.raises(table_file.SetAsideFailed) as failed:
        table_file.gather_table_file(config, settings)
    assert (failed.value.folder, failed.value.exit_code) == (settings.state_dir, 2)
    assert failed.value.file.endswith(".csv") and failed.value.reason
    # The file received is archived all the same.
    assert any((settings.state_dir / DATASET_SLUG / table_file.ARCHIVE_DIR).iterdir())


def test_a_cell_longer_than_the_blocks_read_ahead_goes_to_frictionless(tmp_path: Path, monkeypatch) -> None:
    """Arrow reads only a few blocks ahead of the check, and cannot parse a cell across
    more than two blocks: such a file must end with frictionless's verdict, not wait."""
    monkeypatch.setattr(columnar, "BLOCK_SIZE", 1 << 16)
    long_text = "ligne « longue », avec des virgules\n" * 16_000  # 600 kB: ten blocks
    path = tmp_path / "long.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerows([["n", "texte"], [1, long_text], [1, "b"]])
    schema = frictionless.Schema.from_descriptor(
        {
            "fields": [{"name": "n", "type": "integer"}, {"name": "texte", "type": "string"}],
            "primaryKey": ["n"],
        }
    )
    resource = frictionless.Resource(path=path.name, basepath=str(tmp_path), schema=schema)
    with pytest.raises(columnar.Fallback, match="lecture Arrow"):
        columnar.check_table(resource)
    check = columnar.validate_resource(resource)
    assert check.engine == columnar.FRICTIONLESS
    assert [(e.type, e.row_number) for e in check.errors] == [("primary-key", 3)]


def test_a_cell_over_two_blocks_is_read_with_its_row_number(tmp_path: Path, monkeypatch) -> None:
    """A multi-line cell across a block boundary, read with the blocks paced."""
    monkeypatch.setattr(columnar, "BLOCK_SIZE", 1 << 16)
    text = "ligne « longue », avec des virgules\n" * 1_200  # 45 kB
    path = tmp_path / "long.csv"
    rows = [["n", "texte"], *([i, text] for i in range(1, 6)), [1, "b"]]
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)
    schema = frictionless.Schema.from_descriptor(
        {
            "fields": [{"name": "n", "type": "integer"}, {"name": "texte", "type": "string"}],
            "primaryKey": ["n"],
        }
    )
    check = columnar.check_table(
        frictionless.Resource(path=path.name, basepath=str(tmp_path), schema=schema), keep=["texte"]
    )
    assert check.engine == columnar.ARROW and check.rows == 6
    assert check.keys["texte"].python_entries()[:5] == [text] * 5
    assert [(e.type, e.row_number) for e in check.errors] == [("primary-key", 7)]


def test_sorting_a_table_too_large_for_32_bit_text_offsets_keeps_rows_and_types() -> None:
    """Ten million rows of comments exceed 2 GiB of text: the rows are taken in parts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from pipelines.build.tables import _take_large

    texts = [f"commentaire « {i} », l'État" for i in range(5_000)][::-1]
    table = pa.table({"texte": pa.array(texts, pa.string()), "n": pa.array(range(5_000))})
    order = pc.sort_indices(table, sort_keys=[("texte", "ascending")])
    taken = _take_large(table, order, part_bytes=10_000)
    assert taken.column("texte").num_chunks > 10  # several parts, each its own chunk
    assert taken.schema == table.schema  # still 32-bit `string`, as published
    assert taken.to_pylist() == table.take(order).to_pylist()
