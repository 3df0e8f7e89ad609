"""Test helpers: a small plan dataset of two tables (engagements, ambitions) and its rows,
published by the ``small`` fixture (``tests/unit/publish/conftest.py``)."""

from __future__ import annotations

TABLES = ("engagements", "ambitions")


def engagement(n: int) -> dict:
    return {
        "id_engagement": f"E{n}",
        "numero": n,
        "titre": f"Titre {n}",
        "titre_sommaire": f"Sommaire {n}",
        "axe": "transversal",
        "enjeux": "Des enjeux, « cités ».",
    }


def ambition(e: int, a: int) -> dict:
    return {
        "id_ambition": f"E{e}-A{a}",
        "id_engagement": f"E{e}",
        "numero": a,
        "titre": f"Ambition {a}",
        "titre_feuille_de_route": f"Ambition {a}",
    }
