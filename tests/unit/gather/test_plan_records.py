"""The parsed plan against facts read by hand in the document (shared/sources)."""

from __future__ import annotations

from collections import Counter

import pytest

from pipelines.gather.plan.tables import Tables


def by_id(rows: list[dict], key: str) -> dict[str, dict]:
    return {r[key]: r for r in rows}


def responsibles(records: Tables, id_action: str) -> list[str]:
    rows = [r for r in records["responsables"] if r["id_action"] == id_action]
    return [r["id_organisation"] for r in sorted(rows, key=lambda r: r["ordre"])]


def test_counts_of_the_plan(plan_records: Tables) -> None:
    assert len(plan_records["engagements"]) == 6
    assert len(plan_records["ambitions"]) == 15
    assert len(plan_records["actions"]) == 58


def test_actions_under_each_ambition(plan_records: Tables) -> None:
    # Counted by hand, paragraph by paragraph, in each "Feuille de route".
    expected = {
        "E1-A1": 7,
        "E1-A2": 1,
        "E1-A3": 4,
        "E2-A1": 10,
        "E2-A2": 5,
        "E3-A1": 4,
        "E3-A2": 3,
        "E4-A1": 4,
        "E4-A2": 3,
        "E5-A1": 7,
        "E5-A2": 3,
        "E5-A3": 1,
        "E6-A1": 1,
        "E6-A2": 2,
        "E6-A3": 3,
    }
    assert Counter(a["id_ambition"] for a in plan_records["actions"]) == expected


def test_axes_from_the_contents(plan_records: Tables) -> None:
    axes = {e["id_engagement"]: e["axe"] for e in plan_records["engagements"]}
    assert axes == {
        "E1": "transversal",
        "E2": "transversal",
        "E3": "transversal",
        "E4": "thematique",
        "E5": "thematique",
        "E6": "thematique",
    }


def test_engagement_titles_and_stakes(plan_records: Tables) -> None:
    engagements = by_id(plan_records["engagements"], "id_engagement")
    assert engagements["E1"]["titre"] == (
        "Faire participer les citoyens à l'élaboration des politiques publiques"
    )
    # The table of contents words it differently; both are kept.
    assert engagements["E1"]["titre_sommaire"] == (
        "Faire participer les Français à l'élaboration des politiques publiques"
    )
    assert engagements["E6"]["titre"] == (
        "Développer les valeurs de l'ouverture en Europe et à l'international"
    )
    assert engagements["E4"]["enjeux"].startswith(
        "La mobilisation accrue des Français sur les enjeux écologiques"
    )
    assert engagements["E4"]["enjeux"].endswith("en faveur de la transition écologique.")


def test_action_cut_by_a_page_break_is_rejoined(plan_records: Tables) -> None:
    actions = by_id(plan_records["actions"], "id_action")
    assert "auprès des agents et des décideurs. Une plateforme répertoriant" in actions["E1-A1-01"]["texte"]
    # This one was cut after "notamment aux", a short line that looks like a body name.
    assert actions["E1-A1-04"]["texte"] == (
        "S'appuyer sur les retours des citoyens pour améliorer en continu les services "
        "publics, en généralisant le dispositif Services Publics + qui permet notamment aux "
        "Français de partager leur expérience sur les services publics via l’outil « Je "
        "donne mon avis » ou de signaler des opportunités de simplification ou "
        "d’amélioration."
    )
    assert responsibles(plan_records, "E1-A1-04") == ["mtfp", "ditp"]
    assert "pour rendre plus lisible l’affichage environnemental des produits" in actions["E4-A2-01"]["texte"]


def test_action_titles_are_first_sentences(plan_records: Tables) -> None:
    actions = by_id(plan_records["actions"], "id_action")
    assert actions["E4-A2-01"]["titre"] == "Développer l'affichage environnemental"
    assert actions["E1-A1-01"]["titre"] == (
        "Développer la participation citoyenne au sein de l'Etat grâce à la mise en place "
        "d'une offre de service interministérielle auprès des agents et des décideurs"
    )


@pytest.mark.parametrize(
    ("id_action", "starts", "bodies"),
    [
        (
            "E1-A1-01",
            "Développer la participation citoyenne au sein de l'Etat",
            ["ministere-delegue-relations-parlement-participation-citoyenne", "ditp"],
        ),
        (
            "E1-A1-03",
            "Associer les citoyens et la société civile pour améliorer les services publics de la justice",
            ["ministere-justice"],
        ),
        ("E1-A2-01", "Accompagner pendant 3 ans les collectivités territoriales", ["mctrct", "anct"]),
        ("E2-A1-01", "Rendre plus transparente la commande publique", ["mefr", "region-bretagne"]),
        (
            "E2-A1-03",
            "Accompagner l'ouverture des décisions de justice",
            ["ministere-justice", "cour-de-cassation", "conseil-etat"],
        ),
        ("E2-A2-02", "Renforcer la transparence de la représentation d'intérêt", ["hatvp"]),
        ("E3-A2-01", "Soutenir l'innovation publique ouverte sur les territoires", ["mtfp", "ditp"]),
        # Blank line between the two bodies.
        ("E4-A1-03", "Co-construire la troisième Stratégie nationale de la biodiversité", ["mte", "dgaln"]),
        ("E4-A2-03", "Contribuer au développement d'une régulation par la donnée", ["arcep"]),
        # "Délégation du numérique en santé et Health Data Hub": two bodies on one line.
        ("E5-A1-06", "Promouvoir et développer l'ouverture des données de santé", ["mss", "dns", "hdh"]),
        ("E5-A2-03", "Déployer le dispositif « FR-Alert »", ["ministere-interieur"]),
        (
            "E6-A2-01",
            "Mener une politique européenne de soutien aux communs numériques",
            ["meae", "ambassadeur-numerique", "mesri"],
        ),
        (
            "E6-A2-02",
            "Développer un outil ouvert et libre pour suivre l'évolution des Conditions générales",
            ["meae", "ambassadeur-numerique"],
        ),
        ("E6-A3-01", "Poursuivre et étendre la politique d'ouverture des données de la diplomatie", ["meae"]),
        (
            "E6-A3-03",
            "Soutenir la participation citoyenne par un accès accru à l'information en Afrique",
            ["meae", "afd"],
        ),
    ],
)
def test_actions_read_in_the_document(
    plan_records: Tables, id_action: str, starts: str, bodies: list[str]
) -> None:
    actions = by_id(plan_records["actions"], "id_action")
    assert actions[id_action]["texte"].startswith(starts)
    assert responsibles(plan_records, id_action) == bodies


def test_roadmap_heading_worded_differently(plan_records: Tables) -> None:
    ambitions = by_id(plan_records["ambitions"], "id_ambition")
    assert ambitions["E6-A3"]["titre"] == (
        "Renforcer les valeurs de la transparence pour promouvoir le modèle du gouvernement ouvert"
    )
    assert ambitions["E6-A3"]["titre_feuille_de_route"] == "Pour une diplomatie au service de la transparence"


def test_no_action_swallows_a_heading_or_a_responsible_line(plan_records: Tables) -> None:
    headings = {a["titre_feuille_de_route"] for a in plan_records["ambitions"]}
    headings |= {e["titre"] for e in plan_records["engagements"]}
    names = {alias for o in plan_records["organisations"] for alias in o["alias"]}
    for action in plan_records["actions"]:
        text = action["texte"]
        assert "Responsable" not in text, action["id_action"]
        assert "Feuille de route" not in text, action["id_action"]
        assert not any(h in text for h in headings), action["id_action"]
        assert not any(text.startswith(n) for n in names), action["id_action"]
        assert text.endswith((".", ")")), action["id_action"]


def test_every_action_has_a_responsible_body(plan_records: Tables) -> None:
    with_body = {r["id_action"] for r in plan_records["responsables"]}
    assert with_body == {a["id_action"] for a in plan_records["actions"]}


def test_one_organisation_per_body_whatever_its_spellings(plan_records: Tables) -> None:
    organisations = by_id(plan_records["organisations"], "id_organisation")
    assert len(organisations) == 36
    assert len({o["nom"] for o in organisations.values()}) == 36
    assert set(organisations["mtfp"]["alias"]) == {
        "Ministère de la transformation et de la fonction publiques",
        "Ministère de la transformation et de la fonction publique",
    }
    assert set(organisations["menjs"]["alias"]) == {
        "Ministère de l'éducation nationale, de la jeunesse et des sports",
        "Ministère de l'éducation nationale et de la jeunesse et des sports",
    }
    assert "Ministère de la cohésion des territoires" in organisations["mctrct"]["alias"]
    assert set(organisations["dns"]["alias"]) == {
        "Direction du numérique en santé",
        "Délégation du numérique en santé",
    }
    assert organisations["arcep"]["sigle"] == "ARCEP"
    # A spelling belongs to one organisation only.
    aliases = [alias for o in organisations.values() for alias in o["alias"]]
    assert len(aliases) == len(set(aliases))


def test_carriers_of_each_engagement(plan_records: Tables) -> None:
    counts = Counter(r["id_engagement"] for r in plan_records["porteurs"])
    assert counts == {"E1": 5, "E2": 13, "E3": 6, "E4": 3, "E5": 5, "E6": 4}
    e4 = [
        r["id_organisation"]
        for r in sorted(
            (r for r in plan_records["porteurs"] if r["id_engagement"] == "E4"), key=lambda r: r["ordre"]
        )
    ]
    assert e4 == ["mte", "ministere-mer", "arcep"]
