from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import DatasetConfig, Settings, load_dataset
from pipelines.gather.plan import gather_plan_records
from pipelines.gather.plan_tables import Tables

ROOT = Path(__file__).resolve().parent.parent
PLAN_SLUG = "plan-action-pgo-2021-2023"


@pytest.fixture(scope="session")
def plan_config() -> DatasetConfig:
    return load_dataset(ROOT / "datasets" / PLAN_SLUG)


@pytest.fixture(scope="session")
def plan_records(plan_config: DatasetConfig) -> Tables:
    return gather_plan_records(plan_config)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings().check()
