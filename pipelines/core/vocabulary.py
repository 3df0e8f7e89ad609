"""Core: the words of a field's values, read from its Table Schema and nowhere else.

A field with a closed list of values (the progress status) carries, in its schema, the
French label of each value (``categories``, as Table Schema v2 writes them) and the other
spellings people type for them (``x-synonymes``). The normaliser, the template, the
reports and the pages all take them from here, so they cannot disagree.
"""

from __future__ import annotations

from pipelines.core.schema import TableSchema
from pipelines.core.text import match_key


def field_of(schema: TableSchema, name: str) -> dict[str, object]:
    field = next((f for f in schema["fields"] if f["name"] == name), None)
    if field is None:
        raise KeyError(f"{schema.get('name', '?')} has no field {name}")
    return dict(field)


def labels(schema: TableSchema, name: str) -> dict[str, str]:
    """Each value of the field, in schema order, with its French label."""
    categories = field_of(schema, name).get("categories") or []
    assert isinstance(categories, list)
    return {str(c["value"]): str(c["label"]) for c in categories}


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


def described(field: dict[str, object]) -> str:
    """``valeur (libellé), …``: a field's values as the fixes of reports list them."""
    categories = field.get("categories") or []
    assert isinstance(categories, list)
    return ", ".join(f"{c['value']} ({str(c['label']).lower()})" for c in categories)


def fix_of(field: dict[str, object], default: str) -> str:
    """What to do about an empty required cell of this field (its schema's ``x-que-faire``),
    followed by the list of its values when it has one."""
    fix = str(field.get("x-que-faire") or default)
    values = described(field)
    return f"{fix.rstrip('.')} : {values}." if values else fix
