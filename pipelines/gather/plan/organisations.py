"""Gather stage: resolving the plan's spellings of a body to one curated organisation.

The curated reference (``reference/organisations.yaml`` of the dataset) is the only
place where two spellings are declared to name the same body; this module applies it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from pipelines.core.errors import ConfigError
from pipelines.core.text import match_key

OrganisationType = Literal[
    "ministere",
    "administration_centrale",
    "autorite_independante",
    "juridiction",
    "etablissement_public",
    "groupement_interet_public",
    "collectivite_territoriale",
    "instance_consultative",
]

_JOINED = re.compile(r"\s+et\s+")


class Organisation(BaseModel, frozen=True):
    """One body of the curated reference, as ``organisations.yaml`` declares it.

    ``id`` is what the published tables hold; ``variantes`` are the plan's other spellings of ``nom``."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    nom: str
    sigle: str | None = None
    type: OrganisationType
    variantes: tuple[str, ...] = ()


class OrganisationReference:
    """The curated table, indexed by the match key of every accepted spelling."""

    def __init__(self, organisations: list[Organisation]) -> None:
        self.organisations = {o.id: o for o in organisations}
        if len(self.organisations) != len(organisations):
            raise ConfigError("Identifiant d'organisation en double dans le référentiel.")
        self._by_key: dict[str, str] = {}
        for org in organisations:
            for spelling in (org.nom, *org.variantes):
                key = match_key(spelling)
                owner = self._by_key.setdefault(key, org.id)
                if owner != org.id:
                    raise ConfigError(
                        f"La graphie « {spelling} » désigne deux organisations du "
                        f"référentiel : {owner} et {org.id}.",
                        hint="Une graphie ne peut être l'alias que d'un seul organisme.",
                    )

    @classmethod
    def load(cls, path: Path) -> OrganisationReference:
        """The reference read from a YAML file with an ``organisations`` list.

        Raises ``ConfigError`` if the file is missing or unreadable, or if an id or a spelling is
        declared twice."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls([Organisation(**entry) for entry in raw["organisations"]])
        except FileNotFoundError as exc:
            raise ConfigError(f"Référentiel des organisations introuvable : {path}") from exc
        except (yaml.YAMLError, KeyError, TypeError, ValidationError) as exc:
            raise ConfigError(
                f"Référentiel des organisations illisible ({path}) : {exc}",
                hint="Chaque entrée doit avoir id, nom, type et éventuellement sigle, variantes.",
            ) from exc

    def resolve(self, label: str) -> list[tuple[str, str]] | None:
        """The organisations a printed label names, as ``(id, spelling)`` pairs.

        A label is one known spelling, or (the plan does it once) several known
        spellings joined by "et": names such as "Commission nationale de l'informatique
        et des libertés" contain "et" themselves, so the whole label is tried first and
        a split is accepted only when every part is a known spelling. ``None`` when the
        label names no known body.
        """
        spelling = label.strip().rstrip(",;").strip()
        whole = self._by_key.get(match_key(spelling))
        if whole is not None:
            return [(whole, spelling)]
        parts = [p.strip() for p in _JOINED.split(spelling)]
        ids = [self._by_key.get(match_key(p)) for p in parts]
        if len(parts) > 1 and all(ids):
            return [(i, p) for i, p in zip(ids, parts, strict=True) if i is not None]
        return None

    def is_known(self, label: str) -> bool:
        """Whether ``label`` names known bodies: how the plan parser tells a body's line from prose."""
        return self.resolve(label) is not None
