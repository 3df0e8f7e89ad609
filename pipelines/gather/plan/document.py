"""Gather stage: the plan document (text export of the PDF synthesis) into plan records.

The document is a laid-out PDF turned into text, so the parser works on *blocks*
(runs of non-blank lines) and relies only on the structure the document keeps:
numbered commitment headings, the ``Enjeux`` / ``Ambitions`` / ``Porteurs`` /
``Feuille de route`` section labels, and ``Responsable(s) de l'exécution`` lines that
close each action. Known artefacts it undoes (see the source's README):

- paragraphs cut in two by a page break: every block between the start of an action and
  its ``Responsable`` line belongs to that action and is re-joined;
- headings repeated at the top of sections: the repetition is recognised and skipped;
- roadmap headings worded differently from the "Ambitions" list: matched through a
  curated table of variants (``reference/variantes-ambitions.yaml``), never guessed;
- blank lines between the bodies of one action: a responsible block ends only at an
  ambition heading or at the first paragraph of the next action.

Organisation labels are returned verbatim; resolving them to bodies is the job of
:mod:`pipelines.gather.organisations`, so that spellings are decided in one curated place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pipelines.core.errors import ParseError
from pipelines.core.text import clean_inline, match_key

AXES = {"transversaux": "transversal", "thematiques": "thematique"}

_ENGAGEMENT_HEADING = re.compile(r"^(\d+)\.\s+(.+)$", re.DOTALL)
_RESPONSABLE = re.compile(r"^responsables? de l['’]ex[ée]cution\s*:?$", re.IGNORECASE)
_AXIS_LINE = re.compile(r"^trois axes (transversaux|thematiques)\s*:?$")
_BULLET = re.compile(r"^[-•]\s+")
_SENTENCE_ENDS = (".", "!", "?")

# Longest single line that can still be an organisation name or a heading rather than
# the start of a roadmap paragraph (the longest body name in the plan is ~110 chars).
_MAX_LABEL_LENGTH = 160


@dataclass
class ParsedAction:
    """One roadmap paragraph and the labels of its responsible bodies, as printed."""

    text: str
    responsible_labels: list[str] = field(default_factory=list)
    first_line: int = 0


@dataclass
class ParsedAmbition:
    """An ambition as its commitment's "Ambitions" list names it (numbered from 1), with its roadmap actions.

    ``roadmap_heading`` is its title in the roadmap, which may be a declared variant of ``title``."""

    number: int
    title: str
    roadmap_heading: str | None = None
    actions: list[ParsedAction] = field(default_factory=list)


@dataclass
class ParsedEngagement:
    """A numbered commitment as the document prints it, with its ambitions in the order listed.

    ``axis`` and ``contents_title`` come from the "Sommaire", ``stakes`` from "Enjeux", and
    ``carrier_labels`` are the "Porteurs" lines, verbatim."""

    number: int
    title: str
    axis: str
    contents_title: str
    stakes: str
    carrier_labels: list[str]
    ambitions: list[ParsedAmbition]


@dataclass(frozen=True)
class _Block:
    lines: tuple[str, ...]
    line_number: int  # 1-based line of the document where the block starts

    @property
    def text(self) -> str:
        return clean_inline(" ".join(self.lines))

    @property
    def key(self) -> str:
        return match_key(self.text)


def split_blocks(text: str) -> list[_Block]:
    """Splits the document into runs of non-blank lines, remembering where each starts."""
    blocks: list[_Block] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line:
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append(_Block(tuple(current), start))
            current = []
    if current:
        blocks.append(_Block(tuple(current), start))
    return blocks


def _index_of(blocks: list[_Block], key: str, start: int = 0) -> int:
    for i in range(start, len(blocks)):
        if blocks[i].key == key:
            return i
    raise ParseError(
        f"Le document ne contient pas la rubrique « {key} » attendue.",
        hint="Vérifiez que le fichier source est bien la synthèse du plan d'action 2021-2023.",
    )


def _parse_contents(blocks: list[_Block]) -> dict[int, tuple[str, str]]:
    """Axis and table-of-contents title of each commitment, from the "Sommaire"."""
    start = _index_of(blocks, "sommaire")
    end = _index_of(blocks, "annexes", start)
    axis = ""
    found: dict[int, tuple[str, str]] = {}
    for block in blocks[start:end]:
        axis_match = _AXIS_LINE.match(block.key)
        if axis_match:
            axis = AXES[axis_match.group(1)]
            continue
        heading = _ENGAGEMENT_HEADING.match(block.text)
        if heading:
            if not axis:
                raise ParseError(
                    f"Engagement {heading.group(1)} listé au sommaire avant tout axe "
                    f"(ligne {block.line_number}).",
                    line=block.line_number,
                    hint="Le sommaire doit annoncer « Trois axes transversaux » puis "
                    "« Trois axes thématiques ».",
                )
            found[int(heading.group(1))] = (axis, heading.group(2))
    return found


def parse_plan_document(
    text: str,
    is_organisation: Callable[[str], bool],
    ambition_heading_variants: Mapping[str, str] | None = None,
) -> list[ParsedEngagement]:
    """Parses the plan synthesis into commitments, ambitions and actions.

    ``is_organisation`` tells whether a line names known bodies (the curated reference):
    after a ``Responsable`` line it is what separates the list of bodies from the first
    block of the next action, which a page break can cut into a short line of its own.
    ``ambition_heading_variants`` maps a roadmap heading as printed to the ambition title
    of the "Ambitions" list it stands for. Raises :class:`ParseError` (with the line
    number) whenever the document departs from the structure described above, rather
    than returning a plan with a lost or merged action.
    """
    variants = {match_key(k): match_key(v) for k, v in (ambition_heading_variants or {}).items()}
    blocks = split_blocks(text)
    contents = _parse_contents(blocks)
    body_start = _index_of(blocks, "annexes", _index_of(blocks, "sommaire")) + 1
    body_end = _index_of(blocks, "remerciements", body_start)

    starts = [
        i
        for i in range(body_start, body_end)
        if (m := _ENGAGEMENT_HEADING.match(blocks[i].text)) and int(m.group(1)) in contents
    ]
    if [int(_ENGAGEMENT_HEADING.match(blocks[i].text).group(1)) for i in starts] != sorted(contents):  # type: ignore[union-attr]
        raise ParseError(
            "Les engagements du corps du document ne correspondent pas à ceux du sommaire.",
            hint="Chaque engagement du sommaire doit avoir un titre numéroté « N. … » dans le texte.",
        )
    engagements = []
    for position, start in enumerate(starts):
        end = starts[position + 1] if position + 1 < len(starts) else body_end
        engagements.append(_parse_engagement(blocks[start:end], contents, variants, is_organisation))
    return engagements


def _section(blocks: list[_Block], label: str, following: tuple[str, ...]) -> list[_Block]:
    """Blocks after the section label ``label`` up to the first of ``following``."""
    keys = [b.key for b in blocks]
    if label not in keys:
        raise ParseError(
            f"Rubrique « {label} » introuvable dans l'engagement qui commence ligne {blocks[0].line_number}.",
            line=blocks[0].line_number,
            hint="Chaque engagement doit contenir Enjeux, Ambitions, Porteurs et Feuille de route.",
        )
    start = keys.index(label) + 1
    end = next((i for i in range(start, len(keys)) if keys[i] in following), len(keys))
    return blocks[start:end]


def _parse_engagement(
    blocks: list[_Block],
    contents: dict[int, tuple[str, str]],
    variants: dict[str, str],
    is_organisation: Callable[[str], bool],
) -> ParsedEngagement:
    heading = _ENGAGEMENT_HEADING.match(blocks[0].text)
    assert heading is not None  # guaranteed by the caller's selection of starts
    number = int(heading.group(1))
    title = heading.group(2)
    axis, contents_title = contents[number]
    labels = ("enjeux", "ambitions", "porteurs", "feuille de route")

    stakes = " ".join(b.text for b in _section(blocks, "enjeux", labels))
    ambition_titles = [
        _BULLET.sub("", clean_inline(line)) for b in _section(blocks, "ambitions", labels) for line in b.lines
    ]
    carriers = [clean_inline(line) for b in _section(blocks, "porteurs", labels) for line in b.lines]
    ambitions = [ParsedAmbition(i, t) for i, t in enumerate(ambition_titles, start=1)]
    roadmap = _section(blocks, "feuille de route", ())
    _parse_roadmap(number, roadmap, ambitions, variants, is_organisation)
    return ParsedEngagement(number, title, axis, contents_title, stakes, carriers, ambitions)


def _looks_like_label(block: _Block) -> bool:
    """A block of short lines with no sentence ending: names or a heading, not prose."""
    return all(
        len(line) <= _MAX_LABEL_LENGTH and not clean_inline(line).endswith(_SENTENCE_ENDS)
        for line in block.lines
    )


def _cut_by_page_break(blocks: list[_Block], index: int, headings: set[str]) -> bool:
    """Whether a short block is the head of a paragraph that a page break cut.

    Such a block is followed by prose (the rest of the sentence), not by a
    ``Responsable`` line, a heading or another short line.
    """
    if index + 1 >= len(blocks):
        return False
    following = blocks[index + 1]
    return not (
        _RESPONSABLE.match(following.text) or following.key in headings or _looks_like_label(following)
    )


def _suspects(suspects: list[str]) -> str:
    if not suspects:
        return ""
    return " Lignes courtes lues comme début de paragraphe coupé par un saut de page : " + (
        ", ".join(suspects) + "."
    )


def _parse_roadmap(
    engagement: int,
    blocks: list[_Block],
    ambitions: list[ParsedAmbition],
    variants: dict[str, str],
    is_organisation: Callable[[str], bool],
) -> None:
    by_key = {match_key(a.title): a for a in ambitions}
    heading_keys = set(by_key) | {k for k, v in variants.items() if v in by_key}
    current_ambition: ParsedAmbition | None = None
    action: ParsedAction | None = None
    in_responsibles = False
    # Short lines taken as the head of a paragraph cut by a page break: named in any
    # later error, since an undeclared heading or unknown body would look the same.
    suspects: list[str] = []

    for index, block in enumerate(blocks):
        key = block.key
        target = by_key.get(key) or by_key.get(variants.get(key, ""))
        if target is not None and (action is None or in_responsibles):
            if target.roadmap_heading is not None:
                raise ParseError(
                    f"L'ambition « {target.title} » a deux titres dans la feuille de route "
                    f"de l'engagement {engagement} (ligne {block.line_number}).",
                    line=block.line_number,
                    hint="Vérifiez les variantes de titres déclarées dans variantes-ambitions.yaml.",
                )
            target.roadmap_heading = block.text
            current_ambition, action, in_responsibles = target, None, False
            continue
        if _RESPONSABLE.match(block.text):
            if action is None:
                raise ParseError(
                    f"Ligne « Responsable de l'exécution » sans action qui la précède "
                    f"(engagement {engagement}, ligne {block.line_number}).",
                    line=block.line_number,
                    hint="Chaque action est un paragraphe suivi de ses responsables.",
                )
            in_responsibles = True
            continue
        if in_responsibles and _looks_like_label(block):
            labels = [clean_inline(line) for line in block.lines]
            known = [is_organisation(label) for label in labels]
            if all(known):
                assert action is not None
                action.responsible_labels.extend(labels)
                continue
            if any(known):
                unknown = [label for label, ok in zip(labels, known, strict=True) if not ok]
                where = block.line_number + known.index(False)  # a block's lines are consecutive
                raise ParseError(
                    f"Organisme inconnu parmi les responsables (engagement {engagement}, "
                    f"ligne {where}) : {', '.join(repr(u) for u in unknown)}.",
                    line=where,
                    hint="Ajoutez cette graphie à reference/organisations.yaml, comme alias "
                    "de l'organisme qu'elle désigne ou comme nouvel organisme.",
                )
        if current_ambition is None:
            raise ParseError(
                f"Paragraphe avant tout titre d'ambition dans la feuille de route de "
                f"l'engagement {engagement} (ligne {block.line_number}) : « {block.text[:80]} ».",
                line=block.line_number,
                hint="Si ce paragraphe est un titre d'ambition formulé autrement que dans la "
                "liste « Ambitions », déclarez-le dans reference/variantes-ambitions.yaml.",
            )
        if action is None or in_responsibles:
            if _looks_like_label(block) and not _cut_by_page_break(blocks, index, heading_keys):
                raise ParseError(
                    f"Ligne non reconnue dans la feuille de route de l'engagement {engagement} "
                    f"(ligne {block.line_number}) : « {block.text} ». Ce n'est ni un organisme "
                    "connu, ni un titre d'ambition connu, ni le début d'un paragraphe d'action.",
                    line=block.line_number,
                    hint="S'il s'agit d'un organisme, ajoutez cette graphie à "
                    "reference/organisations.yaml ; d'un titre d'ambition, déclarez-le dans "
                    "reference/variantes-ambitions.yaml.",
                )
            if _looks_like_label(block):
                suspects.append(f"« {block.text} » (ligne {block.line_number})")
            if action is not None and not action.responsible_labels:
                raise ParseError(
                    f"Action sans responsable dans l'engagement {engagement} "
                    f"(ligne {action.first_line}).{_suspects(suspects)}",
                    line=action.first_line,
                    hint="Chaque action doit être suivie d'au moins un organisme responsable ; "
                    "un organisme inconnu s'ajoute à reference/organisations.yaml.",
                )
            action = ParsedAction(block.text, first_line=block.line_number)
            current_ambition.actions.append(action)
            in_responsibles = False
        else:
            # A page break cut the paragraph: the rest of it is a block of its own.
            action.text = f"{action.text} {block.text}"

    if action is not None and not action.responsible_labels:
        raise ParseError(
            f"La dernière action de l'engagement {engagement} (ligne {action.first_line}) "
            "n'a pas de responsable.",
            line=action.first_line,
            hint="Chaque action doit être suivie d'au moins un organisme responsable.",
        )
    for ambition in ambitions:
        if ambition.roadmap_heading is None or not ambition.actions:
            raise ParseError(
                f"L'ambition « {ambition.title} » de l'engagement {engagement} n'a pas de "
                f"titre ou pas d'action dans la feuille de route.{_suspects(suspects)}",
                hint="Si la feuille de route la nomme autrement, déclarez ce titre dans "
                "reference/variantes-ambitions.yaml.",
            )
