"""Test helpers: a progress campaign without Prefect (collect, rebuild, publish) and files
put in its inbox as they arrive; shared by the intake tests."""

from __future__ import annotations

import datetime as dt
import json
import os
from functools import partial
from pathlib import Path

from pipelines.build.tables import build_tables
from pipelines.core.config import DatasetConfig, Settings
from pipelines.core.schema import load_schema
from pipelines.gather.submissions.plan_facts import plan_references
from pipelines.gather.submissions.records import gather_progress_records
from pipelines.intake.submissions import CollectionSummary, collect_submissions
from pipelines.state.archive import SubmissionArchive
from pipelines.state.campaign import dataset_for_run
from pipelines.validate.package import validate_datapackage
from publish.release import ReleaseResult, release_dataset
from tests.conftest import PROGRESS_SLUG, TODAY

HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"


class Clock:
    """Reception times of a test campaign: a chosen day (``day``), a new microsecond at each call."""

    def __init__(self, day: str = "2023-07-10") -> None:
        self.day = day
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return f"{self.day}T10:00:00.{self.calls:06d}Z"


class Pipeline:
    """The progress dataset's steps without Prefect: collect, rebuild, publish."""

    def __init__(self, tmp_path: Path, config: DatasetConfig) -> None:
        self.inbox = tmp_path / "boite"
        self.inbox.mkdir()
        self.out = tmp_path / "site"
        self.settings = Settings(state_dir=tmp_path / "var", submissions_inbox=self.inbox).check()
        # The reports as received: the flat tables built from them are tests/unit/gather/test_views.py's.
        self.config = dataset_for_run(config, self.settings).model_copy(
            update={"tables": ("suivi", "suivi_cibles"), "workbook": ()}
        )
        self.clock = Clock()
        self.schemas = {t: load_schema(self.settings.schemas_dir, t) for t in self.config.tables}
        self.archive = SubmissionArchive(self.settings.state_dir / PROGRESS_SLUG)

    def drop(self, relative: str, content: bytes | str) -> None:
        path = self.inbox / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)

    def collect(self) -> CollectionSummary:
        return collect_submissions(self.config, self.settings, today=TODAY, clock=self.clock)

    def publish(self) -> ReleaseResult:
        tables = build_tables(gather_progress_records(self.config, self.settings), self.schemas)
        validate = partial(
            validate_datapackage, schemas=self.schemas, references=plan_references(self.config)
        )
        return release_dataset(self.out, self.config, self.schemas, tables, validate)

    def published_rows(self) -> list[dict[str, object]]:
        latest = self.out / "datasets" / PROGRESS_SLUG / "latest" / "suivi.json"
        return json.loads(latest.read_text(encoding="utf-8"))


def at(day: str) -> float:
    """A POSIX time for a day of the campaign, at 09:00 UTC."""
    return dt.datetime.fromisoformat(f"{day}T09:00:00+00:00").timestamp()


def drop(pipeline: Pipeline, relative: str, content: bytes | str, arrived: str) -> bytes:
    """A file put in the inbox as it arrived on ``arrived`` (its modification time)."""
    pipeline.drop(relative, content)
    stamp = at(arrived)
    os.utime(pipeline.inbox / relative, (stamp, stamp))
    return content.encode("utf-8") if isinstance(content, str) else content
