"""The dashboard's figures from hand-made plan and progress rows (through the flat tables
it reads, derived by ``derive_views`` as a build derives them), and its colours' contrast."""

from __future__ import annotations

import pytest

from pipelines.core.config import Settings
from pipelines.core.schema import load_schema
from pipelines.core.vocabulary import labels, spellings
from pipelines.gather.submissions.views import derive_views, latest_by, share_reached
from publish.site.dashboard import (
    COLOURS,
    TARGET_SCALE,
    Dashboard,
    body_names,
    build_dashboard,
    status_scale,
)

SCHEMAS = {name: load_schema(Settings().schemas_dir, name) for name in ("suivi", "vue_actions", "vue_cibles")}
SCALE = status_scale(labels(SCHEMAS["suivi"], "statut"))

PLAN = {
    "engagements": [{"id_engagement": "E1", "titre": "Un"}, {"id_engagement": "E2", "titre": "Deux"}],
    "ambitions": [{"id_ambition": "E1-A1", "titre": "a"}, {"id_ambition": "E2-A1", "titre": "b"}],
    "actions": [
        {"id_action": "E1-A1-01", "id_engagement": "E1", "id_ambition": "E1-A1", "titre": "x"},
        {"id_action": "E1-A1-02", "id_engagement": "E1", "id_ambition": "E1-A1", "titre": "y"},
        {"id_action": "E2-A1-01", "id_engagement": "E2", "id_ambition": "E2-A1", "titre": "z"},
    ],
    "responsables": [
        {"id_action": "E1-A1-01", "id_organisation": "ditp", "ordre": 1},
        {"id_action": "E1-A1-02", "id_organisation": "meae", "ordre": 2},
        {"id_action": "E1-A1-02", "id_organisation": "ditp", "ordre": 1},
        {"id_action": "E2-A1-01", "id_organisation": "meae", "ordre": 1},
    ],
    "organisations": [{"id_organisation": "ditp", "nom": "DITP"}, {"id_organisation": "meae", "nom": "MEAE"}],
}
SUIVI = [
    {"id_action": "E1-A1-01", "date_rapport": "2022-06-30", "statut": "limite", "avancement_pct": 20},
    {
        "id_action": "E1-A1-01",
        "date_rapport": "2022-12-31",
        "statut": "complet",
        "avancement_pct": 100,
        "preuve_url": "https://x.fr",
    },
    {"id_action": "E2-A1-01", "date_rapport": "2022-09-30", "statut": "abandonne", "avancement_pct": None},
]


def dashboard_of(
    plan: dict, suivi: list[dict], values: list[dict] | None = None, as_of: str = "2023-11-14"
) -> Dashboard:
    """The dashboard of published rows (ISO text, as JSON holds them), through the flat tables."""
    views = derive_views(plan, {"suivi": suivi, "suivi_cibles": values or []}, [], as_of, SCHEMAS)
    return build_dashboard(views["vue_actions"], views["vue_cibles"], suivi, SCALE, as_of)


def test_latest_status_per_group_and_over_time() -> None:
    dashboard = dashboard_of({**PLAN, "cibles": []}, SUIVI)
    counts = {g.id: {k: v for k, v in g.counts.items() if v} for g in dashboard.engagements}
    assert counts == {"E1": {"complet": 1, "sans_rapport": 1}, "E2": {"abandonne": 1}}
    over_time = [(d, {k: v for k, v in c.items() if v}) for d, c in dashboard.over_time]
    assert over_time == [
        ("2022-06-30", {"limite": 1, "sans_rapport": 2}),
        ("2022-09-30", {"limite": 1, "abandonne": 1, "sans_rapport": 1}),
        ("2022-12-31", {"complet": 1, "abandonne": 1, "sans_rapport": 1}),
    ]
    first = dashboard.actions[0]
    assert (first.status, first.progress, first.date, first.evidence) == (
        "complet",
        100,
        "2022-12-31",
        "https://x.fr",
    )
    assert dashboard.actions[1].status == "sans_rapport"
    assert dashboard.actions[1].bodies == ("ditp", "meae")  # the lead (ordre 1) first
    assert dashboard.bodies == {"ditp": "DITP", "meae": "MEAE"}
    assert body_names([]) == {}
    assert latest_by(SUIVI, "id_action", as_of="2022-07-01")["E1-A1-01"]["statut"] == "limite"
    assert [(b.id, [a.id_action for a in b.actions], b.without_report) for b in dashboard.by_body] == [
        ("ditp", ["E1-A1-01", "E1-A1-02"], 1),
        ("meae", ["E1-A1-02", "E2-A1-01"], 1),
    ]


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_status_colours_contrast_with_the_white_page() -> None:
    for code, colour in [*COLOURS.items(), *((c, colour) for c, _, colour in TARGET_SCALE)]:
        ratio = (1.05) / (_luminance(colour) + 0.05)
        assert ratio >= 3.0, (code, colour, ratio)  # WCAG 1.4.11, graphical objects


def test_the_labels_come_from_the_schema_in_the_page_order_and_are_the_normalisers_words() -> None:
    assert [(code, label) for code, label, _ in SCALE] == [
        ("complet", "Achevée"),
        ("substantiel", "Avancement substantiel"),
        ("limite", "Avancement limité"),
        ("non_commence", "Non commencée"),
        ("abandonne", "Abandonnée"),
        ("non_evalue", "Non évaluée"),
        ("sans_rapport", "Sans rapport"),
    ]
    for name in ("soumission", "suivi"):
        words = spellings(load_schema(Settings().schemas_dir, name), "statut")
        assert {words[k] for k in ("achevee", "non commencee", "pas commence", "avancement limite")} == {
            "complet",
            "non_commence",
            "limite",
        }
    with pytest.raises(ValueError, match="sans place"):
        status_scale({"en_pause": "En pause"})


TARGETS = [  # a count with a baseline, a share, a milestone, a number without a deadline
    {
        "id_cible": "E1-A1-01-C1",
        "id_action": "E1-A1-01",
        "citation": "40 données au lieu des 23",
        "nature": "volume",
        "valeur": 40,
        "unite": "données",
        "valeur_initiale": 23,
        "echeance": "2022-12-31",
        "echeance_texte": "fin 2022",
    },
    {
        "id_cible": "E1-A1-02-C1",
        "id_action": "E1-A1-02",
        "citation": "80 % d'ici fin 2022",
        "nature": "part",
        "valeur": 80,
        "unite": "%",
        "valeur_initiale": None,
        "echeance": "2022-12-31",
        "echeance_texte": "fin 2022",
    },
    {
        "id_cible": "E2-A1-01-C1",
        "id_action": "E2-A1-01",
        "citation": "en janvier 2022",
        "nature": "jalon",
        "valeur": None,
        "unite": None,
        "valeur_initiale": None,
        "echeance": "2022-01-31",
        "echeance_texte": "janvier 2022",
    },
    {
        "id_cible": "E2-A1-01-C2",
        "id_action": "E2-A1-01",
        "citation": "4 000 conseillers",
        "nature": "effectif",
        "valeur": 4000,
        "unite": "conseillers",
        "valeur_initiale": None,
        "echeance": None,
        "echeance_texte": None,
    },
]
TARGET_VALUES = [
    {
        "id_cible": "E1-A1-01-C1",
        "date_rapport": "2022-06-30",
        "valeur_atteinte": 30,
        "id_organisation": "ditp",
    },
    {
        "id_cible": "E1-A1-01-C1",
        "date_rapport": "2023-03-31",
        "valeur_atteinte": 42,
        "id_organisation": "ditp",
    },
    {
        "id_cible": "E1-A1-02-C1",
        "date_rapport": "2023-06-30",
        "valeur_atteinte": 60,
        "id_organisation": "ditp",
    },
    {
        "id_cible": "E2-A1-01-C2",
        "date_rapport": "2022-12-31",
        "valeur_atteinte": 2500,
        "id_organisation": "meae",
    },
]


def test_targets_latest_value_share_reached_and_deadline() -> None:
    dashboard = dashboard_of({**PLAN, "cibles": TARGETS}, SUIVI, TARGET_VALUES, as_of="2023-11-14")
    lines = {t.id_cible: (t.value, t.date, t.share, t.deadline_passed, t.state) for t in dashboard.targets}
    assert lines == {
        # (42 − 23) / (40 − 23): past the target, reached after its deadline.
        "E1-A1-01-C1": (42.0, "2023-03-31", 19 / 17, True, "atteinte"),
        "E1-A1-02-C1": (60.0, "2023-06-30", 0.75, True, "echeance_depassee"),
        "E2-A1-01-C1": (None, None, None, True, "echeance_depassee"),
        "E2-A1-01-C2": (2500.0, "2022-12-31", 0.625, False, "en_cours"),
    }
    assert [t.id_cible for t in dashboard.overdue] == ["E2-A1-01-C1", "E1-A1-02-C1"]  # by deadline
    assert dashboard.targets_by_engagement == [
        ("E1", {"atteinte": 1, "en_cours": 0, "echeance_depassee": 1, "sans_rapport": 0}),
        ("E2", {"atteinte": 0, "en_cours": 1, "echeance_depassee": 1, "sans_rapport": 0}),
    ]
    # Before the deadlines, nothing is overdue; a milestone reported passed is reached.
    early = dashboard_of(
        {**PLAN, "cibles": TARGETS},
        SUIVI,
        [{"id_cible": "E2-A1-01-C1", "date_rapport": "2022-01-15", "valeur_atteinte": 1}],
        as_of="2022-01-20",
    )
    assert {t.id_cible: t.state for t in early.targets} == {
        "E1-A1-01-C1": "sans_rapport",
        "E1-A1-02-C1": "sans_rapport",
        "E2-A1-01-C1": "atteinte",
        "E2-A1-01-C2": "sans_rapport",
    }
    assert early.overdue == []


def test_share_reached_from_the_baseline_and_for_milestones() -> None:
    assert share_reached("volume", 40, 23, 23) == 0 and share_reached("volume", 40, 23, 40) == 1
    assert share_reached("part", 80, None, 20) == 0.25
    assert share_reached("jalon", None, None, 0) == 0 and share_reached("jalon", None, None, 1) == 1
    assert share_reached("effectif", None, None, 5) is None  # no number to reach
    assert share_reached("effectif", 10, None, None) is None  # no value yet


def test_the_target_states_are_those_of_the_published_table() -> None:
    assert {code: label for code, label, _ in TARGET_SCALE} == labels(SCHEMAS["vue_cibles"], "etat")
    statuses = labels(SCHEMAS["vue_actions"], "statut")
    assert statuses == {**labels(SCHEMAS["suivi"], "statut"), "sans_rapport": "Sans rapport"}
    assert [(code, label) for code, label, _ in status_scale(statuses)] == [(c, w) for c, w, _ in SCALE]
