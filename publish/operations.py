"""Publish stage: the decisions a run makes about each dataset, as plain functions.

The flows and the command only adapt these: which datasets need no parsing at all (their
inputs have the checksums of the served version's), which validator checks a staged
package, which reasons a withdrawal adds, that spilled tables are discarded whatever
happens, and that a rollback is followed by the catalogue it changes. Called directly,
without Prefect, they keep the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pipelines.build.spill import SpilledTable
from pipelines.core.config import DatasetConfig, Settings, TableFileSource, load_dataset
from pipelines.core.errors import PipelineError, PublishError
from pipelines.core.schema import TableSchema
from pipelines.gather.submissions.plan_facts import plan_references
from pipelines.state.archive import SubmissionArchive
from pipelines.state.campaign import dataset_for_run
from pipelines.state.inputs import input_fingerprint
from pipelines.validate.package import validate_datapackage
from publish.catalog import refresh_catalog
from publish.release import (
    ReleaseResult,
    Table,
    Validator,
    release_dataset,
    rollback_dataset,
    served_entry,
    submissions_in,
    withdrawal_reasons,
)
from publish.versioning import read_log
from publish.versioning.rule import version_tuple

UNCHANGED_INPUTS = "entrées inchangées (sommes de contrôle) : rien n'a été relu"


@dataclass(frozen=True)
class ReleasePlan:
    """What a run does with one dataset: ``unchanged`` is set when the served version was
    built from inputs with the same checksum (nothing is parsed; that result is reported)."""

    config: DatasetConfig
    inputs: str | None = None
    unchanged: ReleaseResult | None = None


def plan_release(out: Path, config: DatasetConfig, settings: Settings) -> ReleasePlan:
    """Whether ``config`` needs gathering at all; its inputs' checksum when it has one.

    A progress dataset has no such checksum (its archive grows with every collection): it
    is always rebuilt, and an unchanged build publishes nothing."""
    inputs = input_fingerprint(config, settings)
    if inputs is None:
        return ReleasePlan(config)
    served = served_entry(out, config.slug)
    if served is not None and served.inputs == inputs:
        return ReleasePlan(
            config, inputs, ReleaseResult(config.slug, served.version, False, {}, note=UNCHANGED_INPUTS)
        )
    return ReleasePlan(config, inputs)


def validator_for(config: DatasetConfig, schemas: Mapping[str, TableSchema]) -> Validator:
    """The check of a staged package: frictionless's semantics, with the plan's tables as
    references when the dataset points at the plan; a table file's rows are the values its
    gather check found valid, so they are not read again."""
    if config.source.kind != "submissions" and not getattr(config.source, "plan", None):
        return validate_datapackage
    prechecked = [config.source.table] if isinstance(config.source, TableFileSource) else []
    return partial(
        validate_datapackage, schemas=dict(schemas), references=plan_references(config), prechecked=prechecked
    )


def release_built(
    out: Path,
    config: DatasetConfig,
    schemas: Mapping[str, TableSchema],
    tables: Mapping[str, Table],
    settings: Settings,
    inputs: str | None = None,
) -> ReleaseResult:
    """Releases built tables with the dataset's validator and reasons; the tables spilled to
    disk are discarded afterwards, published or not."""
    notes = withdrawal_reasons(config, settings) if config.source.kind == "submissions" else None
    try:
        return release_dataset(
            out,
            config,
            dict(schemas),
            dict(tables),
            validator_for(config, schemas),
            lock_timeout=settings.lock_timeout,
            base_url=settings.base_url,
            inputs=inputs,
            notes=notes,
        )
    finally:
        for table in tables.values():
            if isinstance(table, SpilledTable):
                table.discard()


def dataset_title(settings: Settings, slug: str) -> str:
    """The title a changelog is written under (the slug if the definition is gone)."""
    try:
        return dataset_for_run(load_dataset(settings.datasets_dir / slug), settings).title
    except PipelineError:
        return slug


class RollbackOverWithdrawal(PublishError):
    """A rollback would serve again the rows of a withdrawn submission. ``withdrawn`` are
    the sha256 of those submissions; ``suggested`` the latest version without any (or
    ``None``)."""

    def __init__(
        self, message: str, *, slug: str, version: str, withdrawn: list[str], suggested: str | None, hint: str
    ) -> None:
        super().__init__(
            message, hint=hint, slug=slug, version=version, withdrawn=withdrawn, suggested=suggested
        )
        self.slug = slug
        self.version = version
        self.withdrawn = withdrawn
        self.suggested = suggested


def refuse_rollback_over_withdrawal(out: Path, settings: Settings, slug: str, version: str) -> None:
    """Raises :class:`RollbackOverWithdrawal` when ``version`` holds rows of a file withdrawn
    since (``ogp withdraw``): serving it would publish them again."""
    withdrawals = SubmissionArchive(settings.state_dir / slug).withdrawals()
    dataset_dir = out / "datasets" / slug
    if not withdrawals or not (dataset_dir / version).is_dir():
        return
    held = sorted(submissions_in(dataset_dir / version) & withdrawals.keys())
    if not held:
        return
    log = read_log(dataset_dir)
    clean = [
        e.version
        for e in log.versions
        if (dataset_dir / e.version).is_dir()
        and not submissions_in(dataset_dir / e.version) & withdrawals.keys()
    ]
    suggested = max(clean, key=version_tuple) if clean else None
    named = " ; ".join(
        f"{withdrawals[sha].file_name} ({sha[:12]}), retirée le {withdrawals[sha].date[:10]} : {withdrawals[sha].reason}"
        for sha in held
    )
    raise RollbackOverWithdrawal(
        f"La version {version} de {slug} contient des lignes de soumission(s) retirée(s) : {named}. La servir "
        "de nouveau republierait ces lignes.",
        slug=slug,
        version=version,
        withdrawn=held,
        suggested=suggested,
        hint=(
            f"Servez plutôt la version {suggested}, la plus récente sans soumission retirée "
            f"(ogp rollback {slug} {suggested}), ou ajoutez --include-withdrawn pour servir {version} quand même."
            if suggested
            else f"Aucune version publiée n'en est exempte : ajoutez --include-withdrawn pour servir {version} "
            "quand même, ou lancez ogp run pour publier une version sans ces lignes."
        ),
    )


def roll_back(
    out: Path,
    settings: Settings,
    slug: str,
    version: str,
    reason: str = "",
    *,
    include_withdrawn: bool = False,
) -> str:
    """Serves ``version`` of ``slug`` again (see ``rollback_dataset``), then rewrites the
    catalogue and the pages so that they announce what is served. Returns the version the
    rollback replaced. A version holding rows of a withdrawn submission is refused unless
    ``include_withdrawn``."""
    if not include_withdrawn:
        refuse_rollback_over_withdrawal(out, settings, slug, version)
    previous = rollback_dataset(
        out, slug, dataset_title(settings, slug), version, reason, lock_timeout=settings.lock_timeout
    )
    refresh_catalog(out, settings)
    return previous
