"""Gather stage: the progress dataset's ``suivi`` and ``suivi_cibles`` rows, rebuilt from the archive alone.

Every accepted, attributed, not withdrawn reception in reception order, a later report of
the same action (or target) and date replacing an earlier one; a later report identical
to the one it would replace leaves the earlier in place (it says nothing new, and the
published row keeps naming the file that first said it). Each row says which file it was
read from (``id_soumission``) and when the pipeline received that file
(``date_reception``). Deleting the published output loses nothing.

The same merge tells what each reception contributes (``ReceptionEffect``): how many of
its rows are published now, which later file replaced the others, which earlier file
already said the same. A file accepted but without effect is never silent: the run, the
status and the campaign page say so from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipelines.core.config import DatasetConfig, Settings
from pipelines.gather.plan.tables import Tables
from pipelines.gather.submissions.plan_facts import source_of
from pipelines.state.archive import AcceptedSubmission, SubmissionArchive
from pipelines.state.journal import Reception
from pipelines.state.samples import refuse_over_real_state

Row = dict[str, str]
# The fields of a report that say something (not its key, not its provenance).
_PROGRESS_KEY = ("id_action", "date_rapport")
_TARGET_KEY = ("id_cible", "date_rapport")


@dataclass
class ReceptionEffect:
    """What one accepted reception contributes to the published tables, now."""

    reception: Reception
    organisation: str
    rows: int = 0  # progress rows and target values it carried
    published: int = 0  # of them, published now under its name
    replaced_by: dict[int, int] = field(default_factory=dict)  # later reception n → rows
    identical_to: dict[int, int] = field(default_factory=dict)  # earlier reception n → rows

    @property
    def without_effect(self) -> bool:
        """Accepted, yet nothing of it is published (all replaced, or all said before)."""
        return self.rows > 0 and self.published == 0


@dataclass
class Merged:
    """The merge of a campaign's accepted receptions: the winning row of each key with the
    submission it came from, and each reception's effect (by journal line)."""

    progress: dict[tuple[str, str], tuple[Row, AcceptedSubmission]] = field(default_factory=dict)
    targets: dict[tuple[str, str], tuple[Row, AcceptedSubmission]] = field(default_factory=dict)
    effects: dict[int, ReceptionEffect] = field(default_factory=dict)

    def effect_of(self, reception: Reception) -> ReceptionEffect | None:
        return self.effects.get(reception.n)

    def add(self, submission: AcceptedSubmission) -> ReceptionEffect:
        """Merges one more accepted reception, after every one merged so far; its effect."""
        effect = self.effects[submission.reception.n] = ReceptionEffect(
            submission.reception, submission.organisation
        )
        _merge_into(self.progress, submission.rows, _PROGRESS_KEY, submission, self.effects)
        _merge_into(self.targets, submission.target_rows, _TARGET_KEY, submission, self.effects)
        return effect


def _same(a: Row, b: Row, key: tuple[str, ...]) -> bool:
    return {k: v for k, v in a.items() if k not in key} == {k: v for k, v in b.items() if k not in key}


def _merge_into(
    table: dict[tuple[str, str], tuple[Row, AcceptedSubmission]],
    rows: Iterable[Row],
    key_fields: tuple[str, str],
    submission: AcceptedSubmission,
    effects: dict[int, ReceptionEffect],
) -> None:
    mine = effects[submission.reception.n]
    for row in rows:
        mine.rows += 1
        key = (row[key_fields[0]], row[key_fields[1]])
        known = table.get(key)
        if known is not None:
            earlier = known[1]
            if _same(known[0], row, key_fields) and earlier.organisation == submission.organisation:
                n = earlier.reception.n
                mine.identical_to[n] = mine.identical_to.get(n, 0) + 1
                continue
            previous = effects[earlier.reception.n]
            previous.published -= 1
            previous.replaced_by[submission.reception.n] = (
                previous.replaced_by.get(submission.reception.n, 0) + 1
            )
        table[key] = (row, submission)
        mine.published += 1


def merge_submissions(submissions: Iterable[AcceptedSubmission]) -> Merged:
    """The merge of accepted receptions given in reception order (``SubmissionArchive.accepted``)."""
    merged = Merged()
    for submission in submissions:
        merged.effects[submission.reception.n] = ReceptionEffect(
            submission.reception, submission.organisation
        )
        _merge_into(merged.progress, submission.rows, _PROGRESS_KEY, submission, merged.effects)
        _merge_into(merged.targets, submission.target_rows, _TARGET_KEY, submission, merged.effects)
    return merged


def merge_archive(archive: SubmissionArchive, sample: bool) -> Merged:
    return merge_submissions(archive.accepted(sample))


def _received(submission: AcceptedSubmission) -> dt.datetime:
    """When the file was received, to the second (a published datetime)."""
    moment = dt.datetime.fromisoformat(submission.arrived_at.replace("Z", "+00:00"))
    return moment.replace(microsecond=0)


def _typed(row: Row, submission: AcceptedSubmission, received: dt.datetime) -> dict[str, object]:
    return {
        "id_action": row["id_action"],
        "date_rapport": dt.date.fromisoformat(row["date_rapport"]),
        "statut": row["statut"],
        "avancement_pct": int(row["avancement_pct"]) if row["avancement_pct"] else None,
        "commentaire": row["commentaire"] or None,
        "preuve_url": row["preuve_url"] or None,
        "id_organisation": submission.organisation,
        "id_soumission": submission.sha256,
        "date_reception": received,
    }


def _typed_target(row: Row, submission: AcceptedSubmission, received: dt.datetime) -> dict[str, object]:
    value = float(row["valeur_atteinte"])
    return {
        "id_cible": row["id_cible"],
        "date_rapport": dt.date.fromisoformat(row["date_rapport"]),
        "valeur_atteinte": int(value) if value.is_integer() else value,
        "commentaire": row.get("commentaire") or None,
        "preuve_url": row.get("preuve_url") or None,
        "id_organisation": submission.organisation,
        "id_soumission": submission.sha256,
        "date_reception": received,
    }


def gather_progress_records(config: DatasetConfig, settings: Settings) -> Tables:
    """The ``suivi`` (and ``suivi_cibles``) tables rebuilt from the archive.

    ``config`` is the progress dataset as the campaign resolved it. Guarantees: every row
    has a body of the plan as author (unattributed files are never accepted, and journals
    from before that rule are filtered) and names the archived file it was read from;
    withdrawn files contribute nothing; the reception order decides which report of an
    action and date is kept."""
    source = source_of(config)
    archive = SubmissionArchive(settings.state_dir / config.slug)
    refuse_over_real_state(config, archive.root, archive.has_real_submissions())
    merged = merge_archive(archive, source.sample)
    times: dict[int, dt.datetime] = {}

    def received(submission: AcceptedSubmission) -> dt.datetime:
        n = submission.reception.n
        if n not in times:
            times[n] = _received(submission)
        return times[n]

    tables: Tables = {"suivi": [_typed(row, s, received(s)) for row, s in merged.progress.values()]}
    if "suivi_cibles" in config.tables:
        tables["suivi_cibles"] = [_typed_target(row, s, received(s)) for row, s in merged.targets.values()]
    return tables


def withdrawal_notes(config: DatasetConfig, settings: Settings, published: set[str]) -> list[str]:
    """Changelog lines for the withdrawn files whose rows ``published`` (the served
    version's ``id_soumission`` values) still has: the withdrawals this publication applies."""
    if config.source.kind != "submissions":
        return []
    archive = SubmissionArchive(settings.state_dir / config.slug)
    return [
        f"soumission retirée : {w.file_name} ({sha[:12]}), motif : {w.reason}"
        for sha, w in sorted(archive.withdrawals().items())
        if sha in published
    ]
