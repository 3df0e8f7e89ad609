"""Gather stage: the parsed plan into the rows of the data model's six tables.

Identifiers come from the plan's own structure (``E1``, ``E1-A1``, ``E1-A1-01``) and
organisation identifiers from the curated reference, so a rerun on the same document
gives the same keys.
"""

from __future__ import annotations

from typing import Any

from pipelines.core.errors import ParseError
from pipelines.core.text import first_sentence
from pipelines.gather.plan.document import ParsedEngagement
from pipelines.gather.plan.organisations import OrganisationReference

Row = dict[str, Any]
Tables = dict[str, list[Row]]


def _resolve_all(labels: list[str], reference: OrganisationReference, where: str) -> list[tuple[str, str]]:
    """Resolved ``(id, spelling)`` pairs, first mention kept when a body is named twice."""
    resolved: list[tuple[str, str]] = []
    seen: set[str] = set()
    for label in labels:
        found = reference.resolve(label)
        if found is None:
            raise ParseError(
                f"Organisme inconnu du référentiel ({where}) : « {label} ».",
                hint="Ajoutez cette graphie à reference/organisations.yaml, comme variante "
                "de l'organisme qu'elle désigne ou comme nouvel organisme.",
            )
        for org_id, spelling in found:
            if org_id not in seen:
                seen.add(org_id)
                resolved.append((org_id, spelling))
    return resolved


def _link_rows(
    key: str,
    value: str,
    labels: list[str],
    reference: OrganisationReference,
    spellings: dict[str, set[str]],
) -> list[Row]:
    """Rows linking one engagement or action to its bodies, in document order.

    Records each spelling seen in ``spellings`` (the organisations' aliases)."""
    rows = []
    for order, (org_id, spelling) in enumerate(_resolve_all(labels, reference, value), start=1):
        spellings.setdefault(org_id, set()).add(spelling)
        rows.append({key: value, "id_organisation": org_id, "ordre": order, "libelle_document": spelling})
    return rows


def derive_plan_tables(engagements: list[ParsedEngagement], reference: OrganisationReference) -> Tables:
    """Builds ``engagements``, ``ambitions``, ``actions``, ``organisations``, ``porteurs``
    and ``responsables`` rows; every label must resolve through the reference."""
    tables: Tables = {
        name: []
        for name in ("engagements", "ambitions", "actions", "organisations", "porteurs", "responsables")
    }
    spellings: dict[str, set[str]] = {}
    rank = 0
    for engagement in engagements:
        id_engagement = f"E{engagement.number}"
        tables["engagements"].append(
            {
                "id_engagement": id_engagement,
                "numero": engagement.number,
                "titre": engagement.title,
                "titre_sommaire": engagement.contents_title,
                "axe": engagement.axis,
                "enjeux": engagement.stakes,
            }
        )
        tables["porteurs"] += _link_rows(
            "id_engagement", id_engagement, engagement.carrier_labels, reference, spellings
        )
        for ambition in engagement.ambitions:
            id_ambition = f"{id_engagement}-A{ambition.number}"
            tables["ambitions"].append(
                {
                    "id_ambition": id_ambition,
                    "id_engagement": id_engagement,
                    "numero": ambition.number,
                    "titre": ambition.title,
                    "titre_feuille_de_route": ambition.roadmap_heading,
                }
            )
            for number, action in enumerate(ambition.actions, start=1):
                rank += 1
                id_action = f"{id_ambition}-{number:02d}"
                tables["actions"].append(
                    {
                        "id_action": id_action,
                        "id_ambition": id_ambition,
                        "id_engagement": id_engagement,
                        "numero": number,
                        "rang": rank,
                        "titre": first_sentence(action.text),
                        "texte": action.text,
                    }
                )
                tables["responsables"] += _link_rows(
                    "id_action", id_action, action.responsible_labels, reference, spellings
                )
    for org_id in sorted(spellings):
        org = reference.organisations[org_id]
        tables["organisations"].append(
            {
                "id_organisation": org.id,
                "nom": org.nom,
                "sigle": org.sigle,
                "type_organisation": org.type,
                "alias": sorted(spellings[org_id]),
            }
        )
    return tables
