"""Orchestration: Prefect flows and tasks, thin wrappers around the plain functions.

Nothing here decides anything: each task calls one function of ``pipelines`` or
``publish`` that is tested on its own, without Prefect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pyarrow as pa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.config import DatasetConfig, Settings, load_catalog, load_dataset
from pipelines.errors import PipelineError, SourceUnavailable
from pipelines.gather.plan import gather_plan_records
from pipelines.gather.plan_tables import Tables
from pipelines.gather.progress import (
    CollectionSummary,
    collect_submissions,
    gather_progress_records,
    plan_references,
)
from pipelines.tables import TableSchema, build_tables, load_schema
from pipelines.validate.package import validate_datapackage
from publish.catalog import refresh_catalog
from publish.release import ReleaseResult, release_dataset

GATHERERS: dict[str, Callable[[DatasetConfig, Settings], Tables]] = {
    "plan_document": lambda config, settings: gather_plan_records(config),
    "submissions": gather_progress_records,
}


@dataclass(frozen=True)
class DatasetOutcome:
    """One dataset's run: its release and, for a progress dataset, what was received."""

    release: ReleaseResult
    collection: CollectionSummary | None = None


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
@task(name="recevoir-soumissions", cache_policy=NO_CACHE)
def collect_task(config: DatasetConfig, settings: Settings) -> CollectionSummary:
    return collect_submissions(config, settings)


@task(name="collecter", cache_policy=NO_CACHE)
def gather_task(config: DatasetConfig, settings: Settings) -> Tables:
    return GATHERERS[config.source.kind](config, settings)


@task(name="construire-tables", cache_policy=NO_CACHE)
def build_task(records: Tables, schemas: dict[str, TableSchema]) -> dict[str, pa.Table]:
    return build_tables(records, schemas)


@task(name="valider-et-publier", cache_policy=NO_CACHE)
def release_task(
    out: Path,
    config: DatasetConfig,
    schemas: dict[str, TableSchema],
    tables: dict[str, pa.Table],
    validate: Callable[[Path], list] = validate_datapackage,
    settings: Settings | None = None,
) -> ReleaseResult:
    settings = settings or Settings()
    return release_dataset(out, config, schemas, tables, validate,
                           lock_timeout=settings.lock_timeout, base_url=settings.base_url)


@task(name="publier-catalogue-dcat", cache_policy=NO_CACHE)
def catalog_task(out: Path, settings: Settings) -> list[str]:
    return refresh_catalog(out, settings)


def _settings(datasets_dir: str | None, state_dir: str | None) -> Settings:
    overrides = {k: Path(v) for k, v in (("datasets_dir", datasets_dir), ("state_dir", state_dir)) if v}
    return Settings(**overrides).check()


@flow(name="publier-jeu-de-donnees", flow_run_name="publier-{slug}")
def publish_dataset_flow(
    slug: str, out: str = "site", datasets_dir: str | None = None, state_dir: str | None = None
) -> DatasetOutcome:
    """Gathers, validates and publishes one dataset; publishes nothing if it is unchanged.

    For a progress dataset, new submissions are received first (rejected ones are kept
    with their report and change nothing); if a source could not be read, nothing is
    published, rather than a dataset silently missing that source's reports.
    """
    settings = _settings(datasets_dir, state_dir)
    config = load_dataset(settings.datasets_dir / slug).for_run(settings)
    schemas = {name: load_schema(settings.schemas_dir, name) for name in config.tables}
    collection = None
    validate: Callable[[Path], list] = validate_datapackage
    if config.source.kind == "submissions":
        collection = collect_task(config, settings)
        if collection.failures:
            raise SourceUnavailable(
                f"{len(collection.failures)} source(s) de {slug} illisible(s) : "
                + " ; ".join(collection.failures),
                hint="Rien n'a été publié pour ce jeu de données ; les fichiers reçus sont "
                "archivés. Relancez quand la source est de nouveau disponible.",
            )
        validate = partial(validate_datapackage, schemas=schemas, references=plan_references(config))
    records = gather_task(config, settings)
    tables = build_task(records, schemas)
    release = release_task(Path(out), config, schemas, tables, validate, settings)
    return DatasetOutcome(release, collection)


@flow(name="publier-catalogue")
def publish_catalog_flow(
    out: str = "site", datasets_dir: str | None = None, state_dir: str | None = None
) -> list[DatasetOutcome]:
    """Every dataset of the catalogue, one subflow each, in slug order.

    Each subflow takes a slug, not a loaded config, so that it stays a deployable flow
    with plain parameters; it reloads its own ``dataset.yaml`` (a few kilobytes).
    """
    settings = _settings(datasets_dir, state_dir)
    configs = load_catalog(settings.datasets_dir)
    outcomes = [publish_dataset_flow(c.slug, out=out, datasets_dir=datasets_dir, state_dir=state_dir)
                for c in configs]
    # After every dataset: the catalogue only announces versions that are served.
    catalog_task(Path(out), settings)
    return outcomes
