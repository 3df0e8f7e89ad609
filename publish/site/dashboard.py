"""Publish stage: the progress dashboard's figures, read from the published flat tables.

The states are computed once, when the progress dataset is built
(``pipelines.gather.submissions.views``): each action's latest report is a row of
``vue_actions``, each target's latest value, share reached and state a row of
``vue_cibles``. Here they are only grouped and counted for the home page: for each
commitment and ambition the actions by status, the same counts at each report date (the
one « latest report » rule, applied to ``suivi`` as of each date), one line per action and
per target. The page template only lays these figures out, and the browser test compares
them with counts it makes itself from the published files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any

from pipelines.gather.submissions.views import NO_REPORT, OVERDUE, REACHED, SEPARATOR, latest_by

Row = dict[str, Any]

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
    """One row of the actions table: a row of ``vue_actions`` (status ``NO_REPORT`` if none)."""

    id_action: str
    title: str
    id_engagement: str
    id_ambition: str
    bodies: tuple[str, ...]  # organisation ids, the lead first
    status: str
    progress: int | None
    date: str | None
    comment: str | None
    evidence: str | None
    author: str | None = None  # the body that sent the latest report

    @classmethod
    def of(cls, row: Row) -> ActionLine:
        return cls(
            row["id_action"],
            row["titre_action"],
            row["id_engagement"],
            row["id_ambition"],
            tuple(row["ids_organisations_responsables"].split(SEPARATOR)),
            row["statut"],
            row.get("avancement_pct"),
            row.get("date_rapport"),
            row.get("commentaire"),
            row.get("preuve_url"),
            row.get("id_organisation_declarante"),
        )


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


@dataclass(frozen=True)
class TargetLine:
    """One target of the plan and where it stands as of the served version's date: a row
    of ``vue_cibles`` (its share and state as that table computed them)."""

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
    state: str = NO_REPORT
    upper: float | None = None  # the upper bound of a range (« entre 10 et 20 »)
    approximate: bool = False  # an order of magnitude (« une quarantaine »)
    deadline_kind: str | None = None  # echeance, or debut (« à partir de »)
    deadline_source: str | None = None  # texte, document, hors_document

    @classmethod
    def of(cls, row: Row) -> TargetLine:
        return cls(
            row["id_cible"],
            row["id_action"],
            row["id_engagement"],
            row["citation"],
            row["nature"],
            row.get("valeur"),
            row.get("unite"),
            row.get("valeur_initiale"),
            row.get("echeance"),
            row.get("echeance_texte"),
            row.get("valeur_atteinte"),
            row.get("date_rapport"),
            row.get("id_organisation_declarante"),
            row.get("preuve_url"),
            row.get("part_atteinte"),
            bool(row.get("echeance_depassee")),
            row["etat"],
            row.get("valeur_max"),
            bool(row.get("valeur_approchee")),
            row.get("type_echeance"),
            row.get("source_echeance"),
        )

    @property
    def reached(self) -> bool:
        return self.state == REACHED


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
    names: dict[str, str] = field(default_factory=dict)  # every body named by the tables, id → name
    targets: list[TargetLine] = field(default_factory=list)
    targets_by_engagement: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    as_of: str = ""  # the date the deadlines were compared with: the served version's

    @property
    def overdue(self) -> list[TargetLine]:
        """The targets whose deadline has passed without a report showing them reached, by deadline."""
        return sorted(
            (t for t in self.targets if t.state == OVERDUE),
            key=lambda t: (str(t.deadline), t.id_cible),
        )

    @property
    def labels(self) -> dict[str, str]:
        """The French label of each status value, in the scale's order."""
        return {code: label for code, label, _ in self.scale}


def body_names(vue_actions: list[Row]) -> dict[str, str]:
    """Every body ``vue_actions`` names (responsible or reporting), id → name."""
    names: dict[str, str] = {}
    for row in vue_actions:
        ids = row["ids_organisations_responsables"].split(SEPARATOR)
        names.update(zip(ids, row["noms_organisations_responsables"].split(SEPARATOR), strict=True))
        if row.get("id_organisation_declarante"):
            names[row["id_organisation_declarante"]] = row["nom_organisation_declarante"]
    return names


def build_dashboard(
    vue_actions: list[Row],
    vue_cibles: list[Row],
    suivi: list[Row],
    scale: Scale,
    as_of: str = "",
) -> Dashboard:
    """The dashboard's figures from the published flat tables (``vue_actions``, ``vue_cibles``)
    and, for the counts at each report date, ``suivi``; ``as_of`` is the date the tables
    compared deadlines with (the served version's)."""

    def _counts(statuses: list[str]) -> dict[str, int]:
        found = Counter(statuses)
        return {code: found.get(code, 0) for code, _, _ in scale}

    rows = sorted(vue_actions, key=lambda r: r["id_action"])
    dashboard = Dashboard(scale=scale, as_of=as_of)
    dashboard.actions = [ActionLine.of(r) for r in rows]
    engagements = sorted({(r["id_engagement"], r["titre_engagement"]) for r in rows})
    for ident, title in engagements:
        statuses = [r["statut"] for r in rows if r["id_engagement"] == ident]
        dashboard.engagements.append(Group(ident, title, _counts(statuses)))
    for ident, title in sorted({(r["id_ambition"], r["titre_ambition"]) for r in rows}):
        statuses = [r["statut"] for r in rows if r["id_ambition"] == ident]
        dashboard.ambitions.append(Group(ident, title, _counts(statuses)))
    ids = [r["id_action"] for r in rows]
    for date in sorted({r["date_rapport"] for r in suivi}):
        then = latest_by(suivi, "id_action", as_of=date)
        dashboard.over_time.append(
            (date, _counts([then[a]["statut"] if a in then else NO_REPORT for a in ids]))
        )
    dashboard.totals = _counts([r["statut"] for r in rows])
    names = body_names(rows)
    used = sorted({b for line in dashboard.actions for b in line.bodies}, key=lambda b: names.get(b, b))
    dashboard.bodies = {b: names.get(b, b) for b in used}
    dashboard.names = names
    dashboard.by_body = [
        BodyView(b, names.get(b, b), [a for a in dashboard.actions if b in a.bodies]) for b in used
    ]
    dashboard.targets = [TargetLine.of(r) for r in sorted(vue_cibles, key=lambda r: r["id_cible"])]
    dashboard.targets_by_engagement = target_counts(dashboard.targets, dashboard.engagements)
    return dashboard


# The states of a target on the page, in page order, with a colour each (presentation only;
# the labels are those of vue_cibles's etat).
TARGET_SCALE: Scale = (
    (REACHED, "Atteinte", "#18753c"),
    ("en_cours", "En cours", "#0063cb"),
    (OVERDUE, "Échéance dépassée, non atteinte", "#ce0500"),
    (NO_REPORT, "Sans valeur déclarée", "#929292"),
)


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
