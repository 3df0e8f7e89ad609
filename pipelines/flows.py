"""Orchestration: Prefect flows and tasks, thin wrappers around the plain functions.

Nothing here decides anything: each task calls one function of ``pipelines`` or
``publish`` that is tested on its own, without Prefect.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.config import DatasetConfig, Settings, load_catalog, load_dataset
from pipelines.errors import PipelineError
from pipelines.gather.plan import gather_plan_records
from pipelines.gather.plan_tables import Tables
from pipelines.tables import TableSchema, build_tables, load_schema
from pipelines.validate.package import validate_datapackage
from publish.release import ReleaseResult, release_dataset

GATHERERS = {"plan_document": gather_plan_records}


class _KnownErrorsWithoutTraceback(logging.Filter):
    """Drops the traceback Prefect logs for a :class:`PipelineError`.

    Those errors are expected outcomes (a changed source, invalid data) that carry their
    own French message and hint; a traceback would only bury them for the steward.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PipelineError):
            record.exc_info = None
            record.exc_text = None
        return True


def _install_log_filter() -> None:
    known = _KnownErrorsWithoutTraceback()
    names = [n for n in logging.root.manager.loggerDict if n.startswith("prefect")]
    for logger in [logging.getLogger(), *(logging.getLogger(n) for n in names)]:
        for handler in logger.handlers:
            if not any(isinstance(f, _KnownErrorsWithoutTraceback) for f in handler.filters):
                handler.addFilter(known)


_install_log_filter()


# Inputs are tables and configs: hashing them for a cache key is wasted work, and a
# rebuild must never be skipped because of a cache.
@task(name="collecter", cache_policy=NO_CACHE)
def gather_task(config: DatasetConfig) -> Tables:
    return GATHERERS[config.source.kind](config)


@task(name="construire-tables", cache_policy=NO_CACHE)
def build_task(records: Tables, schemas: dict[str, TableSchema]) -> dict[str, pa.Table]:
    return build_tables(records, schemas)


@task(name="valider-et-publier", cache_policy=NO_CACHE)
def release_task(
    out: Path, config: DatasetConfig, schemas: dict[str, TableSchema], tables: dict[str, pa.Table]
) -> ReleaseResult:
    return release_dataset(out, config, schemas, tables, validate_datapackage)


@flow(name="publier-jeu-de-donnees", flow_run_name="publier-{slug}")
def publish_dataset_flow(slug: str, out: str = "site", datasets_dir: str | None = None) -> ReleaseResult:
    """Gathers, validates and publishes one dataset; publishes nothing if it is unchanged."""
    settings = Settings().check()
    config = load_dataset(Path(datasets_dir or settings.datasets_dir) / slug)
    schemas = {name: load_schema(settings.schemas_dir, name) for name in config.tables}
    records = gather_task(config)
    tables = build_task(records, schemas)
    return release_task(Path(out), config, schemas, tables)


@flow(name="publier-catalogue")
def publish_catalog_flow(out: str = "site", datasets_dir: str | None = None) -> list[ReleaseResult]:
    """Every dataset of the catalogue, one subflow each, in slug order.

    Each subflow takes a slug, not a loaded config, so that it stays a deployable flow
    with plain parameters; it reloads its own ``dataset.yaml`` (a few kilobytes).
    """
    settings = Settings().check()
    configs = load_catalog(Path(datasets_dir or settings.datasets_dir))
    return [publish_dataset_flow(c.slug, out=out, datasets_dir=datasets_dir) for c in configs]
