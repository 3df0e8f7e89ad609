"""Publish stage: a table's fields and rows as the pages show them, in French.

A constraint is said in words (« au moins 1 caractère », « une valeur parmi »); a
``pattern`` is read aloud when it uses the plain subset of regular expressions the schemas
use (literal text, character classes, ``\\d``, ``\\S``, quantifiers), and its expression
stays beside the words for those who want it. An example is written as the CSV file holds
it (an array as compact JSON, not as a Python list). The first rows of a table are read
from its published CSV file, so the page shows the very text a reuser downloads.
"""

from __future__ import annotations

import csv
import json
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

PREVIEW_ROWS = 20
PREVIEW_CELL_CHARACTERS = 200


class Atom(NamedTuple):
    """One unit of a pattern: what it matches, in the singular and the plural (« un chiffre »,
    « chiffres »), whether the singular is feminine, and the text if it is a literal."""

    singular: str
    plural: str
    feminine: bool = False
    literal: str | None = None
    group: bool = False  # a parenthesised part, said as a whole (``singular`` holds its words)


DIGIT = Atom("un chiffre", "chiffres")
NAMED_RANGES = {
    ("0", "9"): (DIGIT, "les chiffres"),
    ("1", "9"): (Atom("un chiffre de 1 à 9", "chiffres de 1 à 9"), "les chiffres de 1 à 9"),
    ("a", "z"): (Atom("une lettre minuscule", "lettres minuscules", True), "les lettres minuscules"),
    ("A", "Z"): (Atom("une lettre majuscule", "lettres majuscules", True), "les lettres majuscules"),
}
NAMED_CHARACTERS = {
    "-": (Atom("un tiret", "tirets"), "les tirets"),
    "_": (Atom("un tiret bas", "tirets bas"), "les tirets bas"),
    ".": (Atom("un point", "points"), "les points"),
    " ": (Atom("une espace", "espaces", True), "les espaces"),
}
HEXADECIMAL = Atom("un chiffre hexadécimal (0 à 9, a à f)", "chiffres hexadécimaux (0 à 9, a à f)")
ESCAPES = {
    "d": DIGIT,
    "S": Atom("un caractère autre qu'une espace", "caractères autres qu'une espace"),
    "s": Atom("une espace", "espaces", True),
    "w": Atom("une lettre, un chiffre ou un tiret bas", "lettres, chiffres ou tirets bas", True),
}
ANY = Atom("un caractère quelconque", "caractères quelconques")


def _class_atom(body: str) -> Atom | None:
    """A character class ``[...]`` in words; None for a negated class or an escape inside."""
    if not body or body.startswith("^") or "\\" in body or "[" in body:
        return None
    items: list[tuple[Atom, str]] = []
    ranges: list[tuple[str, str]] = []
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            ranges.append((body[index], body[index + 2]))
            index += 3
        else:
            ranges.append((body[index], body[index]))
            index += 1
    if sorted(ranges) == [("0", "9"), ("a", "f")]:
        return HEXADECIMAL
    for start, end in ranges:
        if (start, end) in NAMED_RANGES:
            items.append(NAMED_RANGES[(start, end)])
        elif start == end:
            items.append(
                NAMED_CHARACTERS.get(
                    start, (Atom(f"le caractère « {start} »", f"caractères « {start} »"), f"« {start} »")
                )
            )
        else:
            items.append(
                (
                    Atom(
                        f"un caractère de « {start} » à « {end} »", f"caractères de « {start} » à « {end} »"
                    ),
                    f"les caractères de « {start} » à « {end} »",
                )
            )
    if len(items) == 1:
        return items[0][0]
    names = [name for _, name in items]
    among = ", ".join(names[:-1]) + " et " + names[-1]
    return Atom(f"un caractère parmi {among}", f"caractères parmi {among}")


def _quantifier(pattern: str, index: int) -> tuple[tuple[int, int | None] | None, int] | None:
    """The quantifier at ``index`` as (minimum, maximum or None), or None for « once »; the
    index after it. None as a whole for a quantifier this reader does not know (lazy, ...)."""
    if index >= len(pattern) or pattern[index] not in "?*+{":
        return None, index
    symbol = pattern[index]
    if symbol == "{":
        end = pattern.find("}", index)
        if end < 0:
            return None
        bounds = pattern[index + 1 : end].split(",")
        try:
            low = int(bounds[0])
            high: int | None = low if len(bounds) == 1 else (int(bounds[1]) if bounds[1] else None)
        except ValueError:
            return None
        if len(bounds) > 2:
            return None
        found, index = (low, high), end + 1
    else:
        found = {"?": (0, 1), "*": (0, None), "+": (1, None)}[symbol]
        index += 1
    if index < len(pattern) and pattern[index] in "?+*{":
        return None  # lazy or possessive: not in the plain subset
    return found, index


def _quantified(atom: Atom, bounds: tuple[int, int | None] | None) -> str:
    if atom.group:
        said = f"({atom.singular})"
        times: dict[tuple[int, int | None] | None, str] = {
            None: said,
            (0, 1): f"{said}, facultatif",
            (0, None): f"{said}, aucune, une ou plusieurs fois",
            (1, None): f"{said}, une ou plusieurs fois",
        }
        if bounds in times:
            return times[bounds]
        assert bounds is not None
        low, high = bounds
        return said + (f", {low} fois" if low == high else _between(low, high, "fois"))
    if bounds is None:
        return f"« {atom.literal} »" if atom.literal is not None else atom.singular
    low, high = bounds
    if atom.literal is not None:
        text = f"« {atom.literal} »"
        times = {
            (0, 1): " (facultatif)",
            (0, None): ", aucune, une ou plusieurs fois",
            (1, None): ", une ou plusieurs fois",
        }
        if (low, high) in times:
            return text + times[(low, high)]
        return text + (f", {low} fois" if low == high else _between(low, high, "fois"))
    one, none = ("une", "aucune") if atom.feminine else ("un", "aucun")
    if (low, high) == (0, 1):
        return f"{atom.singular} (facultati{'ve' if atom.feminine else 'f'})"
    if (low, high) == (0, None):
        return f"{none}, {one} ou plusieurs {atom.plural}"
    if (low, high) == (1, None):
        return f"{one} ou plusieurs {atom.plural}"
    if low == high:
        return atom.singular if low == 1 else f"{low} {atom.plural}"
    return _between(low, high, atom.plural).lstrip(", ")


def _between(low: int, high: int | None, noun: str) -> str:
    return f", au moins {low} {noun}" if high is None else f", de {low} à {high} {noun}"


def pattern_fr(pattern: str) -> str | None:
    """What a Table Schema ``pattern`` asks, in French (the whole value must match, as in
    Table Schema); None when the expression is outside the plain subset this reader says
    in words (alternatives, nested groups, look-arounds): the page then shows the expression
    alone. A plain group, quantified or not, is said in parentheses."""
    body = pattern.removeprefix("^")
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    parts: list[tuple[Atom, tuple[int, int | None] | None]] = []
    index = 0
    while index < len(body):
        character = body[index]
        if character == "[":
            end = body.find("]", index + 2)
            atom = _class_atom(body[index + 1 : end]) if end > 0 else None
            index = end + 1
        elif character == "\\":
            following = body[index + 1 : index + 2]
            if following in ESCAPES:
                atom = ESCAPES[following]
            elif following and not following.isalnum():
                atom = Atom("", "", literal=following)
            else:
                atom = None
            index += 2
        elif character == "(":
            end = body.find(")", index)
            inner = body[index + 1 : end] if end > 0 else ""
            # A plain group only: no alternative, no nesting, no look-around or flag.
            words = (
                pattern_fr(inner)
                if inner and not set(inner) & set("()|") and not inner.startswith("?")
                else None
            )
            atom = Atom(words, words, group=True) if words else None
            index = end + 1
        elif character in ")|^$*+?{}":
            atom = None
        elif character == ".":
            atom, index = ANY, index + 1
        else:
            atom, index = Atom("", "", literal=character), index + 1
        if atom is None:
            return None
        quantifier = _quantifier(body, index)
        if quantifier is None:
            return None
        bounds, index = quantifier
        previous = parts[-1] if parts else None
        if (
            atom.literal is not None
            and bounds is None
            and previous is not None
            and previous[0].literal is not None
            and previous[1] is None
        ):
            parts[-1] = (Atom("", "", literal=previous[0].literal + atom.literal), None)
        else:
            parts.append((atom, bounds))
    if not parts:
        return None
    said = [_quantified(atom, bounds) for atom, bounds in parts]
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " puis " + said[-1]


def _count(number: Any, noun: str) -> str:
    return f"{number} {noun}{'s' if number not in (0, 1) else ''}"


def constraint_fr(name: str, value: Any, field_type: str = "string") -> str:
    """A field constraint in French for the schema tables; empty for a false ``required`` or
    ``unique``. A pattern's words only: the page adds the expression itself. Lengths count
    the items of an array, the characters of anything else."""
    if name in ("required", "unique"):
        return {"required": "obligatoire", "unique": "unique"}[name] if value else ""
    if name == "enum":
        return "une valeur parmi : " + ", ".join(map(str, value))
    if name == "pattern":
        words = pattern_fr(str(value))
        return f"de la forme : {words}" if words else "suit l'expression régulière"
    unit = "élément" if field_type == "array" else "caractère"
    texts = {
        "minimum": f"minimum {value}",
        "maximum": f"maximum {value}",
        "minLength": f"au moins {_count(value, unit)}",
        "maxLength": f"au plus {_count(value, unit)}",
    }
    return texts.get(name, f"{name} : {value}")


def constraints_of(field: dict[str, Any]) -> list[tuple[str, str | None]]:
    """A field's constraints as the fields table lists them: each in French, with the
    regular expression beside a pattern's words (None for the others)."""
    found = []
    for name, value in dict(field.get("constraints") or {}).items():
        text = constraint_fr(name, value, str(field.get("type", "string")))
        if text:
            found.append((text, str(value) if name == "pattern" else None))
    return found


def example_text(field: dict[str, Any]) -> str:
    """A field's example as its cell reads in the CSV file: arrays and objects as compact JSON."""
    example = field["example"]
    if isinstance(example, list | dict):
        return json.dumps(example, ensure_ascii=False, separators=(",", ":"))
    if isinstance(example, bool):
        return "true" if example else "false"
    return str(example)


class Preview(NamedTuple):
    """The first rows of a published table, as text cells of its CSV file."""

    header: list[str]
    rows: list[list[str]]


def read_preview(path: Path, limit: int = PREVIEW_ROWS) -> Preview | None:
    """The header and first ``limit`` rows of a CSV file, each cell cut to
    ``PREVIEW_CELL_CHARACTERS`` (with « … »); None if the file is not there. Reads only
    those rows: a table of millions of rows costs the same."""
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader, [])
        rows = [
            [
                cell if len(cell) <= PREVIEW_CELL_CHARACTERS else cell[:PREVIEW_CELL_CHARACTERS] + "…"
                for cell in row
            ]
            for row in islice(reader, limit)
        ]
    return Preview(header, rows)
