"""Publish stage: the progress dashboard's figures, computed from the published tables.

Pure functions from the rows of the published plan (``engagements``, ``ambitions``,
``actions``, ``responsables``, ``organisations``, ``cibles``) and progress (``suivi``,
``suivi_cibles``) to what the home page shows: for each commitment and ambition the actions
by status as of their latest report, the same counts at each report date, one line per
action, and each target with its latest value, the share of the target reached and
whether its deadline has passed. The page
template only lays these figures out, and the browser test compares them with counts it
makes itself from the published files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any

Row = dict[str, Any]

NO_REPORT = "sans_rapport"
NO_REPORT_LABEL = "Sans rapport"
# Presentation only: the order of the OGP IRM completion scale on the page, then the two
# states outside it, and a colour for each. The labels are the schema's (``categories``).
ORDER = ("complet", "substantiel", "limite", "non_commence", "abandonne", "non_evalue", NO_REPORT)
COLOURS = {
    "complet": "#18753c",
    "substantiel": "#0063cb",
    "limite": "#b34000",
    "non_commence": "#3a3a3a",
    "abandonne": "#ce0500",
    "non_evalue": "#6e445a",
    NO_REPORT: "#929292",
}

Scale = tuple[tuple[str, str, str], ...]  # (value, French label, colour), in page order


def status_scale(labels: dict[str, str]) -> Scale:
    """The statuses as the page shows them, from the labels of the ``statut`` field of the
    published schema; a value the page has no place for is an error, not a silent gap."""
    unknown = set(labels) - set(ORDER)
    if unknown:
        raise ValueError(f"statuts sans place sur le tableau de bord : {sorted(unknown)}")
    named = {**labels, NO_REPORT: NO_REPORT_LABEL}
    return tuple((code, named[code], COLOURS[code]) for code in ORDER if code in named)


@dataclass(frozen=True)
class ActionLine:
    """One row of the actions table: the action, its bodies and its latest report (``NO_REPORT`` if none)."""

    id_action: str
    title: str
    id_engagement: str
    id_ambition: str
    bodies: tuple[str, ...]  # organisation ids
    status: str
    progress: int | None
    date: str | None
    comment: str | None
    evidence: str | None
    author: str | None = None  # the body that sent the latest report


@dataclass(frozen=True)
class Group:
    """A commitment or an ambition and its actions counted by status."""

    id: str
    title: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """How many actions the group has, whatever their status."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class BodyView:
    """One body's accountability line: the actions it answers for and their latest report."""

    id: str
    name: str
    actions: list[ActionLine]

    @property
    def without_report(self) -> int:
        return sum(1 for a in self.actions if a.status == NO_REPORT)


@dataclass
class Dashboard:
    """The home page's progress figures, each list in page order, as ``build_dashboard`` computes them."""

    engagements: list[Group] = field(default_factory=list)
    ambitions: list[Group] = field(default_factory=list)
    over_time: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    actions: list[ActionLine] = field(default_factory=list)
    bodies: dict[str, str] = field(default_factory=dict)  # id → name, for the filter
    totals: dict[str, int] = field(default_factory=dict)
    scale: Scale = ()
    by_body: list[BodyView] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # every body of the plan, id → name
    targets: list[TargetLine] = field(default_factory=list)
    targets_by_engagement: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    as_of: str = ""  # the date the deadlines are compared with: the served version's

    @property
    def overdue(self) -> list[TargetLine]:
        """The targets whose deadline has passed without a report showing them reached, by deadline."""
        return sorted(
            (t for t in self.targets if t.state == "echeance_depassee"),
            key=lambda t: (str(t.deadline), t.id_cible),
        )

    @property
    def labels(self) -> dict[str, str]:
        """The French label of each status value, in the scale's order."""
        return {code: label for code, label, _ in self.scale}


def latest_reports(rows: list[Row], as_of: str | None = None, key: str = "id_action") -> dict[str, Row]:
    """The latest report of each action (or of each target, ``key="id_cible"``), dated
    ``as_of`` or before if given."""
    latest: dict[str, Row] = {}
    for row in sorted(rows, key=lambda r: (r[key], r["date_rapport"])):
        if as_of is None or row["date_rapport"] <= as_of:
            latest[row[key]] = row
    return latest


def build_dashboard(
    plan: dict[str, list[Row]],
    suivi: list[Row],
    scale: Scale,
    suivi_cibles: list[Row] | None = None,
    as_of: str = "",
) -> Dashboard:
    """The dashboard's figures from the published plan and progress tables; deadlines are
    compared with ``as_of`` (ISO date)."""

    def _counts(action_ids: list[str], latest: dict[str, Row]) -> dict[str, int]:
        found = Counter(latest[a]["statut"] if a in latest else NO_REPORT for a in action_ids)
        return {code: found.get(code, 0) for code, _, _ in scale}

    actions = sorted(plan["actions"], key=lambda a: a["id_action"])
    latest = latest_reports(suivi)
    bodies: dict[str, list[str]] = {}
    for row in sorted(plan["responsables"], key=lambda r: (r["id_action"], r["ordre"])):
        bodies.setdefault(row["id_action"], []).append(row["id_organisation"])
    dashboard = Dashboard(scale=scale)
    for engagement in sorted(plan["engagements"], key=lambda e: e["id_engagement"]):
        ids = [a["id_action"] for a in actions if a["id_engagement"] == engagement["id_engagement"]]
        dashboard.engagements.append(
            Group(engagement["id_engagement"], engagement["titre"], _counts(ids, latest))
        )
    for ambition in sorted(plan["ambitions"], key=lambda a: a["id_ambition"]):
        ids = [a["id_action"] for a in actions if a["id_ambition"] == ambition["id_ambition"]]
        dashboard.ambitions.append(Group(ambition["id_ambition"], ambition["titre"], _counts(ids, latest)))
    all_ids = [a["id_action"] for a in actions]
    for date in sorted({r["date_rapport"] for r in suivi}):
        dashboard.over_time.append((date, _counts(all_ids, latest_reports(suivi, as_of=date))))
    dashboard.totals = _counts(all_ids, latest)
    for action in actions:
        report = latest.get(action["id_action"])
        dashboard.actions.append(
            ActionLine(
                action["id_action"],
                action["titre"],
                action["id_engagement"],
                action["id_ambition"],
                tuple(bodies.get(action["id_action"], ())),
                report["statut"] if report else NO_REPORT,
                report.get("avancement_pct") if report else None,
                report["date_rapport"] if report else None,
                report.get("commentaire") if report else None,
                report.get("preuve_url") if report else None,
                report.get("id_organisation") if report else None,
            )
        )
    names = {o["id_organisation"]: o["nom"] for o in plan["organisations"]}
    used = sorted({b for line in dashboard.actions for b in line.bodies}, key=lambda b: names.get(b, b))
    dashboard.bodies = {b: names.get(b, b) for b in used}
    dashboard.names = names
    dashboard.by_body = [
        BodyView(b, names.get(b, b), [a for a in dashboard.actions if b in a.bodies]) for b in used
    ]
    dashboard.as_of = as_of
    dashboard.targets = build_targets(plan, suivi_cibles or [], as_of)
    dashboard.targets_by_engagement = target_counts(dashboard.targets, dashboard.engagements)
    return dashboard


# The states of a target on the page, in page order, with a colour each (presentation only).
TARGET_SCALE: Scale = (
    ("atteinte", "Atteinte", "#18753c"),
    ("en_cours", "En cours", "#0063cb"),
    ("echeance_depassee", "Échéance dépassée, non atteinte", "#ce0500"),
    ("sans_rapport", "Sans valeur déclarée", "#929292"),
)


@dataclass(frozen=True)
class TargetLine:
    """One target of the plan and where it stands as of ``as_of`` (the served version's date).

    ``share`` is the part of the way from the baseline (``valeur_initiale``, 0 when the plan
    gives none) to the target that the latest value covers: ``(value − baseline) / (target −
    baseline)``, 1 or more when reached; for a milestone (``jalon``), 1 once reported as
    passed. ``None`` when there is no value yet or the plan states no number to reach."""

    id_cible: str
    id_action: str
    id_engagement: str
    citation: str
    nature: str
    target: float | None
    unit: str | None
    baseline: float | None
    deadline: str | None
    deadline_text: str | None
    value: float | None = None
    date: str | None = None
    author: str | None = None
    evidence: str | None = None
    share: float | None = None
    deadline_passed: bool = False

    @property
    def reached(self) -> bool:
        return self.share is not None and self.share >= 1

    @property
    def state(self) -> str:
        """The target's state on the page: reached, under way, deadline passed unmet, no report."""
        if self.reached:
            return "atteinte"
        if self.deadline_passed:
            return "echeance_depassee"
        return "en_cours" if self.value is not None else "sans_rapport"


def share_reached(
    nature: str, target: float | None, baseline: float | None, value: float | None
) -> float | None:
    """The share of the way to the target that ``value`` covers (see :class:`TargetLine`)."""
    if value is None:
        return None
    if nature == "jalon":
        return 1.0 if value >= 1 else 0.0
    if target is None:
        return None
    start = baseline or 0.0
    if target == start:
        return 1.0 if value >= target else 0.0
    return (value - start) / (target - start)


def build_targets(plan: dict[str, list[Row]], suivi_cibles: list[Row], as_of: str) -> list[TargetLine]:
    """Every target of the plan in identifier order, with its latest reported value."""
    latest = latest_reports(suivi_cibles, key="id_cible")
    engagement_of = {a["id_action"]: a["id_engagement"] for a in plan["actions"]}
    lines = []
    for target in sorted(plan.get("cibles", []), key=lambda t: t["id_cible"]):
        report = latest.get(target["id_cible"])
        value = float(report["valeur_atteinte"]) if report else None
        deadline = target.get("echeance")
        lines.append(
            TargetLine(
                target["id_cible"],
                target["id_action"],
                engagement_of.get(target["id_action"], ""),
                target["citation"],
                target["nature"],
                target.get("valeur"),
                target.get("unite"),
                target.get("valeur_initiale"),
                deadline,
                target.get("echeance_texte"),
                value,
                report["date_rapport"] if report else None,
                report.get("id_organisation") if report else None,
                report.get("preuve_url") if report else None,
                share_reached(target["nature"], target.get("valeur"), target.get("valeur_initiale"), value),
                deadline is not None and str(deadline) < as_of,
            )
        )
    return lines


def target_counts(lines: list[TargetLine], engagements: list[Group]) -> list[tuple[str, dict[str, int]]]:
    """For each commitment (in page order), its targets by state; commitments without targets are left out."""
    rows = []
    for engagement in engagements:
        found = Counter(t.state for t in lines if t.id_engagement == engagement.id)
        if found:
            rows.append((engagement.id, {code: found.get(code, 0) for code, _, _ in TARGET_SCALE}))
    return rows


def stacked_bars_svg(
    rows: list[tuple[str, dict[str, int]]], chart_id: str, title: str, statuses: Scale, label_width: int = 90
) -> str:
    """Horizontal stacked bars, one per row, as inline SVG with a title and a description.

    The numbers themselves are in the table that follows each chart on the page (its
    text alternative); the SVG repeats the total at the end of each bar.
    """
    bar, gap, width = 22, 10, 640
    scale = (width - label_width - 50) / max((sum(c.values()) for _, c in rows), default=1)
    height = len(rows) * (bar + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-labelledby="{chart_id}-titre {chart_id}-desc" class="graphique">',
        f'<title id="{chart_id}-titre">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">Les valeurs sont reprises dans le tableau qui suit.</desc>',
    ]
    for index, (label, counts) in enumerate(rows):
        y = gap + index * (bar + gap)
        parts.append(
            f'<text x="0" y="{y + bar * 0.7:.1f}" font-size="13" fill="#161616">{escape(label)}</text>'
        )
        x = float(label_width)
        for code, status, colour in statuses:
            n = counts.get(code, 0)
            if n:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{n * scale:.1f}" height="{bar}" '
                    f'fill="{colour}" data-statut="{code}" data-nombre="{n}">'
                    f"<title>{escape(label)} : {n} {escape(status.lower())}</title></rect>"
                )
                x += n * scale
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + bar * 0.7:.1f}" font-size="13" fill="#161616">'
            f"{sum(counts.values())}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
