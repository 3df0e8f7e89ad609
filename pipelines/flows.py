"""Orchestration: Prefect flows and tasks, thin wrappers around the plain functions.

Nothing here decides anything: the order of a run is ``publish.run``'s, and each task
calls one function of ``pipelines`` or ``publish`` that is tested on its own, without
Prefect (``ogp run`` on one machine calls them directly, without this module). What
Prefect adds: retries of what the network can heal (never of invalid data), artifacts
that explain each run (a Markdown report per submission, a table per publication), final
states that say which file was rejected, schedules and a server that keeps the runs, and
a task runner that can be a Dask cluster.

Datasets are gathered and built as concurrent tasks (on Dask workers when the flow runs
with a ``DaskTaskRunner``), then released one by one in slug order: the output's lock
serialises releases anyway, and a fixed order keeps the output byte-identical.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
from prefect import State, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed

from pipelines.build.tables import build_tables
from pipelines.core.config import DatasetConfig, Settings, load_catalog, load_dataset, load_settings
from pipelines.core.errors import NotFound, PipelineError
from pipelines.core.schema import TableSchema
from pipelines.deployments import (
    collection_run_name,
    dataset_run_name,
    finished,
    french_failures,
    install_log_filter,
    publication_key,
    publication_run_name,
    report_key,
    tag_run,
    tell,
    validation_run_name,
)
from pipelines.gather.plan.tables import Tables
from pipelines.gather.submissions.plan_facts import PROGRESS_SLUG
from pipelines.intake.submissions import CollectionSummary, ProgressContext
from pipelines.intake.told import collection_lines, report_lines
from pipelines.io.prefect_api import REJECTED_TAG
from pipelines.state.campaign import dataset_for_run, read_campaign
from pipelines.state.layout import ArchiveLayout
from pipelines.validate.report import render_markdown
from publish.catalog import refresh_catalog
from publish.operations import release_built
from publish.release import ReleaseResult
from publish.run import (
    Built,
    DatasetOutcome,
    Outcome,
    collect_dataset,
    gather_dataset,
    run_catalog,
    run_dataset,
    run_verdict,
)

__all__ = ["DatasetOutcome", "publish_catalog_flow", "publish_dataset_flow", "trigger_deployment"]


install_log_filter()


# Inputs are tables and configs: hashing them for a cache key is wasted work, and a
# rebuild must never be skipped because of a cache.
def _retry_if_transient(task: Any, task_run: Any, state: State) -> bool:
    """Prefect retries a task only for an error that may heal (network, busy source)."""
    try:
        state.result()
    except PipelineError as exc:
        if exc.retryable:
            tell(
                [f"{exc.message} Nouvel essai prévu (OGP_TASK_RETRIES, OGP_TASK_RETRY_DELAY)."],
                logging.WARNING,
            )
        return exc.retryable
    except Exception:  # noqa: BLE001 - an unexpected error: a retry will not fix the code
        return False
    return False


def _report_artifacts(summary: CollectionSummary) -> None:
    slug = summary.archive.name if summary.archive else "soumissions"
    tell(collection_lines(slug, summary))
    for report in [*summary.accepted, *summary.rejected]:
        create_markdown_artifact(
            key=report_key(slug, report),
            markdown=render_markdown(report),
            description=f"{report.file_name} : {report.verdict}",
        )


def _reported(summary: CollectionSummary) -> None:
    """The collection's reports as artifacts, and its receipts in the run's log (counts and
    bodies, never an address)."""
    _report_artifacts(summary)
    for line in summary.mail:
        get_run_logger().info(line)


@task(name="recevoir-soumissions", cache_policy=NO_CACHE, retry_condition_fn=_retry_if_transient)
def collect_task(config: DatasetConfig, settings: Settings, out: Path | None = None) -> CollectionSummary:
    return collect_dataset(config, settings, out, reported=_reported)


@task(name="collecter", cache_policy=NO_CACHE)
def gather_task(config: DatasetConfig, settings: Settings) -> Tables | Built:
    return gather_dataset(config, settings)


@task(name="construire-tables", cache_policy=NO_CACHE)
def build_task(records: Tables, schemas: dict[str, TableSchema]) -> dict[str, pa.Table]:
    return build_tables(records, schemas)


@task(name="valider-et-publier", cache_policy=NO_CACHE)
def release_task(
    out: Path,
    config: DatasetConfig,
    schemas: dict[str, TableSchema],
    tables: dict[str, pa.Table],
    settings: Settings,
    inputs: str | None = None,
) -> ReleaseResult:
    result = release_built(out, config, schemas, tables, settings, inputs)
    files = sorted(f"{t}.{fmt}" for t in config.tables for fmt in ("csv", "parquet", "json"))
    tell(
        [
            f"{config.slug} : version {result.version} publiée."
            if result.published
            else f"{config.slug} : inchangé, la version {result.version} reste servie."
            + (f" ({result.note})" if result.note else "")
        ]
    )
    create_table_artifact(
        key=publication_key(config.slug),
        table=[
            {
                "jeu_de_donnees": config.slug,
                "version": result.version,
                "publication": "nouvelle version" if result.published else "inchangé",
                "table": table,
                "lignes": rows,
                "fichiers": ", ".join(f for f in files if f.startswith(f"{table}.")),
            }
            for table, rows in result.rows.items()
        ],
        description=f"{config.slug} {result.version}" + (f" ({result.note})" if result.note else ""),
    )
    return result


@task(name="publier-catalogue-dcat", cache_policy=NO_CACHE)
def catalog_task(out: Path, settings: Settings) -> list[str]:
    written = refresh_catalog(out, settings)
    tell([f"Catalogue DCAT et pages écrits dans {out}."])
    return written


class PrefectSteps:
    """``publish.run``'s steps as Prefect tasks, submitted to the flow's task runner (a thread
    pool, or a Dask cluster); the collection retried while its error may heal."""

    def collect(self, config: DatasetConfig, settings: Settings, out: Path) -> Outcome[CollectionSummary]:
        retried = collect_task.with_options(
            retries=settings.task_retries, retry_delay_seconds=settings.task_retry_delay
        )
        return retried.submit(config, settings, out)

    def gather(
        self, config: DatasetConfig, settings: Settings, after: Sequence[Outcome[Any]]
    ) -> Outcome[Tables | Built]:
        # return_state=False is the default, said so that mypy picks the overload that takes
        # futures (wait_for, an upstream result) as arguments.
        return gather_task.submit(config, settings, wait_for=list(after), return_state=False)

    def build(self, gathered: Outcome[Tables | Built], schemas: dict[str, TableSchema]) -> Outcome[Built]:
        # Given the future itself: Prefect passes its result, and runs nothing if it failed.
        return build_task.submit(cast(Any, gathered), schemas, return_state=False)

    def release(
        self,
        out: Path,
        config: DatasetConfig,
        schemas: dict[str, TableSchema],
        tables: Built,
        settings: Settings,
        inputs: str | None,
    ) -> ReleaseResult:
        return release_task(out, config, schemas, tables, settings, inputs)

    def catalog(self, out: Path, settings: Settings) -> list[str]:
        return catalog_task(out, settings)


def _settings(datasets_dir: str | None, state_dir: str | None, inbox: str | None = None) -> Settings:
    return load_settings(
        datasets_dir=datasets_dir or None, state_dir=state_dir or None, submissions_inbox=inbox or None
    )


def _output(out: str | None, settings: Settings, configs: list[DatasetConfig]) -> Path:
    """Where a run publishes: ``out`` if given, else the output recorded by the campaign of
    its state folder (a scheduled run carries no folder), else ``site``."""
    if out:
        return Path(out)
    for config in configs:
        if config.source.kind == "submissions":
            campaign = read_campaign(ArchiveLayout(settings.state_dir / config.slug))
            if campaign is not None and campaign.output is not None:
                return campaign.output
    return Path("site")


def _partially_accepted(rejected: list[str], data: Any) -> State:
    tag_run(REJECTED_TAG)
    return Completed(
        name="Partiellement accepté",
        data=data,
        message=f"{len(rejected)} soumission(s) rejetée(s) : " + " ; ".join(rejected),
    )


def _final_state(outcomes: list[DatasetOutcome]) -> State:
    verdict = run_verdict(outcomes)
    if verdict.rejected:
        return _partially_accepted(verdict.rejected, outcomes)
    return Completed(data=outcomes, message=verdict.message)


@flow(name="publier-jeu-de-donnees", flow_run_name=dataset_run_name)
@french_failures
def publish_dataset_flow(
    slug: str,
    out: str | None = None,
    datasets_dir: str | None = None,
    state_dir: str | None = None,
    inbox: str | None = None,
) -> State:
    """Gathers, validates and publishes one dataset; publishes nothing if it is unchanged.

    For a progress dataset, new submissions are received first (rejected ones are kept
    with their report and change nothing); if a source could not be read, nothing is
    published, rather than a dataset silently missing that source's reports.
    """
    settings = _settings(datasets_dir, state_dir, inbox)
    output = _output(out, settings, [load_dataset(settings.datasets_dir / slug)])
    return finished(_final_state(run_dataset(slug, output, settings, PrefectSteps())))


@flow(name="publier-catalogue", flow_run_name=publication_run_name)
@french_failures
def publish_catalog_flow(
    out: str | None = None,
    datasets_dir: str | None = None,
    state_dir: str | None = None,
    inbox: str | None = None,
) -> State:
    """Every dataset of the catalogue, then the catalogue and the pages.

    Ends « Partiellement accepté » (completed, tagged ``fichiers-rejetes``) when a submission
    was rejected, with the files and verdicts in the state message; their reports are
    Markdown artifacts. ``out`` defaults to the output of the campaign recorded in the state
    folder; ``inbox`` is a new campaign's inbox (see ``pipelines.state.campaign``).
    """
    settings = _settings(datasets_dir, state_dir, inbox)
    output = _output(out, settings, load_catalog(settings.datasets_dir))
    return finished(_final_state(run_catalog(output, settings, PrefectSteps())))


@flow(name="recevoir-soumissions", flow_run_name=collection_run_name)
@french_failures
def collect_submissions_flow(
    datasets_dir: str | None = None, state_dir: str | None = None, inbox: str | None = None
) -> State:
    """Receives, archives and validates new submissions of every progress dataset, without
    publishing; each report becomes a Markdown artifact."""
    settings = _settings(datasets_dir, state_dir, inbox)
    rejected: list[str] = []
    received = 0
    for config in load_catalog(settings.datasets_dir):
        if config.source.kind != "submissions":
            continue
        summary = collect_task.with_options(
            retries=settings.task_retries, retry_delay_seconds=settings.task_retry_delay
        )(dataset_for_run(config, settings), settings)
        received += len(summary.accepted) + len(summary.rejected)
        rejected += summary.rejected_lines()
    if rejected:
        return finished(_partially_accepted(rejected, rejected))
    return finished(Completed(data=[], message=f"{received} soumission(s) reçue(s), aucune rejetée."))


@flow(name="valider-soumission", flow_run_name=validation_run_name)
@french_failures
def validate_submission_flow(path: str, org: str | None = None, datasets_dir: str | None = None) -> State:
    """Validates one file now, for a steward who wants its report: nothing is archived or
    published. Fails, with the verdict as message, when the file would be rejected."""
    file = Path(path)
    if not file.is_file():
        raise NotFound(
            f"Fichier introuvable : {path}",
            path=file,
            hint="Indiquez le chemin du fichier tel que le worker le voit (chemin absolu de préférence).",
        )
    settings = _settings(datasets_dir, None)
    report = ProgressContext(settings).validate_file(file, org)
    tell(report_lines(report))
    create_markdown_artifact(
        key=report_key(PROGRESS_SLUG, report),
        markdown=render_markdown(report),
        description=f"{report.file_name} : {report.verdict}",
    )
    if not report.accepted:
        return finished(
            Failed(
                message=f"{report.file_name} : {report.verdict}\nQue faire : corrigez le fichier selon son "
                "rapport (onglet Artifacts), puis validez-le de nouveau.",
            )
        )
    return finished(Completed(message=f"{report.file_name} : {report.verdict}", data=report.verdict))


def trigger_deployment(name: str, parameters: dict[str, Any]) -> str:
    """Starts a run of the deployment ``name`` (« flux/déploiement ») on the configured Prefect
    server (``PREFECT_API_URL``) with ``parameters`` over its own, without waiting for it;
    returns the run's id. The door calls it after an accepted upload when
    ``OGP_DROPOFF_PUBLISH_DEPLOYMENT`` is set."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    # Called from synchronous code: the synchronous variant, which returns the run itself.
    run = cast(FlowRun, run_deployment(name=name, parameters=parameters, timeout=0))
    return str(run.id)
