"""Gather stage: the progress dataset's records, from submissions received and archived.

Two steps with different guarantees:

- ``collect_submissions`` receives what is new in the inbox and at the configured URLs,
  archives every file byte for byte, validates it and archives its report. A rejected
  file changes nothing published; a source that cannot be read is reported as a failure.
- ``gather_progress_records`` rebuilds the ``suivi`` table from the archive alone: every
  accepted submission in reception order, a later report of the same action and date
  replacing an earlier one. Deleting the published output loses nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pipelines.archive import SubmissionArchive
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


class ProgressContext:
    """The progress dataset's definition, the plan it refers to and the submission schema,
    read once, for the commands that work on single files: templates and on-demand
    validation (``ogp validate``, the ``valider-soumission`` flow), which archive and
    publish nothing."""

    def __init__(self, settings: Settings) -> None:
        self.config = load_dataset(settings.datasets_dir / PROGRESS_SLUG).for_run(settings)
        self.plan = plan_facts(self.config)
        self.schema = load_schema(settings.schemas_dir, SUBMISSION_SCHEMA)

    def validate_file(self, path: Path, organisation: str | None) -> SubmissionReport:
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


def inbox_files(inbox: Path) -> list[tuple[Path, str | None]]:
    """Files of the inbox in a stable order, with the body named by their sub-folder.

    ``inbox/ditp/rapport.xlsx`` comes from ``ditp``; a file at the top of the inbox from
    an unidentified body (its template may still say who it is).
    """
    found: list[tuple[Path, str | None]] = []
    for path in sorted(inbox.rglob("*")):
        relative = path.relative_to(inbox)
        if not path.is_file() or any(p.startswith(_IGNORED_PREFIXES) for p in relative.parts):
            continue
        if path.name.lower() in _IGNORED_NAMES:
            continue
        organisation = relative.parts[0] if len(relative.parts) > 1 else None
        found.append((path, organisation))
    return found


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
        return _collect(config, settings, archive, today, policy)


def _collect(
    config: DatasetConfig, settings: Settings, archive: SubmissionArchive,
    today: dt.date | None, policy: HttpPolicy | None,
) -> CollectionSummary:
    source = source_of(config)
    schema = load_schema(settings.schemas_dir, SUBMISSION_SCHEMA)
    plan = plan_facts(config)
    today = today or dt.date.today()
    summary = CollectionSummary()
    # Read once: the archive's accepted rows, extended as this collection accepts files.
    history = [h for s in archive.accepted(source.sample) for h in _history_of(s.rows)]
    inbox = config.resolve(source.inbox)
    if not inbox.is_dir():
        summary.failures.append(f"Boîte de dépôt introuvable : {inbox}")
    else:
        label = "exemple" if source.sample else "depot"
        for path, organisation in inbox_files(inbox):
            origin = f"{label}:{path.relative_to(inbox).as_posix()}"
            received = receive_file(path, origin, _now(), organisation, source.limits.max_bytes)
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
        received = Received(name, fetched.content, shown, _now(), http_source.organisation)
        _receive(received, archive, schema, plan, source, today, summary, history)
        validators[shown] = {k: v for k, v in (("etag", fetched.etag),
                                               ("last_modified", fetched.last_modified)) if v}
        archive.save_http_validators(validators)
    return summary


def _typed(row: dict[str, str], organisation: str | None) -> dict[str, object]:
    return {
        "id_action": row["id_action"],
        "date_rapport": dt.date.fromisoformat(row["date_rapport"]),
        "statut": row["statut"],
        "avancement_pct": int(row["avancement_pct"]) if row["avancement_pct"] else None,
        "commentaire": row["commentaire"] or None,
        "preuve_url": row["preuve_url"] or None,
        "id_organisation": organisation,
    }


def gather_progress_records(config: DatasetConfig, settings: Settings) -> Tables:
    """The ``suivi`` table rebuilt from the archive: the latest report per action and date."""
    source = source_of(config)
    archive = SubmissionArchive(settings.state_dir / config.slug)
    merged: dict[tuple[str, str], dict[str, object]] = {}
    for submission in archive.accepted(source.sample):
        for row in submission.rows:
            merged[(row["id_action"], row["date_rapport"])] = _typed(row, submission.organisation)
    return {"suivi": list(merged.values())}


def plan_references(config: DatasetConfig) -> dict[str, list[dict[str, str]]]:
    """The plan's tables the ``suivi`` foreign keys point at, for checking a build."""
    facts = plan_facts(config)
    return {
        "actions": [{"id_action": a} for a in facts.action_ids],
        "organisations": [{"id_organisation": o} for o in sorted(facts.organisations)],
    }
