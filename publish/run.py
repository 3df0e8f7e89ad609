"""Publish stage: one run of the catalogue as plain functions, with or without Prefect.

What a run does, in order: refuse sample data over real data, receive the new submissions
of each progress dataset, decide which datasets are unchanged (their inputs' checksums),
gather and build the others, release them one by one in slug order, then write the
catalogue and the pages. That order lives here once. How each step is executed is a
:class:`Steps`: :data:`IN_PROCESS` calls the functions directly (``ogp run`` on one
machine: no orchestrator to start, nothing imported that the run does not use);
``pipelines.flows`` wraps the same functions in Prefect tasks (retries, artifacts, states,
a Dask cluster). Both give the same published bytes for the same inputs.

A step hands back an :class:`Outcome` (a Prefect future has the same ``result()``): errors
are raised when a result is asked for, in dataset order, so the error a run stops on is
the first dataset's own whichever executor ran it, and what an earlier dataset released
stays released.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import pyarrow as pa

from pipelines.build.tables import build_tables
from pipelines.core.config import DatasetConfig, Settings, load_catalog, load_dataset
from pipelines.core.errors import SourceUnavailable
from pipelines.core.schema import TableSchema, load_schema
from pipelines.gather.plan.records import gather_plan_records
from pipelines.gather.plan.tables import Tables
from pipelines.gather.submissions.plan_facts import campaign_plan
from pipelines.gather.submissions.views import gather_progress_tables
from pipelines.intake.submissions import CollectionSummary, collect_submissions
from pipelines.intake.table_file import gather_table_file
from pipelines.io import steps as progress
from pipelines.state.campaign import dataset_for_run
from publish.catalog import refresh_catalog
from publish.operations import plan_release, release_built
from publish.release import ReleaseResult, refuse_samples_over_real_data

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Built = dict[str, pa.Table]

GATHERERS: dict[str, Callable[[DatasetConfig, Settings], Tables | Built]] = {
    "plan_document": lambda config, settings: gather_plan_records(config),
    "submissions": gather_progress_tables,
    "table_file": gather_table_file,
}


@dataclass(frozen=True)
class DatasetOutcome:
    """One dataset's run: its release and, for a progress dataset, what was received."""

    release: ReleaseResult
    collection: CollectionSummary | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class RunVerdict:
    """What a whole run says to whoever watches it: the rejected files (« fichier : verdict »
    lines), and a one-line message."""

    rejected: list[str]
    message: str


class Outcome(Protocol[T_co]):
    """A step's result, asked for when needed: its value, or the error it stopped on."""

    def result(self) -> T_co: ...


class Steps(Protocol):
    """How a run's steps are executed. Each step calls one function of this module (or of
    ``publish.operations``/``publish.catalog``); an executor adds only how and where."""

    def collect(self, config: DatasetConfig, settings: Settings, out: Path) -> Outcome[CollectionSummary]: ...

    def gather(
        self, config: DatasetConfig, settings: Settings, after: Sequence[Outcome[Any]]
    ) -> Outcome[Tables | Built]: ...

    def build(self, gathered: Outcome[Tables | Built], schemas: dict[str, TableSchema]) -> Outcome[Built]: ...

    def release(
        self,
        out: Path,
        config: DatasetConfig,
        schemas: dict[str, TableSchema],
        tables: Built,
        settings: Settings,
        inputs: str | None,
    ) -> ReleaseResult: ...

    def catalog(self, out: Path, settings: Settings) -> list[str]: ...


@dataclass(frozen=True)
class Done(Generic[T]):
    """A step run at once; its error, if any, is raised when its result is asked for."""

    value: T | None = None
    error: Exception | None = None

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # None only for a step that failed


def _attempt(function: Callable[..., T], *args: Any, after: Sequence[Outcome[Any]] = ()) -> Done[T]:
    """Runs ``function`` unless a step it waits for failed (then that step's error is its
    own, as a Prefect task whose upstream failed never runs)."""
    for earlier in after:
        if isinstance(earlier, Done) and earlier.error is not None:
            return Done(error=earlier.error)
    try:
        return Done(function(*args))
    except Exception as exc:  # noqa: BLE001 - kept, and raised where its result is asked for
        return Done(error=exc)


def collect_dataset(
    config: DatasetConfig,
    settings: Settings,
    out: Path | None = None,
    *,
    reported: Callable[[CollectionSummary], None] | None = None,
) -> CollectionSummary:
    """Receives the new submissions of a progress dataset (archived, validated, reported).

    ``reported`` is given the summary before anything is raised (the flows make each report
    an artifact). Raises :class:`SourceUnavailable` when a source could not be read: nothing
    of that dataset is published then, rather than a dataset silently missing that source's
    reports (the files that were received stay archived)."""
    summary = collect_submissions(config, settings, plan=campaign_plan(config), out=out)
    if reported is not None:
        reported(summary)
    if summary.failures:
        raise SourceUnavailable(
            f"{len(summary.failures)} source(s) de {config.slug} illisible(s) : "
            + " ; ".join(summary.failures),
            hint="Rien n'a été publié pour ce jeu de données ; les fichiers reçus sont "
            "archivés. Relancez quand la source est de nouveau disponible.",
        )
    return summary


def gather_dataset(config: DatasetConfig, settings: Settings) -> Tables | Built:
    """The records (or, for a table file, the checked table) of one dataset, by its source's kind."""
    return GATHERERS[config.source.kind](config, settings)


class InProcess:
    """The steps called directly, one after the other, in this process."""

    def collect(self, config: DatasetConfig, settings: Settings, out: Path) -> Outcome[CollectionSummary]:
        return _attempt(collect_dataset, config, settings, out)

    def gather(
        self, config: DatasetConfig, settings: Settings, after: Sequence[Outcome[Any]]
    ) -> Outcome[Tables | Built]:
        return _attempt(gather_dataset, config, settings, after=after)

    def build(self, gathered: Outcome[Tables | Built], schemas: dict[str, TableSchema]) -> Outcome[Built]:
        return _attempt(lambda: build_tables(gathered.result(), schemas), after=[gathered])

    def release(
        self,
        out: Path,
        config: DatasetConfig,
        schemas: dict[str, TableSchema],
        tables: Built,
        settings: Settings,
        inputs: str | None,
    ) -> ReleaseResult:
        return release_built(out, config, schemas, tables, settings, inputs)

    def catalog(self, out: Path, settings: Settings) -> list[str]:
        return refresh_catalog(out, settings)


IN_PROCESS: Steps = InProcess()


def release_datasets(
    configs: Sequence[DatasetConfig], settings: Settings, out: Path, steps: Steps = IN_PROCESS
) -> list[DatasetOutcome]:
    """Collects, gathers and builds every dataset (concurrently if ``steps`` runs them so),
    then releases them one by one in the order given; returns one outcome per dataset.

    Before anything is written, sample data over real data is refused for every dataset.
    A dataset whose inputs have the served version's checksums is neither gathered nor
    built. The first error, in dataset order, is raised; datasets released before it stay
    released."""
    for config in configs:
        refuse_samples_over_real_data(out, config, settings.state_dir)
    started = {c.slug: time.monotonic() for c in configs}
    schemas = {c.slug: {name: load_schema(settings.schemas_dir, name) for name in c.tables} for c in configs}
    collections = {c.slug: steps.collect(c, settings, out) for c in configs if c.source.kind == "submissions"}
    plans = {c.slug: plan_release(out, c, settings) for c in configs}
    gathered: dict[str, Outcome[Tables | Built]] = {}
    built: dict[str, Outcome[Built]] = {}
    for config in configs:
        if plans[config.slug].unchanged is not None:
            continue
        waits = [collections[config.slug]] if config.slug in collections else []
        progress.step(config.slug, "collecte")
        gathered[config.slug] = steps.gather(config, settings, waits)
        built[config.slug] = steps.build(gathered[config.slug], schemas[config.slug])
    outcomes = []
    for config in configs:
        plan = plans[config.slug]
        if plan.unchanged is not None:
            progress.done(config.slug)
            outcomes.append(
                DatasetOutcome(plan.unchanged, None, round(time.monotonic() - started[config.slug], 1))
            )
            continue
        # Results in dependency order, so that the error raised is the first one's own
        # (a changed source, an unreadable inbox), not "an upstream task failed".
        collection = collections[config.slug].result() if config.slug in collections else None
        gathered[config.slug].result()
        tables = built[config.slug].result()
        progress.step(config.slug, "publication")
        release = steps.release(out, config, schemas[config.slug], tables, settings, plan.inputs)
        progress.done(config.slug)
        outcomes.append(
            DatasetOutcome(release, collection, round(time.monotonic() - started[config.slug], 1))
        )
    return outcomes


def run_catalog(out: Path, settings: Settings, steps: Steps = IN_PROCESS) -> list[DatasetOutcome]:
    """Every dataset of the catalogue (``settings.datasets_dir``), then the catalogue and the
    pages, written after every dataset so that they announce only versions that are served."""
    configs = [dataset_for_run(c, settings, out=out) for c in load_catalog(settings.datasets_dir)]
    outcomes = release_datasets(configs, settings, out, steps)
    steps.catalog(out, settings)
    return outcomes


def run_dataset(slug: str, out: Path, settings: Settings, steps: Steps = IN_PROCESS) -> list[DatasetOutcome]:
    """One dataset of the catalogue, then the catalogue and the pages."""
    config = dataset_for_run(load_dataset(settings.datasets_dir / slug), settings, out=out)
    outcomes = release_datasets([config], settings, out, steps)
    steps.catalog(out, settings)
    return outcomes


def run_verdict(outcomes: Sequence[DatasetOutcome]) -> RunVerdict:
    """The rejected files of a run, and its message: the files rejected, else the versions
    published, else that there was nothing new."""
    rejected = [line for o in outcomes if o.collection for line in o.collection.rejected_lines()]
    if rejected:
        return RunVerdict(rejected, f"{len(rejected)} soumission(s) rejetée(s) : " + " ; ".join(rejected))
    published = [f"{o.release.slug} {o.release.version}" for o in outcomes if o.release.published]
    return RunVerdict([], "Publié : " + ", ".join(published) if published else "Rien de nouveau à publier.")
