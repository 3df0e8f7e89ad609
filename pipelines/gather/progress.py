"""Gather stage: the progress dataset's records, from submissions received and archived.

Two steps with different guarantees:

- ``collect_submissions`` receives what is new in the inbox and at the configured URLs,
  archives every file byte for byte, validates it and archives its report. A rejected
  file changes nothing published; a source that cannot be read is reported as a failure.
- ``gather_progress_records`` rebuilds the ``suivi`` table from the archive alone: every
  accepted, attributed, not withdrawn submission in arrival order (the file's modification
  time in the inbox, the fetch time over HTTP), a later report of the same action and date
  replacing an earlier one. Each row says which file it was read from (``id_soumission``)
  and when that file arrived (``date_reception``). Deleting the published output loses
  nothing.

Sample submissions exist for a first ``make run`` only: a state folder that has received
real submissions never collects or publishes the samples (``refuse_samples_over_real``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pipelines.archive import AcceptedSubmission, SubmissionArchive
from pipelines.config import DatasetConfig, Settings, SubmissionsSource, load_dataset
from pipelines.errors import ConfigError, SourceUnavailable
from pipelines.gather.http_source import HttpPolicy, ResponseTooLarge, fetch_url, redact_url
from pipelines.gather.plan import gather_plan_records
from pipelines.gather.plan_tables import Tables
from pipelines.inputs import file_stamps
from pipelines.gather.submission_file import Limits
from pipelines.tables import TableSchema, load_schema
from pipelines.validate.report import SubmissionReport
from pipelines.validate.submission import PlanFacts, Received, receive_file, validate_submission
from publish.lock import exclusive

SUBMISSION_SCHEMA = "soumission"
PROGRESS_SLUG = "suivi-plan-action-pgo-2021-2023"
# Files an inbox collects that are not submissions: editor lock files, system files.
_IGNORED_PREFIXES = (".", "~$")
_IGNORED_NAMES = {"readme.md", "lisezmoi.md", "thumbs.db", "desktop.ini"}


@dataclass
class CollectionSummary:
    """What one collection received; ``failures`` are sources that could not be read."""

    accepted: list[SubmissionReport] = field(default_factory=list)
    rejected: list[SubmissionReport] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # not received whole (too large)
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)

    def rejected_lines(self) -> list[str]:
        """One line per file refused, as run summaries and Prefect state messages say it."""
        return [f"{r.file_name} ({r.origin}) : {r.verdict}" for r in self.rejected] + self.refused


@dataclass(frozen=True)
class InboxFile:
    """A file of the inbox: its body (sub-folder) and when it arrived there (UTC)."""

    path: Path
    organisation: str | None
    arrived_at: str


class ProgressContext:
    """The progress dataset's definition, the plan it refers to and the submission schema,
    read once, for the commands that work on single files: templates and on-demand
    validation (``ogp validate``, the ``valider-soumission`` flow), which archive and
    publish nothing."""

    def __init__(self, settings: Settings) -> None:
        self.config = load_dataset(settings.datasets_dir / PROGRESS_SLUG).for_run(settings)
        self.plan = with_reporters(plan_facts(self.config), source_of(self.config))
        self.schema = load_schema(settings.schemas_dir, SUBMISSION_SCHEMA)

    def validate_file(self, path: Path, organisation: str | None) -> SubmissionReport:
        """The report of one file. Its body: ``organisation``, else the folder it sits in
        when that folder is named after a body of the plan (as in an inbox)."""
        if organisation is None and path.resolve().parent.name in self.plan.organisations:
            organisation = path.resolve().parent.name
        received = receive_file(path, f"fichier:{path}", _now(), organisation,
                                source_of(self.config).limits.max_bytes)
        return validate_submission(received, self.schema, self.plan, today=dt.date.today()).report


def source_of(config: DatasetConfig) -> SubmissionsSource:
    if not isinstance(config.source, SubmissionsSource):
        raise ConfigError(f"Le jeu de données {config.slug} n'est pas alimenté par des soumissions.")
    return config.source


def plan_facts(config: DatasetConfig) -> PlanFacts:
    """The plan the progress reports refer to, gathered from its own snapshot.

    Parsed once per process while the plan's files are unchanged: a run asks for it when
    it collects, gathers and checks the release of every dataset that refers to the plan.
    """
    plan = getattr(config.source, "plan", None)
    if plan is None:
        source_of(config)  # says which dataset has no plan to refer to
    plan_config = load_dataset(config.directory.parent / str(plan))
    return _plan_facts_of(plan_config.directory.resolve(), file_stamps(plan_config))


def with_reporters(plan: PlanFacts, source: SubmissionsSource) -> PlanFacts:
    """The plan's facts with the bodies the dataset entitles to report on others' actions.

    A declared action or body the plan does not have is a configuration error: a typo
    there would silently let a body report on an action that is not its own."""
    if not source.reporters:
        return plan
    reporters: dict[str, set[str]] = {}
    for action, bodies in sorted(source.reporters.items()):
        unknown = [b for b in bodies if b not in plan.organisations]
        if action not in plan.action_ids or unknown:
            raise ConfigError(
                f"reporters de dataset.yaml : « {action} » → {', '.join(bodies)} : "
                + (f"l'action {action} n'existe pas dans le plan" if action not in plan.action_ids
                   else f"organisme(s) inconnu(s) du plan : {', '.join(unknown)}") + ".",
                hint="Utilisez les identifiants des tables actions et organisations du plan.")
        for body in bodies:
            reporters.setdefault(body, set()).add(action)
    return dataclasses.replace(plan, reporters={b: frozenset(a) for b, a in reporters.items()})


@functools.lru_cache(maxsize=8)
def _plan_facts_of(directory: Path, stamps: tuple[tuple[str, int, int], ...]) -> PlanFacts:
    plan_config = load_dataset(directory)
    records = gather_plan_records(plan_config)
    responsibilities: dict[str, set[str]] = {}
    for row in records["responsables"]:
        responsibilities.setdefault(row["id_organisation"], set()).add(row["id_action"])
    start = plan_config.temporal_coverage.start if plan_config.temporal_coverage else dt.date(2021, 1, 1)
    return PlanFacts(
        start=start,
        action_ids=tuple(sorted(r["id_action"] for r in records["actions"])),
        organisations=frozenset(r["id_organisation"] for r in records["organisations"]),
        responsibilities={k: frozenset(v) for k, v in responsibilities.items()},
        action_titles={r["id_action"]: r["titre"] for r in records["actions"]},
        organisation_names={r["id_organisation"]: r["nom"] for r in records["organisations"]},
    )


def _utc(timestamp_ns: int) -> str:
    moment = dt.datetime.fromtimestamp(timestamp_ns / 1e9, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def inbox_files(inbox: Path, sample_arrival: dt.datetime | None = None) -> list[InboxFile]:
    """Files of the inbox in arrival order, with the body named by their sub-folder.

    Arrival is the file's modification time (what a mail client or a file share gives a
    saved attachment); ties are broken by path. ``inbox/ditp/rapport.xlsx`` comes from
    ``ditp``; a file at the top of the inbox from an unidentified body (its template may
    still say who it is). Bundled samples all arrive at ``sample_arrival``, in path order.
    """
    found: list[tuple[int, str, InboxFile]] = []
    for path in inbox.rglob("*"):
        relative = path.relative_to(inbox)
        if not path.is_file() or any(p.startswith(_IGNORED_PREFIXES) for p in relative.parts):
            continue
        if path.name.lower() in _IGNORED_NAMES:
            continue
        organisation = relative.parts[0] if len(relative.parts) > 1 else None
        stamp = (int(sample_arrival.timestamp() * 1e9) if sample_arrival is not None
                 else path.stat().st_mtime_ns)
        found.append((stamp, relative.as_posix(), InboxFile(path, organisation, _utc(stamp))))
    return [f for _, _, f in sorted(found, key=lambda item: item[:2])]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


History = list[tuple[str, str, int | None]]


def _history_of(rows: list[dict[str, str]]) -> History:
    """(action, date, percentage) of accepted rows, what the progress rule compares with."""
    return [(row["id_action"], row["date_rapport"],
             int(row["avancement_pct"]) if row["avancement_pct"] else None) for row in rows]


def _receive(
    received: Received, archive: SubmissionArchive, schema: TableSchema, plan: PlanFacts,
    source: SubmissionsSource, today: dt.date, summary: CollectionSummary, history: History,
) -> None:
    """Archives and validates one file; ``history`` grows with the rows it accepts."""
    if archive.is_known(received.origin, received.sha256):
        summary.unchanged += 1
        return
    archive.store(received)
    limits = Limits(max_bytes=source.limits.max_bytes, max_rows=source.limits.max_rows)
    validated = validate_submission(received, schema, plan, today=today,
                                    history=tuple(history), limits=limits)
    archive.save(received, validated.report, validated.rows, source.sample)
    (summary.accepted if validated.report.accepted else summary.rejected).append(validated.report)
    history += _history_of(validated.rows)


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
        return _collect(config, settings, archive, today, policy)


class SamplesOverRealData(ConfigError):
    """A run would put the invented samples where real submissions were received or published."""


def samples_refusal(config: DatasetConfig, where: str) -> SamplesOverRealData:
    return SamplesOverRealData(
        f"{config.slug} : {where} ; cette exécution publierait à leur place les soumissions "
        "d'exemple (inventées). Rien n'a été écrit.",
        hint="Indiquez la boîte de dépôt réelle : OGP_SUBMISSIONS_INBOX=/chemin/de/la/boite "
        "ogp run … (une tâche planifiée doit définir cette variable elle aussi). Pour une "
        "démonstration sur les exemples, utilisez un autre --out et un autre --state-dir.")


def refuse_samples_over_real(config: DatasetConfig, archive: SubmissionArchive) -> None:
    """Stops a sample run on a state folder that has received real submissions (reads, and
    so caches, the archive's journal: give it a fresh archive, or one under the lock)."""
    source = config.source
    if isinstance(source, SubmissionsSource) and source.sample and archive.has_real_submissions():
        raise samples_refusal(config, f"le dossier d'état {archive.root} a reçu des soumissions "
                                      "réelles")


def _collect(
    config: DatasetConfig, settings: Settings, archive: SubmissionArchive,
    today: dt.date | None, policy: HttpPolicy | None,
) -> CollectionSummary:
    source = source_of(config)
    schema = load_schema(settings.schemas_dir, SUBMISSION_SCHEMA)
    plan = with_reporters(plan_facts(config), source)
    today = today or dt.date.today()
    summary = CollectionSummary()
    # Read once: the archive's accepted rows, extended as this collection accepts files.
    history = [h for s in archive.accepted(source.sample) for h in _history_of(s.rows)]
    inbox = config.resolve(source.inbox)
    if not inbox.is_dir():
        summary.failures.append(f"Boîte de dépôt introuvable : {inbox}")
    else:
        label = "exemple" if source.sample else "depot"
        for found in inbox_files(inbox, source.sample_arrived_at if source.sample else None):
            origin = f"{label}:{found.path.relative_to(inbox).as_posix()}"
            received = receive_file(found.path, origin, _now(), found.organisation,
                                    source.limits.max_bytes, found.arrived_at)
            _receive(received, archive, schema, plan, source, today, summary, history)
    policy = policy or HttpPolicy(max_bytes=source.limits.max_bytes)
    validators = archive.http_validators()
    for http_source in source.urls:
        shown = redact_url(http_source.url)
        known = validators.get(shown, {})
        token = os.environ.get(http_source.token_env) if http_source.token_env else None
        try:
            fetched = fetch_url(http_source.url, policy, etag=known.get("etag"),
                                last_modified=known.get("last_modified"), token=token)
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
        _receive(received, archive, schema, plan, source, today, summary, history)
        validators[shown] = {k: v for k, v in (("etag", fetched.etag),
                                               ("last_modified", fetched.last_modified)) if v}
        archive.save_http_validators(validators)
    return summary


def _typed(row: dict[str, str], submission: AcceptedSubmission) -> dict[str, object]:
    return {
        "id_action": row["id_action"],
        "date_rapport": dt.date.fromisoformat(row["date_rapport"]),
        "statut": row["statut"],
        "avancement_pct": int(row["avancement_pct"]) if row["avancement_pct"] else None,
        "commentaire": row["commentaire"] or None,
        "preuve_url": row["preuve_url"] or None,
        "id_organisation": submission.organisation,
        "id_soumission": submission.sha256,
        "date_reception": dt.datetime.fromisoformat(submission.arrived_at.replace("Z", "+00:00"))
        .replace(microsecond=0),
    }


def gather_progress_records(config: DatasetConfig, settings: Settings) -> Tables:
    """The ``suivi`` table rebuilt from the archive: the latest report per action and date.

    Guarantees: every row has a body of the plan as author (unattributed files are never
    accepted, and journals from before that rule are filtered) and names the archived
    file it was read from; withdrawn files contribute nothing; the order of arrival, not of
    reception by this program, decides which report of an action and date is kept."""
    source = source_of(config)
    archive = SubmissionArchive(settings.state_dir / config.slug)
    refuse_samples_over_real(config, archive)
    merged: dict[tuple[str, str], dict[str, object]] = {}
    for submission in archive.accepted(source.sample):
        for row in submission.rows:
            merged[(row["id_action"], row["date_rapport"])] = _typed(row, submission)
    return {"suivi": list(merged.values())}


@dataclass(frozen=True)
class WithdrawnSubmission:
    sha256: str
    file_name: str
    reason: str
    date: str
    accepted: bool


def withdraw_submission(config: DatasetConfig, settings: Settings, submission: str,
                        reason: str) -> WithdrawnSubmission:
    """Records that a received file is withdrawn (its sha256 or a unique prefix); deletes
    nothing. The next publication leaves its rows out and says so in its changelog."""
    archive = SubmissionArchive(settings.state_dir / config.slug)
    if not (archive.root / "journal.jsonl").exists():
        raise ConfigError(f"Aucune soumission n'a été reçue dans {archive.root}.",
                          hint="Vérifiez le dossier d'état (--state-dir) et le jeu de données.")
    with exclusive(archive.root, timeout=settings.lock_timeout, what="Retrait d'une soumission"):
        sha = archive.find(submission)
        done = archive.withdraw(sha, reason, _now())
        accepted = any(e["sha256"] == sha and e["verdict"] == "accepte" for e in archive.receptions())
    return WithdrawnSubmission(done.sha256, done.file_name, done.reason, done.date, accepted)


def withdrawal_notes(config: DatasetConfig, settings: Settings, published: set[str]) -> list[str]:
    """Changelog lines for the withdrawn files whose rows ``published`` (the served
    version's ``id_soumission`` values) still has: the withdrawals this publication applies."""
    if not isinstance(config.source, SubmissionsSource):
        return []
    archive = SubmissionArchive(settings.state_dir / config.slug)
    return [f"soumission retirée : {w.file_name} ({sha[:12]}), motif : {w.reason}"
            for sha, w in sorted(archive.withdrawals().items()) if sha in published]


def plan_references(config: DatasetConfig) -> dict[str, list[dict[str, str]]]:
    """The plan's tables the ``suivi`` foreign keys point at, for checking a build."""
    facts = plan_facts(config)
    return {
        "actions": [{"id_action": a} for a in facts.action_ids],
        "organisations": [{"id_organisation": o} for o in sorted(facts.organisations)],
    }
