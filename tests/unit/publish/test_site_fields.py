"""What the pages say about fields and rows: patterns in French (the expression kept beside),
examples as the CSV holds them, lengths of arrays, the first rows of a table read from its
CSV file, and dataset identifiers made links."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from publish.site.fields import (
    PREVIEW_CELL_CHARACTERS,
    constraints_of,
    example_text,
    pattern_fr,
    read_preview,
)
from publish.site.pages import link_datasets
from tests.conftest import ROOT

SCHEMAS = sorted((ROOT / "schemas").glob("*.json"))


def fields() -> list[tuple[str, dict]]:
    return [
        (path.stem, field)
        for path in SCHEMAS
        for field in json.loads(path.read_text(encoding="utf-8"))["fields"]
    ]


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"^E[1-9]$", "« E » puis un chiffre de 1 à 9"),
        (
            r"^E[1-9]-A[1-9]-[0-9]{2}$",
            "« E », un chiffre de 1 à 9, « -A », un chiffre de 1 à 9, « - » puis 2 chiffres",
        ),
        (
            r"^[a-z][a-z0-9-]*$",
            "une lettre minuscule puis aucun, un ou plusieurs caractères parmi les lettres "
            "minuscules, les chiffres et les tirets",
        ),
        (
            r"^https?://\S+$",
            "« http », « s » (facultatif), « :// » puis un ou plusieurs caractères autres qu'une espace",
        ),
        (r"^[0-9a-f]{64}$", "64 chiffres hexadécimaux (0 à 9, a à f)"),
        (r"\d{2,4}", "de 2 à 4 chiffres"),
        (r"x\.y", "« x.y »"),
    ],
)
def test_patterns_are_said_in_french(pattern: str, words: str) -> None:
    assert pattern_fr(pattern) == words


@pytest.mark.parametrize("pattern", ["(a|b)", "a|b", "[^a]", "a+?", "(?=a)", "[a\\]]", ""])
def test_patterns_outside_the_plain_subset_are_not_guessed(pattern: str) -> None:
    assert pattern_fr(pattern) is None


def test_every_pattern_of_the_schemas_is_said_in_french_with_its_expression_beside() -> None:
    found = [(table, f) for table, f in fields() if "pattern" in f.get("constraints", {})]
    assert len(found) > 20
    for table, field in found:
        said = dict(constraints_of(field))
        expression = field["constraints"]["pattern"]
        (text,) = [t for t, e in said.items() if e == expression]
        assert text.startswith("de la forme : ") and "[" not in text and "^" not in text, (
            table,
            field["name"],
        )


def test_an_array_example_is_written_as_its_csv_cell_and_its_length_counts_items() -> None:
    alias = next(f for table, f in fields() if table == "organisations" and f["name"] == "alias")
    shown = example_text(alias)
    # The published CSV writes arrays as compact JSON: the example is that text, not a
    # Python list with single quotes.
    assert shown == json.dumps(alias["example"], ensure_ascii=False, separators=(",", ":"))
    assert shown.startswith('["') and json.loads(shown) == alias["example"]
    assert ("au moins 1 élément", None) in constraints_of(alias)
    name = next(f for table, f in fields() if table == "organisations" and f["name"] == "nom")
    assert ("au moins 1 caractère", None) in constraints_of(name)
    assert example_text({"example": False}) == "false" and example_text({"example": 3}) == "3"


def test_the_preview_reads_the_first_rows_of_the_csv_file_only(tmp_path: Path) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["id", "texte"])
    rows = [[str(n), f"ligne {n}\navec un retour, une virgule et <b>balise</b>"] for n in range(30)]
    rows[3][1] = "x" * (PREVIEW_CELL_CHARACTERS + 50)
    writer.writerows(rows)
    path = tmp_path / "t.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    preview = read_preview(path)
    assert preview is not None
    assert preview.header == ["id", "texte"]
    assert len(preview.rows) == 20
    assert preview.rows[0] == rows[0]
    assert preview.rows[3][1] == "x" * PREVIEW_CELL_CHARACTERS + "…"
    assert read_preview(tmp_path / "absent.csv") is None


def test_dataset_identifiers_become_links_and_the_rest_stays_escaped() -> None:
    known = {"plan-action-pgo-2021-2023": "Plan", "suivi-plan-action-pgo-2021-2023": "Suivi"}
    text = "Voir plan-action-pgo-2021-2023 et suivi-plan-action-pgo-2021-2023 <script>."
    html = str(link_datasets(text, "../../", known))
    assert re.findall(r'href="([^"]+)"', html) == [
        "../../datasets/plan-action-pgo-2021-2023/index.html",
        "../../datasets/suivi-plan-action-pgo-2021-2023/index.html",
    ]
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert str(link_datasets("rien <b>", "", {})) == "rien &lt;b&gt;"


def test_a_repeated_plain_group_is_said_in_parentheses() -> None:
    said = pattern_fr("^[a-z][a-z0-9-]*( ; [a-z][a-z0-9-]*)*$")
    assert said is not None and said.startswith("une lettre minuscule")
    assert said.endswith("), aucune, une ou plusieurs fois") and "« ; »" not in said
    assert pattern_fr("^(ab)+$") == "(« ab »), une ou plusieurs fois"
    assert pattern_fr("^((a)b)$") is None  # nested: not guessed
