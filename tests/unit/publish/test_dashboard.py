"""The dashboard's figures from hand-made plan and progress rows, and its colours' contrast."""

from __future__ import annotations

import pytest

from pipelines.core.config import Settings
from pipelines.core.schema import load_schema
from pipelines.core.vocabulary import labels, spellings
from publish.site.dashboard import COLOURS, build_dashboard, latest_reports, status_scale

SCALE = status_scale(labels(load_schema(Settings().schemas_dir, "suivi"), "statut"))

PLAN = {
    "engagements": [{"id_engagement": "E1", "titre": "Un"}, {"id_engagement": "E2", "titre": "Deux"}],
    "ambitions": [{"id_ambition": "E1-A1", "titre": "a"}, {"id_ambition": "E2-A1", "titre": "b"}],
    "actions": [
        {"id_action": "E1-A1-01", "id_engagement": "E1", "id_ambition": "E1-A1", "titre": "x"},
        {"id_action": "E1-A1-02", "id_engagement": "E1", "id_ambition": "E1-A1", "titre": "y"},
        {"id_action": "E2-A1-01", "id_engagement": "E2", "id_ambition": "E2-A1", "titre": "z"},
    ],
    "responsables": [{"id_action": "E1-A1-01", "id_organisation": "ditp", "ordre": 1},
                     {"id_action": "E2-A1-01", "id_organisation": "meae", "ordre": 1}],
    "organisations": [{"id_organisation": "ditp", "nom": "DITP"}, {"id_organisation": "meae", "nom": "MEAE"}],
}
SUIVI = [
    {"id_action": "E1-A1-01", "date_rapport": "2022-06-30", "statut": "limite", "avancement_pct": 20},
    {"id_action": "E1-A1-01", "date_rapport": "2022-12-31", "statut": "complet", "avancement_pct": 100,
     "preuve_url": "https://x.fr"},
    {"id_action": "E2-A1-01", "date_rapport": "2022-09-30", "statut": "abandonne", "avancement_pct": None},
]


def test_latest_status_per_group_and_over_time() -> None:
    dashboard = build_dashboard(PLAN, SUIVI, SCALE)
    counts = {g.id: {k: v for k, v in g.counts.items() if v} for g in dashboard.engagements}
    assert counts == {"E1": {"complet": 1, "sans_rapport": 1}, "E2": {"abandonne": 1}}
    over_time = [(d, {k: v for k, v in c.items() if v}) for d, c in dashboard.over_time]
    assert over_time == [
        ("2022-06-30", {"limite": 1, "sans_rapport": 2}),
        ("2022-09-30", {"limite": 1, "abandonne": 1, "sans_rapport": 1}),
        ("2022-12-31", {"complet": 1, "abandonne": 1, "sans_rapport": 1}),
    ]
    first = dashboard.actions[0]
    assert (first.status, first.progress, first.date, first.evidence) == ("complet", 100, "2022-12-31", "https://x.fr")
    assert dashboard.actions[1].status == "sans_rapport" and dashboard.actions[1].bodies == ()
    assert dashboard.bodies == {"ditp": "DITP", "meae": "MEAE"}
    assert latest_reports(SUIVI, as_of="2022-07-01")["E1-A1-01"]["statut"] == "limite"


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_status_colours_contrast_with_the_white_page() -> None:
    for code, colour in COLOURS.items():
        ratio = (1.05) / (_luminance(colour) + 0.05)
        assert ratio >= 3.0, (code, colour, ratio)  # WCAG 1.4.11, graphical objects


def test_the_labels_come_from_the_schema_in_the_page_order_and_are_the_normalisers_words() -> None:
    assert [(code, label) for code, label, _ in SCALE] == [
        ("complet", "Achevée"), ("substantiel", "Avancement substantiel"), ("limite", "Avancement limité"),
        ("non_commence", "Non commencée"), ("abandonne", "Abandonnée"), ("non_evalue", "Non évaluée"),
        ("sans_rapport", "Sans rapport")]
    for name in ("soumission", "suivi"):
        words = spellings(load_schema(Settings().schemas_dir, name), "statut")
        assert {words[k] for k in ("achevee", "non commencee", "pas commence", "avancement limite")} == {
            "complet", "non_commence", "limite"}
    with pytest.raises(ValueError, match="sans place"):
        status_scale({"en_pause": "En pause"})
