"""Gather stage: the progress dataset's flat tables, derived from the plan and the progress rows.

What a spreadsheet user asks in one table, computed once, here, and published like any
table (the dashboard reads them; nothing recomputes them):

- ``vue_actions``: one row per action of the plan (all of them), its titles, its bodies
  (the lead first: ``ordre`` 1 of ``responsables``), its latest report and its targets
  counted, reached and overdue;
- ``vue_cibles``: one row per target of the plan, its caveats, its latest value, the
  share of the way it covers and its state as of the version's date;
- ``soumissions``: one row per received file whose rows are published or that was
  withdrawn (and the rejected ones when the dataset says so).

The latest report of an action (or value of a target) is the one rule of the status and
the pages: the latest ``date_rapport``, ties broken by reception order (``date_reception``,
then the order rows were merged in). Deadlines are compared with the version's date
(``publication_date``), never with the day the table is read: the same inputs under the
same date give the same bytes. Pure functions but ``gather_progress_tables``, which reads
the archive (through ``ledger``) and the plan.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pipelines.core.clock import publication_date
from pipelines.core.config import DatasetConfig, Settings
from pipelines.core.errors import ConfigError
from pipelines.core.schema import load_schema
from pipelines.core.vocabulary import labels
from pipelines.gather.plan.tables import Tables
from pipelines.gather.submissions.ledger import ReceivedFile, received_files
from pipelines.gather.submissions.plan_facts import plan_tables, source_of
from pipelines.gather.submissions.records import gather_progress_records
from pipelines.state.archive import SubmissionArchive

Row = dict[str, Any]

ACTIONS_VIEW = "vue_actions"
TARGETS_VIEW = "vue_cibles"
FILES = "soumissions"
VIEWS = (ACTIONS_VIEW, TARGETS_VIEW, FILES)

NO_REPORT = "sans_rapport"  # an action without a report, a target without a value
REACHED = "atteinte"
UNDER_WAY = "en_cours"
OVERDUE = "echeance_depassee"
MILESTONE = "jalon"
SEPARATOR = " ; "  # between the bodies of an action in one cell


def latest_by(rows: Iterable[Row], key: str, as_of: Any = None) -> dict[str, Row]:
    """The latest row of each ``key`` value (an action, a target): the latest
    ``date_rapport``, ties broken by reception (``date_reception``, then the order of
    ``rows``, which is the merge order); with ``as_of``, among the rows dated then or before.

    Works on typed rows (dates) and on published JSON rows (ISO text) alike, as long as
    ``as_of`` is of the same kind."""
    latest: dict[str, tuple[tuple[Any, str], Row]] = {}
    for row in rows:
        if as_of is not None and row["date_rapport"] > as_of:
            continue
        order = (row["date_rapport"], str(row.get("date_reception") or ""))
        known = latest.get(row[key])
        if known is None or order >= known[0]:
            latest[row[key]] = (order, row)
    return {k: row for k, (_, row) in latest.items()}


def share_reached(
    nature: str, target: float | None, baseline: float | None, value: float | None
) -> float | None:
    """The share of the way from the baseline (0 when the plan gives none) to the target
    that ``value`` covers: ``(value − baseline) / (target − baseline)``, 1 or more when
    reached; for a milestone, 1 once passed, 0 before. ``None`` without a value, or when
    the plan states no number to reach."""
    if value is None:
        return None
    if nature == MILESTONE:
        return 1.0 if value >= 1 else 0.0
    if target is None:
        return None
    start = baseline or 0.0
    if target == start:
        return 1.0 if value >= target else 0.0
    return (value - start) / (target - start)


def target_state(share: float | None, value: float | None, deadline_passed: bool) -> str:
    """Reached (a share of 1 or more), deadline passed unmet, under way (a value), no value."""
    if share is not None and share >= 1:
        return REACHED
    if deadline_passed:
        return OVERDUE
    return UNDER_WAY if value is not None else NO_REPORT


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def derive_target_view(
    plan: Tables, suivi_cibles: list[Row], as_of: dt.date | str, state_labels: Mapping[str, str]
) -> list[Row]:
    """``vue_cibles``: every target of the plan with its latest value and state as of ``as_of``
    (a date, or its ISO text for rows read back from JSON).

    Without a value, a target whose baseline already reaches it (the plan says it was met
    when published) has a share of 1; its value columns stay empty."""
    latest = latest_by(suivi_cibles, "id_cible")
    actions = {a["id_action"]: a for a in plan["actions"]}
    names = {o["id_organisation"]: o["nom"] for o in plan["organisations"]}
    rows = []
    for target in sorted(plan.get("cibles", []), key=lambda t: t["id_cible"]):
        report = latest.get(target["id_cible"])
        value = _number(report["valeur_atteinte"]) if report else None
        goal, baseline = _number(target["valeur"]), _number(target["valeur_initiale"])
        share = share_reached(target["nature"], goal, baseline, value)
        if report is None and goal is not None and baseline is not None and baseline >= goal:
            share = 1.0
        deadline = target["echeance"]
        passed = deadline is not None and deadline < as_of
        state = target_state(share, value, passed)
        action = actions[target["id_action"]]
        author = report.get("id_organisation") if report else None
        rows.append(
            {
                "id_cible": target["id_cible"],
                "id_action": target["id_action"],
                "titre_action": action["titre"],
                "id_engagement": action["id_engagement"],
                **{
                    k: target.get(k)
                    for k in (
                        "citation",
                        "nature",
                        "valeur",
                        "valeur_max",
                        "valeur_approchee",
                        "valeur_initiale",
                        "unite",
                        "echeance",
                        "echeance_texte",
                        "type_echeance",
                        "source_echeance",
                    )
                },
                "valeur_atteinte": report["valeur_atteinte"] if report else None,
                "date_rapport": report["date_rapport"] if report else None,
                "preuve_url": report.get("preuve_url") if report else None,
                "id_organisation_declarante": author,
                "nom_organisation_declarante": names.get(author) if author else None,
                "id_soumission": report.get("id_soumission") if report else None,
                "date_reception": report.get("date_reception") if report else None,
                "part_atteinte": share,
                "echeance_depassee": passed,
                "etat": state,
                "etat_libelle": state_labels[state],
            }
        )
    return rows


def derive_action_view(
    plan: Tables, suivi: list[Row], targets: list[Row], status_labels: Mapping[str, str]
) -> list[Row]:
    """``vue_actions``: every action of the plan with its bodies, latest report and targets.

    ``targets`` are the rows of ``vue_cibles`` (their states are counted, not recomputed)."""
    latest = latest_by(suivi, "id_action")
    reports = Counter(r["id_action"] for r in suivi)
    names = {o["id_organisation"]: o["nom"] for o in plan["organisations"]}
    joined = [name for name in names.values() if SEPARATOR.strip() in name]
    if joined:  # the list of an action's bodies could no longer be split back
        raise ConfigError(
            f"Nom d'organisme contenant « {SEPARATOR.strip()} » : {joined[0]}.",
            hint="Le point-virgule sépare les organismes d'une action dans vue_actions : "
            "retirez-le du nom dans reference/organisations.yaml du plan.",
        )
    ambitions = {a["id_ambition"]: a["titre"] for a in plan["ambitions"]}
    engagements = {e["id_engagement"]: e["titre"] for e in plan["engagements"]}
    bodies: dict[str, list[str]] = {}
    for row in sorted(plan["responsables"], key=lambda r: (r["id_action"], r["ordre"])):
        bodies.setdefault(row["id_action"], []).append(row["id_organisation"])
    states: dict[str, Counter[str]] = {}
    for target in targets:
        states.setdefault(target["id_action"], Counter())[target["etat"]] += 1
    rows = []
    for action in sorted(plan["actions"], key=lambda a: a["id_action"]):
        ident = action["id_action"]
        responsible = bodies[ident]
        report = latest.get(ident)
        status = report["statut"] if report else NO_REPORT
        author = report.get("id_organisation") if report else None
        counted = states.get(ident, Counter())
        rows.append(
            {
                "id_action": ident,
                "titre_action": action["titre"],
                "id_ambition": action["id_ambition"],
                "titre_ambition": ambitions[action["id_ambition"]],
                "id_engagement": action["id_engagement"],
                "titre_engagement": engagements[action["id_engagement"]],
                "id_organisation_pilote": responsible[0],
                "nom_organisation_pilote": names[responsible[0]],
                "ids_organisations_responsables": SEPARATOR.join(responsible),
                "noms_organisations_responsables": SEPARATOR.join(names[b] for b in responsible),
                "nombre_responsables": len(responsible),
                "nombre_rapports": reports.get(ident, 0),
                "date_rapport": report["date_rapport"] if report else None,
                "statut": status,
                "statut_libelle": status_labels[status],
                "avancement_pct": report.get("avancement_pct") if report else None,
                "commentaire": report.get("commentaire") if report else None,
                "preuve_url": report.get("preuve_url") if report else None,
                "id_organisation_declarante": author,
                "nom_organisation_declarante": names.get(author) if author else None,
                "id_soumission": report.get("id_soumission") if report else None,
                "date_reception": report.get("date_reception") if report else None,
                "nombre_cibles": sum(counted.values()),
                "cibles_atteintes": counted.get(REACHED, 0),
                "cibles_echeance_depassee": counted.get(OVERDUE, 0),
            }
        )
    return rows


def derive_files(
    files: list[ReceivedFile], suivi: list[Row], suivi_cibles: list[Row], names: Mapping[str, str]
) -> list[Row]:
    """``soumissions``: the files whose rows are published now or that were withdrawn (and
    the rejected files ``files`` holds), with their rows accepted and published.

    A body that is no body of the plan (a rejected file's folder) is left empty."""
    published = Counter(r.get("id_soumission") for r in suivi)
    published_targets = Counter(r.get("id_soumission") for r in suivi_cibles)
    rows = []
    for file in files:
        if file.accepted and not (
            published[file.sha256] or published_targets[file.sha256] or file.withdrawn_at
        ):
            continue  # every row replaced by later reports: nothing of it is published
        body = file.organisation if file.organisation in names else None
        rows.append(
            {
                "id_soumission": file.sha256,
                "id_organisation": body,
                "nom_organisation": names[body] if body else None,
                "date_reception": file.arrived_at,
                "porte": file.door,
                "verdict": "accepte" if file.accepted else "rejete",
                "lignes_acceptees_suivi": file.rows,
                "lignes_acceptees_cibles": file.target_rows,
                "lignes_publiees_suivi": published[file.sha256],
                "lignes_publiees_cibles": published_targets[file.sha256],
                "date_retrait": file.withdrawn_at,
                "motif_retrait": file.withdrawal_reason,
            }
        )
    return rows


def derive_views(
    plan: Tables,
    progress: Tables,
    files: list[ReceivedFile],
    as_of: dt.date | str,
    schemas: Mapping[str, Mapping[str, Any]],
) -> Tables:
    """The three flat tables from the plan's rows, the progress rows (``suivi``,
    ``suivi_cibles``) and the received files; the French labels are those of the views'
    own schemas (``categories`` of ``statut`` and ``etat``)."""
    suivi, suivi_cibles = progress["suivi"], progress.get("suivi_cibles", [])
    targets = derive_target_view(plan, suivi_cibles, as_of, labels(dict(schemas[TARGETS_VIEW]), "etat"))
    names = {o["id_organisation"]: o["nom"] for o in plan["organisations"]}
    return {
        ACTIONS_VIEW: derive_action_view(plan, suivi, targets, labels(dict(schemas[ACTIONS_VIEW]), "statut")),
        TARGETS_VIEW: targets,
        FILES: derive_files(files, suivi, suivi_cibles, names),
    }


def gather_progress_tables(config: DatasetConfig, settings: Settings) -> Tables:
    """The progress dataset's tables: ``suivi`` and ``suivi_cibles`` rebuilt from the archive
    (``gather_progress_records``), then the flat tables the dataset lists, as of the date
    the version will be published under."""
    tables = gather_progress_records(config, settings)
    wanted = [name for name in VIEWS if name in config.tables]
    if not wanted:
        return tables
    source = source_of(config)
    files = received_files(
        SubmissionArchive(settings.state_dir / config.slug),
        source.sample,
        rejected=source.list_rejected_files,
    )
    schemas = {name: load_schema(settings.schemas_dir, name) for name in (ACTIONS_VIEW, TARGETS_VIEW)}
    views = derive_views(
        plan_tables(config),
        tables,
        files,
        dt.date.fromisoformat(publication_date()),
        schemas,
    )
    return {**tables, **{name: views[name] for name in wanted}}
