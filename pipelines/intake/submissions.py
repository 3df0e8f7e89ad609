"""Intake: progress submissions received, validated and archived with their reports.

``collect_submissions`` receives what is new in the inbox and at the configured URLs (in
arrival order), archives every file byte for byte, validates it against the plan and the
archive's earlier reports, archives its report and writes the campaign's state beside the
archive. A rejected file changes nothing published; a source that cannot be read is
reported as a failure. The published rows are rebuilt from the archive by
``pipelines.gather.submissions.records``. Also here: the context of the commands that
work on single files (``ogp validate``, ``ogp template``) and withdrawals.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pipelines.core.config import (
    DatasetConfig,
    Settings,
    SubmissionsSource,
    load_dataset,
)
from pipelines.core.errors import ConfigError, SourceUnavailable
from pipelines.core.schema import TableSchema, load_schema
from pipelines.gather.http import HttpPolicy, ResponseTooLarge, fetch_url, redact_url
from pipelines.gather.submissions.inbox import inbox_files
from pipelines.gather.submissions.plan_facts import (
    PROGRESS_SLUG,
    SUBMISSION_SCHEMA,
    TARGETS_SUBMISSION_SCHEMA,
    PlanFacts,
    plan_facts,
    source_of,
    with_reporters,
)
from pipelines.gather.submissions.read import Limits
from pipelines.gather.submissions.records import refuse_samples_over_real
from pipelines.intake.status import campaign_status, write_status
from pipelines.io.lock import exclusive
from pipelines.state.archive import SubmissionArchive
from pipelines.state.received import Received, receive_file
from pipelines.validate.report import SubmissionReport, render_html, render_json, render_markdown
from pipelines.validate.submission import validate_submission


@dataclass
class CollectionSummary:
    """What one collection received; ``failures`` are sources that could not be read."""

    accepted: list[SubmissionReport] = field(default_factory=list)
    rejected: list[SubmissionReport] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # not received whole (too large)
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)
    archive: Path | None = None  # the dataset's state folder, where the reports are
    inbox: Path | None = None

    def rejected_lines(self) -> list[str]:
        """One line per file refused, as run summaries and Prefect state messages say it."""
        return [f"{r.file_name} ({r.origin}) : {r.verdict}" for r in self.rejected] + self.refused

    def where(self, report: SubmissionReport) -> str:
        """Where the steward finds the file: its path in the inbox, else its origin."""
        kind, _, relative = report.origin.partition(":")
        if kind in ("depot", "exemple") and self.inbox is not None:
            return str(self.inbox / relative)
        return report.origin

    def report_path(self, report: SubmissionReport) -> Path | None:
        """The absolute path of a file's HTML report in the archive."""
        return (
            (self.archive / "soumissions" / report.sha256 / "rapport.html").resolve()
            if self.archive
            else None
        )


class ProgressContext:
    """The progress dataset's definition, the plan it refers to and the submission schema,
    read once, for the commands that work on single files: templates and on-demand
    validation (``ogp validate``, the ``valider-soumission`` flow), which archive and
    publish nothing."""

    def __init__(self, settings: Settings) -> None:
        self.config = load_dataset(settings.datasets_dir / PROGRESS_SLUG).for_run(settings)
        self.plan = with_reporters(plan_facts(self.config), source_of(self.config))
        self.schema = load_schema(settings.schemas_dir, SUBMISSION_SCHEMA)
        self.targets_schema = load_schema(settings.schemas_dir, TARGETS_SUBMISSION_SCHEMA)
        self.archive = SubmissionArchive(settings.state_dir / self.config.slug)

    def validate_file(self, path: Path, organisation: str | None) -> SubmissionReport:
        """The report of one file. Its body: ``organisation``, else the folder it sits in
        when that folder is named after a body of the plan (as in an inbox)."""
        if organisation is None and path.resolve().parent.name in self.plan.organisations:
            organisation = path.resolve().parent.name
        received = receive_file(
            path, f"fichier:{path}", _now(), organisation, source_of(self.config).limits.max_bytes
        )
        return validate_submission(
            received,
            self.schema,
            self.plan,
            today=dt.date.today(),
            limits=limits_of(source_of(self.config)),
            history=self.history.progress,
            targets_schema=self.targets_schema,
            target_history=self.history.targets,
        ).report

    @functools.cached_property
    def history(self) -> History:
        """The archive's accepted reports, read once and only read (no lock, nothing
        written): the history ``ogp run`` compares a file with, so the verdicts agree."""
        return archive_history(self.archive, source_of(self.config).sample)


def limits_of(source: SubmissionsSource) -> Limits:
    """What one file of this source may weigh (``dataset.yaml``'s ``limits``), the same for
    ``ogp validate`` and ``ogp run``."""
    return Limits(max_bytes=source.limits.max_bytes, max_rows=source.limits.max_rows)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class History:
    """What the rules compare a file with: every accepted report so far, in arrival order:
    (action, date, percentage) of progress rows, (target, date, value) of target values."""

    progress: list[tuple[str, str, int | None]] = field(default_factory=list)
    targets: list[tuple[str, str, float | None]] = field(default_factory=list)

    def add(self, rows: Iterable[dict[str, str]], target_rows: Iterable[dict[str, str]]) -> None:
        """Extends the history with a file's accepted rows."""
        self.progress += [
            (
                row["id_action"],
                row["date_rapport"],
                int(row["avancement_pct"]) if row["avancement_pct"] else None,
            )
            for row in rows
        ]
        self.targets += [
            (
                row["id_cible"],
                row["date_rapport"],
                float(row["valeur_atteinte"]) if row["valeur_atteinte"] else None,
            )
            for row in target_rows
        ]


def archive_history(archive: SubmissionArchive, sample: bool) -> History:
    """The history of every accepted report of the archive, in arrival order."""
    history = History()
    for submission in archive.accepted(sample):
        history.add(submission.rows, submission.target_rows)
    return history


def _receive(
    received: Received,
    archive: SubmissionArchive,
    schemas: tuple[TableSchema, TableSchema],
    plan: PlanFacts,
    source: SubmissionsSource,
    today: dt.date,
    summary: CollectionSummary,
    history: History,
) -> None:
    """Archives and validates one file; ``history`` grows with the rows it accepts."""
    if archive.is_known(received.origin, received.sha256):
        summary.unchanged += 1
        return
    archive.store(received)
    limits = limits_of(source)
    schema, targets_schema = schemas
    validated = validate_submission(
        received,
        schema,
        plan,
        today=today,
        history=history.progress,
        limits=limits,
        targets_schema=targets_schema,
        target_history=history.targets,
    )
    report = validated.report
    archive.save(
        received,
        {
            "md": render_markdown(report).encode("utf-8"),
            "html": render_html(report).encode("utf-8"),
            "json": render_json(report).encode("utf-8"),
        },
        validated.rows,
        accepted=report.accepted,
        organisation=report.organisation,
        sample=source.sample,
        target_rows=validated.target_rows,
    )
    (summary.accepted if validated.report.accepted else summary.rejected).append(validated.report)
    history.add(validated.rows, validated.target_rows)


def collect_submissions(
    config: DatasetConfig,
    settings: Settings,
    *,
    today: dt.date | None = None,
    policy: HttpPolicy | None = None,
) -> CollectionSummary:
    """Receives, archives and validates every new submission of the dataset's sources.

    Holds the state folder's lock: two runs never receive into the same archive at once.
    """
    archive = SubmissionArchive(settings.state_dir / config.slug)
    with exclusive(archive.root, timeout=settings.lock_timeout, what="Réception des soumissions"):
        # Under the lock: the journal is read (and cached by the archive) only once it
        # can no longer change under this run.
        refuse_samples_over_real(config, archive)
        plan = with_reporters(plan_facts(config), source_of(config))
        summary = _collect(config, settings, archive, plan, today, policy)
        summary.archive = archive.root
        summary.inbox = config.resolve(source_of(config).inbox)
        # The steward's view of the campaign, beside the archive (see ogp status).
        write_status(config, settings, campaign_status(config, settings, plan, archive=archive))
        return summary


def _collect(
    config: DatasetConfig,
    settings: Settings,
    archive: SubmissionArchive,
    plan: PlanFacts,
    today: dt.date | None,
    policy: HttpPolicy | None,
) -> CollectionSummary:
    source = source_of(config)
    schemas = (
        load_schema(settings.schemas_dir, SUBMISSION_SCHEMA),
        load_schema(settings.schemas_dir, TARGETS_SUBMISSION_SCHEMA),
    )
    today = today or dt.date.today()
    summary = CollectionSummary()
    # Read once: the archive's accepted rows, extended as this collection accepts files.
    history = archive_history(archive, source.sample)
    inbox = config.resolve(source.inbox)
    if not inbox.is_dir():
        summary.failures.append(f"Boîte de dépôt introuvable : {inbox}")
    else:
        label = "exemple" if source.sample else "depot"
        for found in inbox_files(inbox, source.sample_arrived_at if source.sample else None):
            origin = f"{label}:{found.path.relative_to(inbox).as_posix()}"
            received = receive_file(
                found.path, origin, _now(), found.organisation, source.limits.max_bytes, found.arrived_at
            )
            _receive(received, archive, schemas, plan, source, today, summary, history)
    policy = policy or HttpPolicy(max_bytes=source.limits.max_bytes)
    validators = archive.http_validators()
    for http_source in source.urls:
        shown = redact_url(http_source.url)
        known = validators.get(shown, {})
        token = os.environ.get(http_source.token_env) if http_source.token_env else None
        try:
            fetched = fetch_url(
                http_source.url,
                policy,
                etag=known.get("etag"),
                last_modified=known.get("last_modified"),
                token=token,
            )
        except ResponseTooLarge as exc:
            summary.refused.append(exc.message)
            continue
        except SourceUnavailable as exc:
            summary.failures.append(exc.message)
            continue
        if fetched.content is None:
            summary.unchanged += 1
            continue
        name = PurePosixPath(urlsplit(http_source.url).path).name or "soumission.csv"
        now = _now()
        received = Received(name, fetched.content, shown, now, http_source.organisation, arrived_at=now)
        _receive(received, archive, schemas, plan, source, today, summary, history)
        validators[shown] = {
            k: v for k, v in (("etag", fetched.etag), ("last_modified", fetched.last_modified)) if v
        }
        archive.save_http_validators(validators)
    return summary


@dataclass(frozen=True)
class WithdrawnSubmission:
    """A withdrawal as the archive recorded it, for the command to report.

    ``accepted``: the file had been accepted, so the next publication leaves its rows out; a
    rejected file's withdrawal changes nothing published."""

    sha256: str
    file_name: str
    reason: str
    date: str
    accepted: bool


def withdraw_submission(
    config: DatasetConfig, settings: Settings, submission: str, reason: str
) -> WithdrawnSubmission:
    """Records that a received file is withdrawn (its sha256 or a unique prefix); deletes
    nothing. The next publication leaves its rows out and says so in its changelog."""
    archive = SubmissionArchive(settings.state_dir / config.slug)
    if not (archive.root / "journal.jsonl").exists():
        raise ConfigError(
            f"Aucune soumission n'a été reçue dans {archive.root}.",
            hint="Vérifiez le dossier d'état (--state-dir) et le jeu de données.",
        )
    with exclusive(archive.root, timeout=settings.lock_timeout, what="Retrait d'une soumission"):
        sha = archive.find(submission)
        done = archive.withdraw(sha, reason, _now())
        accepted = any(e["sha256"] == sha and e["verdict"] == "accepte" for e in archive.receptions())
    return WithdrawnSubmission(done.sha256, done.file_name, done.reason, done.date, accepted)
