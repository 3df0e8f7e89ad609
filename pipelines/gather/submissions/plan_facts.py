"""Gather stage: the plan facts a progress submission is checked against (its actions, who
answers for each, who may report on each), read from the plan's own snapshot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.config import DatasetConfig, SubmissionsSource, load_dataset
from pipelines.core.errors import ConfigError
from pipelines.gather.plan.records import gather_plan_records
from pipelines.gather.plan.tables import Tables
from pipelines.state.inputs import file_stamps

SUBMISSION_SCHEMA = "soumission"
TARGETS_SUBMISSION_SCHEMA = "soumission-cibles"

PROGRESS_SLUG = "suivi-plan-action-pgo-2021-2023"


@dataclass(frozen=True)
class TargetFact:
    """One target of the plan (its ``cibles`` row), as a report on it is checked and shown."""

    id_cible: str
    id_action: str
    citation: str
    nature: str
    value: float | None = None
    unit: str | None = None
    deadline: str | None = None  # ISO date
    # The plan's caveats (see schemas/cibles.json): a range's upper bound, an approximate
    # value (« une quarantaine »), a date that is a start rather than a deadline.
    upper: float | None = None
    approximate: bool = False
    deadline_kind: str | None = None


@dataclass(frozen=True)
class PlanFacts:
    """What a submission is checked against: the plan's actions and who answers for each."""

    start: dt.date
    action_ids: tuple[str, ...]
    organisations: frozenset[str]
    responsibilities: dict[str, frozenset[str]]  # organisation id → its action ids
    action_titles: dict[str, str] = field(default_factory=dict)
    organisation_names: dict[str, str] = field(default_factory=dict)
    # Bodies entitled to report on an action without being responsible for it (the progress
    # dataset's ``reporters``: organisation id → action ids).
    reporters: dict[str, frozenset[str]] = field(default_factory=dict)
    targets: dict[str, TargetFact] = field(default_factory=dict)  # id_cible → its facts

    def targets_of(self, organisation: str) -> list[TargetFact]:
        """The targets a body may report on: those of the actions it may report on, in identifier order."""
        actions = self.actions_of(organisation)
        return [t for _, t in sorted(self.targets.items()) if t.id_action in actions]

    def actions_of(self, organisation: str) -> frozenset[str]:
        """The actions a body may report on: those it is responsible for, and those the
        dataset declares it a reporter for."""
        return self.responsibilities.get(organisation, frozenset()) | self.reporters.get(
            organisation, frozenset()
        )

    def responsible_for(self, action: str) -> list[str]:
        """The bodies responsible for an action, in identifier order."""
        return sorted(o for o, actions in self.responsibilities.items() if action in actions)


def source_of(config: DatasetConfig) -> SubmissionsSource:
    """The dataset's submissions source; raises ``ConfigError`` if the dataset is not fed by submissions."""
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


def campaign_plan(config: DatasetConfig) -> PlanFacts:
    """The plan facts a progress dataset's files are checked against: the plan's own, with
    the bodies the dataset entitles to report on others' actions. Computed once per run by
    its caller and handed down (collection, status, validation, template)."""
    return with_reporters(plan_facts(config), source_of(config))


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
                + (
                    f"l'action {action} n'existe pas dans le plan"
                    if action not in plan.action_ids
                    else f"organisme(s) inconnu(s) du plan : {', '.join(unknown)}"
                )
                + ".",
                hint="Utilisez les identifiants des tables actions et organisations du plan.",
            )
        for body in bodies:
            reporters.setdefault(body, set()).add(action)
    return dataclasses.replace(plan, reporters={b: frozenset(a) for b, a in reporters.items()})


def plan_tables(config: DatasetConfig) -> Tables:
    """The rows of the plan's tables the progress dataset refers to (a copy of each row:
    the caller may change them), gathered from the plan's own snapshot like ``plan_facts``
    and parsed once per process while its files are unchanged."""
    plan = getattr(config.source, "plan", None)
    if plan is None:
        source_of(config)
    plan_config = load_dataset(config.directory.parent / str(plan))
    records = _plan_records_of(plan_config.directory.resolve(), file_stamps(plan_config))
    return {name: [dict(row) for row in rows] for name, rows in records.items()}


@functools.lru_cache(maxsize=8)
def _plan_records_of(directory: Path, stamps: tuple[tuple[str, int, int], ...]) -> Tables:
    return gather_plan_records(load_dataset(directory))


@functools.lru_cache(maxsize=8)
def _plan_facts_of(directory: Path, stamps: tuple[tuple[str, int, int], ...]) -> PlanFacts:
    plan_config = load_dataset(directory)
    records = _plan_records_of(directory, stamps)
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
        targets={
            r["id_cible"]: TargetFact(
                r["id_cible"],
                r["id_action"],
                r["citation"],
                r["nature"],
                r["valeur"],
                r["unite"],
                r["echeance"].isoformat() if r["echeance"] else None,
                r.get("valeur_max"),
                bool(r.get("valeur_approchee")),
                r.get("type_echeance"),
            )
            for r in records.get("cibles", [])
        },
    )


def plan_references(config: DatasetConfig) -> dict[str, list[dict[str, str]]]:
    """The plan's tables the ``suivi`` and ``suivi_cibles`` foreign keys point at, for checking a build."""
    facts = plan_facts(config)
    return {
        "actions": [{"id_action": a} for a in facts.action_ids],
        "cibles": [{"id_cible": t} for t in sorted(facts.targets)],
        "organisations": [{"id_organisation": o} for o in sorted(facts.organisations)],
    }
