"""Gather stage: the plan's targets (``cibles``), read by a person from the document and
checked against it at every build.

``reference/cibles.yaml`` is curated like the organisations reference: one entry per
quantified or dated commitment an action's text states. What the build guarantees: every
``citation`` occurs in the text of its action (whitespace aside), every ``id_action`` is an
action of the plan, identifiers are the action's followed by ``-C1``, ``-C2``… in order, and
the fields have the types the ``cibles`` schema says. A broken entry stops the build with
the file and the line to fix (:class:`TargetError`'s ``path`` and ``line``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.errors import ConfigError

KEYS = (
    "id_cible",
    "id_action",
    "citation",
    "valeur",
    "valeur_max",
    "valeur_approchee",
    "unite",
    "valeur_initiale",
    "echeance",
    "echeance_texte",
    "type_echeance",
    "source_echeance",
    "nature",
)
NATURES = ("effectif", "volume", "part", "montant", "multiplicateur", "duree", "jalon")
# What a date is (a deadline, or when the action starts) and where it comes from (the
# action's text, the document's own date, a fact the document does not date).
DEADLINE_KINDS = ("echeance", "debut")
DEADLINE_SOURCES = ("texte", "document", "hors_document")
_SPACES = re.compile(r"\s+")


class TargetError(ConfigError):
    """An entry of the targets reference that the document does not support."""

    def __init__(self, message: str, *, path: Path, line: int, hint: str = "") -> None:
        super().__init__(
            f"{path}, ligne {line} : {message}",
            hint=hint
            or (
                "Corrigez l'entrée dans le fichier des cibles (la citation doit reprendre mot pour mot "
                "le texte de l'action), puis relancez."
            ),
        )
        self.path = path
        self.line = line


def _collapsed(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _entries(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Each entry with the line (1-based) where it starts in the file."""
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.compose(text)
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"Fichier des cibles illisible : {path} ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cibles"), list) or document is None:
        raise ConfigError(f"Fichier des cibles sans liste « cibles » : {path}")
    nodes = next(v for k, v in document.value if k.value == "cibles").value
    return [(node.start_mark.line + 1, entry) for node, entry in zip(nodes, data["cibles"], strict=True)]


def _number(value: Any, key: str, path: Path, line: int) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TargetError(f"{key} doit être un nombre (ou null), pas « {value} ».", path=path, line=line)
    return value


def _date_facts(entry: dict[str, Any], deadline: dt.date | None, path: Path, line: int) -> None:
    """A dated target says what its date is and where it comes from; an undated one neither."""
    for key, allowed in (("type_echeance", DEADLINE_KINDS), ("source_echeance", DEADLINE_SOURCES)):
        found = entry[key]
        if deadline is None and found is not None:
            raise TargetError(f"{key} : null quand la cible n'a pas d'échéance.", path=path, line=line)
        if deadline is not None and found not in allowed:
            raise TargetError(
                f"{key} « {found} » : une valeur parmi {', '.join(allowed)} pour une cible datée.",
                path=path,
                line=line,
            )


def load_targets(path: Path, action_texts: dict[str, str]) -> list[dict[str, Any]]:
    """The rows of ``cibles`` from the curated file, checked against the actions' texts."""
    texts = {action: _collapsed(text) for action, text in action_texts.items()}
    rows: list[dict[str, Any]] = []
    rank: dict[str, int] = {}
    for line, entry in _entries(path):
        if not isinstance(entry, dict) or tuple(entry) != KEYS:
            raise TargetError(
                "une entrée a les clés " + ", ".join(KEYS) + ", dans cet ordre.", path=path, line=line
            )
        action = entry["id_action"]
        if action not in texts:
            raise TargetError(f"l'action « {action} » n'existe pas dans le plan.", path=path, line=line)
        rank[action] = rank.get(action, 0) + 1
        expected = f"{action}-C{rank[action]}"
        if entry["id_cible"] != expected:
            raise TargetError(
                f"l'identifiant devrait être {expected} (rang dans l'action), pas « {entry['id_cible']} ».",
                path=path,
                line=line,
            )
        quote = _collapsed(str(entry["citation"] or ""))
        if not quote or quote not in texts[action]:
            raise TargetError(
                f"la citation de {expected} ne figure pas dans le texte de l'action {action} : « {quote} ».",
                path=path,
                line=line,
            )
        if entry["nature"] not in NATURES:
            raise TargetError(
                f"nature « {entry['nature']} » inconnue ({', '.join(NATURES)}).", path=path, line=line
            )
        deadline = entry["echeance"]
        if deadline is not None and not isinstance(deadline, dt.date):
            raise TargetError(
                f"échéance « {deadline} » : une date AAAA-MM-JJ, ou null.", path=path, line=line
            )
        value = _number(entry["valeur"], "valeur", path, line)
        if (entry["nature"] == "jalon") != (value is None):
            raise TargetError(
                "un jalon n'a pas de valeur, et toute autre cible en a une.", path=path, line=line
            )
        if entry["nature"] == "jalon" and deadline is None:
            raise TargetError("un jalon a une échéance.", path=path, line=line)
        upper = _number(entry["valeur_max"], "valeur_max", path, line)
        if upper is not None and (value is None or upper <= value):
            raise TargetError(
                f"valeur_max ({upper}) est la borne haute d'une fourchette : un nombre plus grand "
                "que valeur, ou null.",
                path=path,
                line=line,
            )
        if not isinstance(entry["valeur_approchee"], bool):
            raise TargetError("valeur_approchee vaut true ou false.", path=path, line=line)
        _date_facts(entry, deadline, path, line)
        rows.append(
            {
                "id_cible": expected,
                "id_action": action,
                "citation": quote,
                "valeur": value,
                "valeur_max": upper,
                "valeur_approchee": entry["valeur_approchee"],
                "unite": entry["unite"],
                "valeur_initiale": _number(entry["valeur_initiale"], "valeur_initiale", path, line),
                "echeance": deadline,
                "echeance_texte": entry["echeance_texte"],
                "type_echeance": entry["type_echeance"],
                "source_echeance": entry["source_echeance"],
                "nature": entry["nature"],
            }
        )
    return rows
