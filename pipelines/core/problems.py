"""Core: the one record of a data problem, from the file reader to the reports.

A problem is data (frictionless's habit): a stable kebab-case code (frictionless's own
codes verbatim, ours only where frictionless has none: see ``pipelines.core.codes``), a
severity, a position (table, row as the person or frictionless counts it, field), the
value found, the Table Schema constraint it breaks, a sentence in French and how to fix
it. Every check makes these with :func:`problem`, which takes the severity and the words
from the code's registry entry; every report renders them; tests assert on
``flatten(...)`` lists such as ``[(row, field, code)]``, never on wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipelines.core.codes import CODES, Severity, code_info, render, wording_of

__all__ = ["Problem", "Severity", "constraint_of", "flatten", "problem", "problem_of", "shown"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One data problem. ``row`` counts as the person sees it (a spreadsheet row) for a
    submission, as frictionless's ``rowNumber`` (header included) for a table; ``None`` for
    a problem of a whole file or table. ``message`` is the sentence shown to people."""

    code: str
    message: str = ""
    fix: str = ""
    severity: Severity = Severity.ERROR
    table: str | None = None
    row: int | None = None
    field: str | None = None
    value: str | None = None
    constraint: str | None = None
    # The column as the person's template names it, « Avancement (%) [avancement_pct] »
    # (``field`` stays the schema's name: what programs and tests read).
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The problem in a JSON report (French keys, like the rest of the reports)."""
        document: dict[str, Any] = {"gravite": str(self.severity), "code": self.code}
        if self.table is not None:
            document["table"] = self.table
        document.update({"ligne": self.row, "colonne": self.field, "valeur": self.value})
        if self.constraint is not None:
            document["contrainte"] = self.constraint
        if self.label is not None:
            document["intitule_colonne"] = self.label
        document.update({"regle": self.message, "que_faire": self.fix})
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Problem:
        """The inverse of :meth:`to_dict`."""
        return cls(
            code=document["code"],
            message=document.get("regle", ""),
            fix=document.get("que_faire", ""),
            severity=Severity(document.get("gravite", Severity.ERROR)),
            table=document.get("table"),
            row=document.get("ligne"),
            field=document.get("colonne"),
            value=document.get("valeur"),
            constraint=document.get("contrainte"),
            label=document.get("intitule_colonne"),
        )

    @property
    def position(self) -> tuple[str, int, str, str]:
        """Sort key: by table (a submission's progress sheet, then its « Cibles » sheet),
        file-level problems first, then by row, field and code."""
        return (self.table or "", self.row or 0, self.field or "", self.code)


def flatten(
    problems: Iterable[Problem], spec: tuple[str, ...] = ("row", "field", "code")
) -> list[tuple[Any, ...]]:
    """The chosen attributes of each problem, as frictionless's ``Report.flatten`` does."""
    return [tuple(getattr(p, name) for name in spec) for p in problems]


# Characters a person cannot see, named in words where a report quotes a cell.
INVISIBLE = {
    "\u00a0": "espace insécable",
    "\u202f": "espace fine insécable",
    "\u2009": "espace fine",
    "\t": "tabulation",
    "\n": "retour à la ligne",
    "\r": "retour chariot",
    "\u200b": "espace sans largeur",
    "\ufeff": "marque d'ordre des octets",
}


def _visible(character: str) -> str:
    if character in INVISIBLE:
        return f"[{INVISIBLE[character]}]"
    if character.isprintable() or character == " ":
        return character
    return f"[caractère invisible U+{ord(character):04X}]"


def shown(value: Any, limit: int = 80) -> str | None:
    """A cell value as a report quotes it: as typed, cut when long, and every invisible
    character named in words (« [espace insécable] »), never as a Python escape."""
    if value is None:
        return None
    text = "".join(_visible(c) for c in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


# frictionless writes a broken constraint in the note of a constraint-error, and only there:
# 'constraint "minimum" is "0"'. Read once, here, for its errors and the columnar check's.
_CONSTRAINT_NOTE = re.compile(r'^constraint "(\w+)"')


def constraint_of(error: Any) -> str | None:
    """The Table Schema constraint a frictionless error (or the columnar check's record of
    one) breaks: its own attribute, else read from a constraint-error's note."""
    constraint = getattr(error, "constraint", None)
    if constraint is None and error.type == "constraint-error":
        found = _CONSTRAINT_NOTE.match(getattr(error, "note", "") or "")
        constraint = found.group(1) if found else None
    return constraint


# Positions a template may name as fields: filled from the finding when not given.
_POSITIONAL = ("value", "row", "constraint")


def problem(
    code: str,
    *,
    variant: str | None = None,
    table: str | None = None,
    row: int | None = None,
    field: str | None = None,
    value: Any = None,
    constraint: str | None = None,
    label: str | None = None,
    **fields: Any,
) -> Problem:
    """The finding of ``code`` at a position, its severity and words from the registry.

    ``value`` is the cell as typed (shown with its invisible characters named); ``fields``
    are the template's named fields, which the registry entry declares: an undeclared one,
    or one a template uses and is not given, is the caller's mistake and raises, as does a
    code the registry does not have."""
    if code not in CODES:
        raise KeyError(f"{code} is not in the registry of codes (pipelines.core.codes)")
    info = code_info(code)
    unknown = set(fields) - set(info.fields)
    if unknown:
        raise TypeError(f"{code} declares no field {sorted(unknown)}")
    seen = shown(value)
    position = {"value": seen, "row": row, "constraint": constraint}
    context = {
        **{name: position[name] for name in _POSITIONAL if name in info.fields},
        **fields,
    }
    wording = wording_of(code, variant)
    return Problem(
        code=code,
        message=render(wording.message, context),
        fix=render(wording.fix, context),
        severity=info.severity,
        table=table,
        row=row,
        field=field,
        value=seen,
        constraint=constraint,
        label=label,
    )


def problem_of(error: Any, table: str | None) -> Problem:
    """A frictionless error, or the columnar check's record of one (same attributes), as a
    problem: frictionless's code and position, our French words for it and, for a
    constraint-error, the constraint's name. The one conversion between the two vocabularies."""
    field = getattr(error, "field_name", None) or ",".join(getattr(error, "field_names", None) or ()) or None
    if error.type not in CODES:  # a code of a later frictionless: its generic words
        info, cell = code_info(error.type), getattr(error, "cell", None)
        return Problem(
            code=error.type,
            message=render(info.wording.message, {"value": shown(cell), "constraint": None}),
            fix=info.wording.fix,
            table=table,
            row=getattr(error, "row_number", None),
            field=field,
            value=shown(cell),
        )
    return problem(
        error.type,
        table=table,
        row=getattr(error, "row_number", None),
        field=field,
        value=getattr(error, "cell", None),
        constraint=constraint_of(error),
    )
