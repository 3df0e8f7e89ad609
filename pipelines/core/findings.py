"""Validate stage: what a check says about one submission, in a data steward's words.

A finding is data (frictionless's habit): a stable kebab-case code, a position as the
person sees it in their spreadsheet (row number, column name), the value found, the rule
in French and how to fix it. Reports are rendered from findings; tests assert on
``(row, column, code)``, never on wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """``erreur`` rejects the file; ``avertissement`` is published but worth a look;
    ``correction`` is an unambiguous change the pipeline made (a French date, a label)."""

    ERROR = "erreur"
    WARNING = "avertissement"
    CORRECTION = "correction"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    rule: str
    fix: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The finding in a JSON report (French keys, like the rest of the report)."""
        return {"gravite": str(self.severity), "code": self.code, "ligne": self.row,
                "colonne": self.column, "valeur": self.value, "regle": self.rule,
                "que_faire": self.fix}

    @property
    def position(self) -> tuple[int, str, str]:
        """Sort key: file-level findings first, then by row, column and code."""
        return (self.row or 0, self.column or "", self.code)


def error(code: str, rule: str, fix: str, **where: Any) -> Finding:
    return Finding(Severity.ERROR, code, rule, fix, **where)


def warning(code: str, rule: str, fix: str, **where: Any) -> Finding:
    return Finding(Severity.WARNING, code, rule, fix, **where)


def correction(code: str, rule: str, fix: str = "", **where: Any) -> Finding:
    return Finding(Severity.CORRECTION, code, rule, fix, **where)


def shown(value: Any, limit: int = 80) -> str | None:
    """A cell value as a report quotes it: text, cut when long, control characters visible."""
    if value is None:
        return None
    text = str(value)
    text = "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
