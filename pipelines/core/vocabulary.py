"""Core: what a field means to people, read from its Table Schema and nowhere else.

A field with a closed list of values (the progress status) carries, in its schema, the
French label of each value (``categories``, as Table Schema v2 writes them) and the other
spellings people type for them (``x-synonymes``). A field that identifies something says
how to name that thing (``x-objet``: « l'action », « par action », « d'action ») and how its
identifiers are formed (``x-forme``); ``x-aide`` is the prompt the template shows on its
cells, ``x-que-faire`` what to do about an empty required cell. The template's columns
(order, widths, the columns shown only to help the person) are the schema's ``x-modele``.
The normaliser, the checks, the template, the reports and the pages all take them from
here, so they cannot disagree, and no generic code names a field of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.core.schema import TableSchema
from pipelines.core.text import match_key

Field = dict[str, Any]


def field_of(schema: TableSchema, name: str) -> Field:
    field = next((f for f in schema["fields"] if f["name"] == name), None)
    if field is None:
        raise KeyError(f"{schema.get('name', '?')} has no field {name}")
    return dict(field)


def labels(schema: TableSchema, name: str) -> dict[str, str]:
    """Each value of the field, in schema order, with its French label."""
    categories = field_of(schema, name).get("categories") or []
    assert isinstance(categories, list)
    return {str(c["value"]): str(c["label"]) for c in categories}


def categorised(schema: TableSchema) -> list[str]:
    """The fields whose values are a closed list with French labels, in schema order."""
    return [f["name"] for f in schema["fields"] if f.get("categories")]


def all_labels(schema: TableSchema) -> dict[str, dict[str, str]]:
    """The labels of every categorised field, by field (``labels.statut.complet`` for a template)."""
    return {name: labels(schema, name) for name in categorised(schema)}


def spellings(schema: TableSchema, name: str) -> dict[str, str]:
    """Every way of writing a value that means it, by match key (case, accents, spaces and
    underscores aside): the value itself, its label, and its declared synonyms."""
    field = field_of(schema, name)
    synonyms = field.get("x-synonymes") or {}
    assert isinstance(synonyms, dict)
    found: dict[str, str] = {}
    for value, label in labels(schema, name).items():
        for text in (value, value.replace("_", " "), label, *synonyms.get(value, [])):
            found[match_key(str(text))] = value
    return found


def described(field: Field) -> str:
    """``valeur (libellé), …``: a field's values as the fixes of reports list them."""
    categories = field.get("categories") or []
    assert isinstance(categories, list)
    return ", ".join(f"{c['value']} ({str(c['label']).lower()})" for c in categories)


def column_label(field: Field) -> str:
    """A column as reports name it: its template title with its name in brackets,
    « Avancement (%) [avancement_pct] » (the name alone when it has no other title)."""
    name = str(field["name"])
    title = str(field.get("title") or name)
    return name if title == name else f"{title} [{name}]"


def column_labels(schema: TableSchema) -> dict[str, str]:
    """:func:`column_label` of every field, by name."""
    return {f["name"]: column_label(f) for f in schema["fields"]}


@dataclass(frozen=True)
class Subject:
    """How a sentence names the thing an identifier field identifies."""

    the: str  # « l'action »
    noun: str  # « action » (« une ligne par action »)
    of: str  # « d'action » (« un identifiant d'action »)


def subject_of(field: Field) -> Subject | None:
    """The thing the field identifies (its ``x-objet``), if it is an identifier."""
    found = field.get("x-objet")
    if not isinstance(found, dict):
        return None
    return Subject(str(found["defini"]), str(found["nom"]), str(found["de"]))


def is_url(field: Field) -> bool:
    """Whether the field holds a web address (Table Schema's ``format: uri``)."""
    return field.get("format") == "uri"


@dataclass(frozen=True)
class TemplateColumn:
    """One column of the template: a field of the format, or a column shown only to help
    the person (``informational``: prefilled from the plan, locked, not read back)."""

    name: str
    title: str
    width: int
    informational: bool
    description: str = ""
    wrap: bool = False


def template_columns(schema: TableSchema) -> list[TemplateColumn]:
    """The template's columns in order (``x-modele.colonnes``; every field, each once)."""
    fields = {f["name"]: f for f in schema["fields"]}
    columns = []
    for column in schema["x-modele"]["colonnes"]:
        name = str(column["nom"])
        field = fields.get(name)
        columns.append(
            TemplateColumn(
                name=name,
                title=str(column.get("titre") or (field or {}).get("title") or name),
                width=int(column["largeur"]),
                informational=field is None,
                description=str(column.get("description") or (field or {}).get("description") or ""),
                wrap=bool(column.get("a_la_ligne")),
            )
        )
    if sorted(c.name for c in columns if not c.informational) != sorted(fields):
        raise ValueError(f"{schema.get('name', '?')}: x-modele must list every field once")
    return columns


def informational_columns(schema: TableSchema) -> frozenset[str]:
    """The names and titles of the template's columns that are not fields of the format
    (shown to help the person): a file that has them drops them without a finding."""
    return frozenset(text for c in template_columns(schema) if c.informational for text in (c.name, c.title))
