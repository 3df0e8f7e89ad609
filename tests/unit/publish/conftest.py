"""Fixtures of the publish tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.build.tables import build_tables
from pipelines.core.config import DatasetConfig, Settings
from pipelines.core.schema import load_schema
from pipelines.validate.package import validate_datapackage
from publish.release import release_dataset
from tests.helpers.plan import TABLES


@pytest.fixture()
def small(plan_config: DatasetConfig, settings: Settings):
    config = plan_config.model_copy(update={"tables": TABLES})
    schemas = {t: load_schema(settings.schemas_dir, t) for t in TABLES}

    def publish(out: Path, records: dict):
        return release_dataset(out, config, schemas, build_tables(records, schemas), validate_datapackage)

    return publish
