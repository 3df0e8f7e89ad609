"""Intake: progress submissions received, validated and archived with their reports.

``collect_submissions`` receives what is new in the campaign's inbox and at its URLs (in
the order of their modification times, then paths), archives every file byte for byte,
validates it against the plan and the archive's earlier reports, archives its report and
writes the campaign's state beside the archive. A rejected file changes nothing published;
a source that cannot be read is reported as a failure; a link out of the inbox is refused
and journalled, never followed. The published rows are rebuilt from the archive by
``pipelines.gather.submissions.records``. ``receive_one`` is the same reception for one
file handed over by another door (the bodies' web door). Also here: the context of the
commands that work on single files (``ogp validate``, ``ogp template``) and withdrawals.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pipelines.core.config import DatasetConfig, Settings, SubmissionsSource, load_dataset
from pipelines.core.errors import ConfigError, SourceUnavailable
from pipelines.core.schema import TableSchema, load_schema
from pipelines.core.vocabulary import labels
from pipelines.gather.http import HttpPolicy, ResponseTooLarge, fetch_url, redact_url
from pipelines.gather.submissions.inbox import inbox_files
from pipelines.gather.submissions.plan_facts import (
    PROGRESS_SLUG,
    SUBMISSION_SCHEMA,
    TARGETS_SUBMISSION_SCHEMA,
    PlanFacts,
    campaign_plan,
)
from pipelines.gather.submissions.read import Limits
from pipelines.gather.submissions.records import Merged, merge_archive
from pipelines.intake.links import AccessLinks
from pipelines.intake.mail import DoorLinks, Postbox
from pipelines.intake.receipts import send_receipts
from pipelines.intake.status import campaign_status, effect_sentence, write_status
from pipelines.io.lock import exclusive
from pipelines.state.accesses import TokenPurpose
from pipelines.state.archive import AcceptedSubmission, SubmissionArchive
from pipelines.state.campaign import ResolvedCampaign, record_campaign, resolve_campaign
from pipelines.state.journal import Door, Origin, Reception, Verdict
from pipelines.state.received import Received, receive_file
from pipelines.state.samples import refuse_over_real_state
from pipelines.validate.report import SubmissionReport, render_html, render_json, render_markdown
from pipelines.validate.submission import validate_submission


@dataclass(frozen=True)
class Receipt:
    """One reception of this collection: the report, and where the archive keeps it."""

    report: SubmissionReport
    reception: Reception
    report_path: Path  # the HTML report, absolute


@dataclass
class CollectionSummary:
    """What one collection received; ``failures`` are sources that could not be read;
    ``refused`` what was not received (a link out of the inbox, a file too large at a URL)."""

    receipts: list[Receipt] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)
    archive: Path | None = None  # the dataset's state folder, where the reports are
    inbox: Path | None = None
    # Accepted files of which nothing (or not everything) is published, because of this
    # collection: one French line each, naming the file that replaced or preceded them.
    without_effect: list[str] = field(default_factory=list)
    # What became of the receipts of this collection, said once (never an address).
    mail: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> list[SubmissionReport]:
        return [r.report for r in self.receipts if r.report.accepted]

    @property
    def rejected(self) -> list[SubmissionReport]:
        return [r.report for r in self.receipts if not r.report.accepted]

    def rejected_lines(self) -> list[str]:
        """One line per file refused, as run summaries and Prefect state messages say it."""
        return [f"{r.file_name} ({r.origin}) : {r.verdict}" for r in self.rejected] + self.refused

    def where(self, report: SubmissionReport) -> str:
        """Where the steward finds the file: its path in the inbox, else its origin."""
        origin = Origin.from_json(report.origin)
        if origin.door in (Door.INBOX, Door.SAMPLE) and self.inbox is not None:
            return str(self.inbox / origin.where)
        return origin.to_json()

    def report_path(self, report: SubmissionReport) -> Path | None:
        """The absolute path of a file's HTML report in the archive."""
        return next((r.report_path for r in self.receipts if r.report is report), None)


def limits_of(source: SubmissionsSource) -> Limits:
    """What one file of this source may weigh (``dataset.yaml``'s ``limits``), the same for
    ``ogp validate``, the door and ``ogp run``."""
    return Limits(max_bytes=source.limits.max_bytes, max_rows=source.limits.max_rows)


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class History:
    """What the rules compare a file with: every accepted report so far, in merge order:
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
    """The history of every accepted report of the archive, in merge order."""
    history = History()
    for submission in archive.accepted(sample):
        history.add(submission.rows, submission.target_rows)
    return history


@dataclass
class Intake:
    """What receiving a file of one campaign needs, read once: the campaign, the plan, both
    submission formats, the archive and its history (kept up to date as files are accepted).
    The caller holds the campaign's state lock while it receives."""

    resolved: ResolvedCampaign
    plan: PlanFacts
    schemas: tuple[TableSchema, TableSchema]
    archive: SubmissionArchive
    history: History
    today: dt.date
    collection: int
    clock: Callable[[], str] = now_utc

    @property
    def source(self) -> SubmissionsSource:
        return self.resolved.source

    def receive(self, received: Received, summary: CollectionSummary) -> Receipt | None:
        """Archives, validates and reports one file; ``None`` if this exact file was already
        received from this origin (counted as unchanged)."""
        if self.archive.is_known(received.origin, received.sha256):
            summary.unchanged += 1
            return None
        self.archive.store(received)
        schema, targets_schema = self.schemas
        validated = validate_submission(
            received,
            schema,
            self.plan,
            today=self.today,
            history=self.history.progress,
            limits=limits_of(self.source),
            targets_schema=targets_schema,
            target_history=self.history.targets,
        )
        report = validated.report
        if report.accepted and report.organisation:
            report.notes = self._effect_notes(
                received, report.organisation, validated.rows, validated.target_rows
            )
        reception = self.archive.save(
            received,
            {
                "md": render_markdown(report).encode("utf-8"),
                "html": render_html(report).encode("utf-8"),
                "json": render_json(report).encode("utf-8"),
            },
            validated.rows,
            accepted=report.accepted,
            organisation=report.organisation,
            sample=self.source.sample,
            collection=self.collection,
            target_rows=validated.target_rows,
        )
        self.history.add(validated.rows, validated.target_rows)
        receipt = Receipt(report, reception, self.archive.layout.report(reception, "html").resolve())
        summary.receipts.append(receipt)
        return receipt

    def _effect_notes(
        self,
        received: Received,
        organisation: str,
        rows: list[dict[str, str]],
        target_rows: list[dict[str, str]],
    ) -> list[str]:
        """What an accepted file changes, merged after every file received before it: a
        sentence when some of its rows were all said before (nothing new to publish)."""
        provisional = Reception(
            n=self.archive.journal.next_n(),
            sha256=received.sha256,
            file_name=received.name,
            origin=received.origin,
            received_at=received.received_at,
            arrived_at=received.arrived_at or received.received_at,
            organisation=organisation,
            sample=self.source.sample,
            verdict=Verdict.ACCEPTED,
            collection=self.collection,
        )
        effect = self.merged.add(AcceptedSubmission(provisional, organisation, rows, tuple(target_rows)))
        sentence = effect_sentence(effect, {r.n: r for r in self.archive.receptions()})
        return [sentence] if sentence else []

    @functools.cached_property
    def merged(self) -> Merged:
        """The merge of the campaign's accepted files so far, grown as files are accepted."""
        return merge_archive(self.archive, self.source.sample)


def open_intake(
    resolved: ResolvedCampaign,
    settings: Settings,
    plan: PlanFacts,
    today: dt.date | None = None,
    out: Path | None = None,
    clock: Callable[[], str] | None = None,
) -> Intake:
    """The intake of a campaign, for a caller that holds its state lock: checks the sample
    policy, records the campaign at its first reception, reads the history once."""
    archive = SubmissionArchive(resolved.layout.root)
    config = resolved.config
    refuse_over_real_state(config, archive.root, archive.has_real_submissions())
    if resolved.campaign.inbox is None:
        raise ConfigError(
            f"{config.slug} : le dossier d'état {archive.root} a reçu des soumissions réelles, mais "
            "la boîte de dépôt de cette campagne n'est pas enregistrée.",
            hint="Indiquez la boîte de dépôt réelle une fois : OGP_SUBMISSIONS_INBOX=/chemin/de/la/boite "
            "ogp run … ; elle est ensuite enregistrée dans le dossier d'état.",
        )
    record_campaign(resolved, output=out)
    schemas = (
        load_schema(settings.schemas_dir, SUBMISSION_SCHEMA),
        load_schema(settings.schemas_dir, TARGETS_SUBMISSION_SCHEMA),
    )
    return Intake(
        resolved,
        plan,
        schemas,
        archive,
        archive_history(archive, resolved.source.sample),
        today or dt.date.today(),
        archive.journal.next_collection(),
        clock or now_utc,
    )


def collect_submissions(
    config: DatasetConfig,
    settings: Settings,
    *,
    today: dt.date | None = None,
    policy: HttpPolicy | None = None,
    plan: PlanFacts | None = None,
    out: Path | None = None,
    clock: Callable[[], str] | None = None,
    postbox: Postbox | None = None,
    links: DoorLinks | None = None,
) -> CollectionSummary:
    """Receives, archives and validates every new submission of the campaign's sources,
    then sends a receipt for each reception (``postbox``: the campaign's by default;
    ``links``: the bodies' door links the receipts carry).

    ``config`` is the progress dataset (resolved against the campaign recorded in the state
    folder); ``plan``, the plan's facts when the caller has them already; ``clock``, what
    gives the reception times (UTC, ISO 8601; tests set it). Holds the state
    folder's lock while it receives: two runs never receive into the same archive at once.
    Receipts are sent once the lock is released (under the mail lock).
    """
    resolved = resolve_campaign(config, settings, out=out)
    root = resolved.layout.root
    with exclusive(root, timeout=settings.lock_timeout, what="Réception des soumissions"):
        # Under the lock: the journal is read (and cached by the archive) only once it
        # can no longer change under this run.
        plan = plan or campaign_plan(resolved.config)
        intake = open_intake(resolved, settings, plan, today, out, clock)
        summary = _collect(intake, policy)
        summary.archive = root
        summary.inbox = resolved.campaign.inbox
        summary.without_effect = effects_of_collection(intake)
        # The steward's view of the campaign, beside the archive (see ogp status).
        write_status(
            resolved.layout, campaign_status(resolved, plan, archive=intake.archive), status_labels(intake)
        )
    sent = send_receipts(
        postbox or Postbox(resolved.layout, settings),
        intake.archive,
        [r.reception for r in summary.receipts],
        plan.organisation_names,
        links or AccessLinks(settings, resolved.layout, TokenPurpose.RECEIPT),
    )
    summary.mail = sent.lines()
    return summary


def status_labels(intake: Intake) -> dict[str, str]:
    """The French label of each progress status (the submission format's ``statut``)."""
    return labels(intake.schemas[0], "statut")


def refresh_status(resolved: ResolvedCampaign, settings: Settings, plan: PlanFacts | None = None) -> Path:
    """Writes ``etat-collecte.{json,html}`` again, under the state lock: after what changes
    the campaign without a collection (a withdrawal, reminders sent)."""
    schema = load_schema(settings.schemas_dir, SUBMISSION_SCHEMA)
    with exclusive(resolved.layout.root, timeout=settings.lock_timeout, what="État de la collecte"):
        return _write_status(resolved, schema, plan)


def _write_status(resolved: ResolvedCampaign, schema: TableSchema, plan: PlanFacts | None) -> Path:
    status = campaign_status(resolved, plan or campaign_plan(resolved.config))
    return write_status(resolved.layout, status, labels(schema, "statut"))


def effects_of_collection(intake: Intake) -> list[str]:
    """The accepted files this collection left without (full) effect: a file it received
    whose rows were all said before, or an earlier file whose rows it replaced. Never silent."""
    merged = merge_archive(intake.archive, intake.source.sample)
    by_n = {r.n: r for r in intake.archive.receptions()}
    lines = []
    for effect in merged.effects.values():
        mine = effect.reception.collection == intake.collection
        replaced_now = any(by_n[n].collection == intake.collection for n in effect.replaced_by)
        if not (mine or replaced_now) or effect.published == effect.rows:
            continue
        lines.append(f"{effect.reception.origin} : {effect_sentence(effect, by_n)}")
    return lines


def _collect(intake: Intake, policy: HttpPolicy | None) -> CollectionSummary:
    source = intake.source
    summary = CollectionSummary()
    inbox = intake.resolved.campaign.inbox
    assert inbox is not None  # open_intake refused a campaign without one
    door = Door.SAMPLE if source.sample else Door.INBOX
    if not inbox.is_dir():
        summary.failures.append(f"Boîte de dépôt introuvable : {inbox}")
    else:
        contents = inbox_files(inbox)
        files = contents.files
        if source.sample:  # invented files: one declared arrival, in path order
            files = sorted(files, key=lambda f: f.relative)
        arrival = source.sample_arrived_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if source.sample else None
        for link in contents.refused:
            origin = Origin(door, link.relative)
            if intake.archive.is_refused(origin, link.code):
                summary.unchanged += 1  # refused once, like a file received once
                continue
            summary.refused.append(f"{link.relative} : {link.reason}")
            intake.archive.refuse(
                origin,
                PurePosixPath(link.relative).name,
                link.code,
                link.reason,
                intake.clock(),
                intake.collection,
            )
        for found in files:
            received = receive_file(
                found.path,
                Origin(door, found.relative),
                intake.clock(),
                found.organisation,
                source.limits.max_bytes,
                arrived_at=arrival,
                modified_at=found.modified_at,
            )
            intake.receive(received, summary)
    policy = policy or HttpPolicy(max_bytes=source.limits.max_bytes)
    validators = intake.archive.http_validators()
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
        received = Received(
            name, fetched.content, Origin(Door.URL, shown), intake.clock(), http_source.organisation
        )
        intake.receive(received, summary)
        validators[shown] = {
            k: v for k, v in (("etag", fetched.etag), ("last_modified", fetched.last_modified)) if v
        }
        intake.archive.save_http_validators(validators)
    return summary


class ProgressContext:
    """The progress dataset's campaign, the plan it refers to and the submission schemas,
    read once, for the commands that work on single files: templates and on-demand
    validation (``ogp validate``, the ``valider-soumission`` flow), which archive and
    publish nothing. The campaign is the one recorded in the state folder, so a file is
    compared with the archive ``ogp run`` will compare it with."""

    def __init__(self, settings: Settings, plan: PlanFacts | None = None) -> None:
        config = load_dataset(settings.datasets_dir / PROGRESS_SLUG)
        self.resolved = resolve_campaign(config, settings)
        self.config = self.resolved.config
        self.plan = plan or campaign_plan(self.config)
        self.schema = load_schema(settings.schemas_dir, SUBMISSION_SCHEMA)
        self.targets_schema = load_schema(settings.schemas_dir, TARGETS_SUBMISSION_SCHEMA)
        self.archive = SubmissionArchive(self.resolved.layout.root)

    def validate_file(self, path: Path, organisation: str | None) -> SubmissionReport:
        """The report of one file. Its body: ``organisation``, else the folder it sits in
        when that folder is named after a body of the plan (as in an inbox)."""
        if organisation is None and path.resolve().parent.name in self.plan.organisations:
            organisation = path.resolve().parent.name
        source = self.resolved.source
        received = receive_file(
            path, Origin(Door.FILE, str(path)), now_utc(), organisation, source.limits.max_bytes
        )
        return validate_submission(
            received,
            self.schema,
            self.plan,
            today=dt.date.today(),
            limits=limits_of(source),
            history=self.history.progress,
            targets_schema=self.targets_schema,
            target_history=self.history.targets,
        ).report

    @functools.cached_property
    def history(self) -> History:
        """The archive's accepted reports, read once and only read (no lock, nothing
        written): the history ``ogp run`` compares a file with, so the verdicts agree."""
        return archive_history(self.archive, self.resolved.source.sample)


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
    resolved = resolve_campaign(config, settings)
    archive = SubmissionArchive(resolved.layout.root)
    if not archive.journal.exists:
        raise ConfigError(
            f"Aucune soumission n'a été reçue dans {archive.root}.",
            hint="Vérifiez le dossier d'état (--state-dir) et le jeu de données.",
            state=archive.root,
        )
    with exclusive(archive.root, timeout=settings.lock_timeout, what="Retrait d'une soumission"):
        sha = archive.find(submission)
        done = archive.withdraw(sha, reason, now_utc())
        accepted = any(r.sha256 == sha and r.accepted for r in archive.receptions())
        _write_status(resolved, load_schema(settings.schemas_dir, SUBMISSION_SCHEMA), None)
    return WithdrawnSubmission(done.sha256, done.file_name, done.reason, done.date, accepted)
