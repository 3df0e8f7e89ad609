from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.core.config import DatasetConfig, Settings, load_dataset
from pipelines.core.problems import Severity
from pipelines.core.schema import TableSchema, load_schema
from pipelines.gather.plan.records import gather_plan_records
from pipelines.gather.plan.tables import Tables
from pipelines.gather.submissions.plan_facts import PlanFacts, plan_facts
from pipelines.state.received import Received
from pipelines.validate.submission import ValidatedSubmission, validate_submission

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


PROGRESS_SLUG = "suivi-plan-action-pgo-2021-2023"
TODAY = dt.date(2026, 11, 28)


@pytest.fixture(scope="session")
def progress_config() -> DatasetConfig:
    return load_dataset(ROOT / "datasets" / PROGRESS_SLUG)


@pytest.fixture(scope="session")
def plan(progress_config: DatasetConfig) -> PlanFacts:
    return plan_facts(progress_config)


@pytest.fixture(scope="session")
def submission_schema(settings: Settings) -> TableSchema:
    return load_schema(settings.schemas_dir, "soumission")


@pytest.fixture(scope="session")
def targets_submission_schema(settings: Settings) -> TableSchema:
    return load_schema(settings.schemas_dir, "soumission-cibles")


@pytest.fixture(scope="session")
def check(
    submission_schema: TableSchema, targets_submission_schema: TableSchema, plan: PlanFacts
) -> Callable[..., ValidatedSubmission]:
    """Validates bytes as a submission named ``name`` from body ``org`` (default ditp), with
    both formats (progress and targets) as ``ogp run`` does."""

    def run(
        content: bytes | str,
        name: str = "rapport.csv",
        org: str | None = "ditp",
        history: tuple[tuple[str, str, int | None], ...] = (),
    ) -> ValidatedSubmission:
        data = content.encode("utf-8") if isinstance(content, str) else content
        received = Received(name, data, f"test:{name}", "2026-11-28T00:00:00Z", org)
        return validate_submission(
            received,
            submission_schema,
            plan,
            today=TODAY,
            history=history,
            targets_schema=targets_submission_schema,
        )

    return run


def codes(
    validated: ValidatedSubmission, severity: str = "erreur"
) -> list[tuple[int | None, str | None, str]]:
    """The ``(row, column, code)`` of a report's findings of one severity, in report order."""
    return [(f.row, f.field, f.code) for f in validated.report.of(Severity(severity))]
