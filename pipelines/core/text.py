"""Core: text helpers, one place that says what "the same words" means."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")


def match_key(text: str) -> str:
    """Key under which two spellings count as the same words.

    It forgives only what carries no meaning in a name or heading: case, accents
    ("Etat" / "État"), apostrophe style, punctuation and spacing. Anything else
    ("fonction publique" / "fonction publiques") is a real variant and must be listed
    in a curated reference file, so that every equivalence is written down and reviewed.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", without_accents.casefold()).strip()


def clean_inline(text: str) -> str:
    """Drops the Markdown emphasis of the PDF text export and normalises spacing.

    The export marks bold and italics with asterisks (``**participer**``, ``*Innover…*``);
    the plan never uses an asterisk as a character of its own.
    """
    text = text.replace("*", "").replace("\u00a0", " ").replace("\u202f", " ")
    return _SPACES.sub(" ", text).strip()


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[«\"A-ZÀ-ÖØ-Þ])")


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph, without its final full stop.

    A sentence ends at ``.``, ``!`` or ``?`` followed by a space and a capital letter, so
    that domain names (``code.gouv.fr``) and ``etc.)`` do not end it.
    """
    head = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    return head[:-1] if head.endswith(".") else head
