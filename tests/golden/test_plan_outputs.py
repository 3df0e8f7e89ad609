"""The real plan, built and written without Prefect: golden CSV and agreement of the formats."""

from __future__ import annotations

import io
import json
from pathlib import Path

import frictionless
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.build.tables import build_tables
from pipelines.core.config import DatasetConfig, Settings
from pipelines.core.schema import load_schema, python_value
from pipelines.gather.plan.tables import Tables
from pipelines.validate.package import standalone_schema
from publish.writers import write_csv, write_json, write_parquet

GOLDEN = Path(__file__).parent / "plan"


@pytest.fixture(scope="module")
def tables(plan_config: DatasetConfig, plan_records: Tables, settings: Settings) -> dict[str, pa.Table]:
    schemas = {t: load_schema(settings.schemas_dir, t) for t in plan_config.tables}
    return build_tables(plan_records, schemas)


def test_ambitions_csv_is_the_golden_file(tables: dict[str, pa.Table]) -> None:
    assert write_csv(tables["ambitions"]) == (GOLDEN / "ambitions.csv").read_bytes()


@pytest.mark.parametrize(
    "name", ["engagements", "ambitions", "actions", "organisations", "porteurs", "responsables"]
)
def test_csv_parquet_and_json_hold_the_same_rows(
    tables: dict[str, pa.Table], name: str, settings: Settings
) -> None:
    table = tables[name]
    from_json = json.loads(write_json(table))
    from_parquet = [
        {k: python_value(v) for k, v in row.items()}
        for row in pq.read_table(io.BytesIO(write_parquet(table))).to_pylist()
    ]
    schema = load_schema(settings.schemas_dir, name)
    resource = frictionless.Resource(
        data=write_csv(table),
        format="csv",
        encoding="utf-8",
        schema=standalone_schema(schema),
    )
    with resource:
        from_csv = [{k: python_value(v) for k, v in row.to_dict().items()} for row in resource.row_stream]
    assert len(from_json) == table.num_rows > 0
    assert from_csv == from_json == from_parquet


def test_parquet_is_typed_from_the_schema(tables: dict[str, pa.Table]) -> None:
    parquet = pq.read_table(io.BytesIO(write_parquet(tables["actions"])))
    assert parquet.schema.field("rang").type == pa.int64()
    assert parquet.schema.field("texte").type == pa.string()
    assert parquet.schema.field("texte").metadata[b"title"] == b"Texte de l'action"
    organisations = pq.read_table(io.BytesIO(write_parquet(tables["organisations"])))
    assert organisations.schema.field("alias").type == pa.list_(pa.string())
    assert organisations.schema.metadata is None or b"pandas" not in organisations.schema.metadata
