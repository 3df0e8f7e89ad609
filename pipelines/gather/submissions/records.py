"""Gather stage: the progress dataset's ``suivi`` and ``suivi_cibles`` rows, rebuilt from the archive alone.

Every accepted, attributed, not withdrawn submission in arrival order (the file's
modification time in the inbox, the fetch time over HTTP), a later report of the same
action (or target) and date replacing an earlier one. Each row says which file it was read from
(``id_soumission``) and when that file arrived (``date_reception``). Deleting the published
output loses nothing. Sample submissions exist for a first ``make run`` only: a state folder
that has received real submissions never collects or publishes them.
"""

from __future__ import annotations

import datetime as dt

from pipelines.core.config import DatasetConfig, Settings, SubmissionsSource
from pipelines.core.errors import ConfigError
from pipelines.gather.plan.tables import Tables
from pipelines.gather.submissions.plan_facts import source_of
from pipelines.state.archive import AcceptedSubmission, SubmissionArchive


class SamplesOverRealData(ConfigError):
    """A run would put the invented samples where real submissions were received or published."""


def samples_refusal(config: DatasetConfig, where: str) -> SamplesOverRealData:
    """The error that stops a sample run, ``where`` saying (in French) what real data it would replace.

    The caller raises it: the state folder and output folder checks share its message and hint."""
    return SamplesOverRealData(
        f"{config.slug} : {where} ; cette exécution publierait à leur place les soumissions "
        "d'exemple (inventées). Rien n'a été écrit.",
        hint="Indiquez la boîte de dépôt réelle : OGP_SUBMISSIONS_INBOX=/chemin/de/la/boite "
        "ogp run … (une tâche planifiée doit définir cette variable elle aussi). Pour une "
        "démonstration sur les exemples, utilisez un autre --out et un autre --state-dir.",
    )


def refuse_samples_over_real(config: DatasetConfig, archive: SubmissionArchive) -> None:
    """Stops a sample run on a state folder that has received real submissions (reads, and
    so caches, the archive's journal: give it a fresh archive, or one under the lock)."""
    source = config.source
    if isinstance(source, SubmissionsSource) and source.sample and archive.has_real_submissions():
        raise samples_refusal(config, f"le dossier d'état {archive.root} a reçu des soumissions réelles")


def _typed(row: dict[str, str], submission: AcceptedSubmission, arrived: dt.datetime) -> dict[str, object]:
    return {
        "id_action": row["id_action"],
        "date_rapport": dt.date.fromisoformat(row["date_rapport"]),
        "statut": row["statut"],
        "avancement_pct": int(row["avancement_pct"]) if row["avancement_pct"] else None,
        "commentaire": row["commentaire"] or None,
        "preuve_url": row["preuve_url"] or None,
        "id_organisation": submission.organisation,
        "id_soumission": submission.sha256,
        "date_reception": arrived,
    }


def _typed_target(
    row: dict[str, str], submission: AcceptedSubmission, arrived: dt.datetime
) -> dict[str, object]:
    value = float(row["valeur_atteinte"])
    return {
        "id_cible": row["id_cible"],
        "date_rapport": dt.date.fromisoformat(row["date_rapport"]),
        "valeur_atteinte": int(value) if value.is_integer() else value,
        "commentaire": row.get("commentaire") or None,
        "preuve_url": row.get("preuve_url") or None,
        "id_organisation": submission.organisation,
        "id_soumission": submission.sha256,
        "date_reception": arrived,
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
    targets: dict[tuple[str, str], dict[str, object]] = {}
    for submission in archive.accepted(source.sample):
        # The arrival to the second (a published datetime), once per file, not per row.
        arrived = dt.datetime.fromisoformat(submission.arrived_at.replace("Z", "+00:00")).replace(
            microsecond=0
        )
        for row in submission.rows:
            merged[(row["id_action"], row["date_rapport"])] = _typed(row, submission, arrived)
        for row in submission.target_rows:
            targets[(row["id_cible"], row["date_rapport"])] = _typed_target(row, submission, arrived)
    tables: Tables = {"suivi": list(merged.values())}
    if "suivi_cibles" in config.tables:
        tables["suivi_cibles"] = list(targets.values())
    return tables


def withdrawal_notes(config: DatasetConfig, settings: Settings, published: set[str]) -> list[str]:
    """Changelog lines for the withdrawn files whose rows ``published`` (the served
    version's ``id_soumission`` values) still has: the withdrawals this publication applies."""
    if not isinstance(config.source, SubmissionsSource):
        return []
    archive = SubmissionArchive(settings.state_dir / config.slug)
    return [
        f"soumission retirée : {w.file_name} ({sha[:12]}), motif : {w.reason}"
        for sha, w in sorted(archive.withdrawals().items())
        if sha in published
    ]
