from __future__ import annotations

import pytest

from pipelines.core.errors import ConfigError
from pipelines.core.text import first_sentence, match_key
from pipelines.gather.plan.organisations import Organisation, OrganisationReference


@pytest.fixture()
def reference() -> OrganisationReference:
    return OrganisationReference(
        [
            Organisation(
                id="cnil",
                nom="Commission nationale de l'informatique et des libertés",
                sigle="CNIL",
                type="autorite_independante",
            ),
            Organisation(
                id="dns",
                nom="Délégation ministérielle au numérique en santé",
                type="administration_centrale",
                variantes=("Délégation du numérique en santé",),
            ),
            Organisation(
                id="hdh",
                nom="Plateforme des données de santé",
                type="groupement_interet_public",
                variantes=("Health Data Hub",),
            ),
        ]
    )


def test_case_accents_apostrophes_and_trailing_commas_match(reference: OrganisationReference) -> None:
    assert reference.resolve("COMMISSION NATIONALE DE L’INFORMATIQUE ET DES LIBERTES,") == [
        ("cnil", "COMMISSION NATIONALE DE L’INFORMATIQUE ET DES LIBERTES")
    ]


def test_a_name_containing_et_is_not_split(reference: OrganisationReference) -> None:
    assert [i for i, _ in reference.resolve("Commission nationale de l'informatique et des libertés")] == [
        "cnil"
    ]


def test_two_known_bodies_joined_by_et(reference: OrganisationReference) -> None:
    assert reference.resolve("Délégation du numérique en santé et Health Data Hub") == [
        ("dns", "Délégation du numérique en santé"),
        ("hdh", "Health Data Hub"),
    ]


def test_a_split_needs_every_part_known(reference: OrganisationReference) -> None:
    assert reference.resolve("Health Data Hub et Agence inconnue") is None
    assert not reference.is_known("Direction du numérique en santé")  # not declared here


def test_a_spelling_cannot_name_two_bodies() -> None:
    with pytest.raises(ConfigError, match="deux organisations"):
        OrganisationReference(
            [
                Organisation(id="a", nom="Cour des comptes", type="juridiction"),
                Organisation(id="b", nom="Chambre", type="juridiction", variantes=("Cour des Comptes",)),
            ]
        )


def test_match_key_forgives_only_form() -> None:
    assert match_key("Conseil d'Etat") == match_key("Conseil d’État")
    assert match_key("fonction publique") != match_key("fonction publiques")


def test_first_sentence_ignores_domain_names_and_etc() -> None:
    text = "Ouvrir code.gouv.fr aux agents (etc.) et aux citoyens. Une suite."
    assert first_sentence(text) == "Ouvrir code.gouv.fr aux agents (etc.) et aux citoyens"
