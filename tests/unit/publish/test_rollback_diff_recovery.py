"""Rollback without deleting, row-level diff between versions, and recovery of what an
interrupted run left behind."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.core.errors import PublishError
from publish.release import rollback_dataset
from publish.versioning.diff import diff_versions, render_diff
from tests.helpers.plan import ambition, engagement

SLUG = "plan-action-pgo-2021-2023"


def records(*ambitions: tuple[int, int], title: str = "Titre 1") -> dict:
    return {
        "engagements": [engagement(1) | {"titre": title}, engagement(2)],
        "ambitions": [ambition(e, a) for e, a in ambitions],
    }


def log(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "datasets" / SLUG / "versions.json").read_text(encoding="utf-8"))


def test_rollback_serves_an_earlier_version_and_deletes_nothing(small, tmp_path: Path) -> None:
    small(tmp_path, records((1, 1)))
    assert small(tmp_path, records((1, 1), (2, 1))).version == "1.1.0"
    dataset = tmp_path / "datasets" / SLUG
    previous = rollback_dataset(tmp_path, SLUG, "Titre", "1.0.0", "ambition publiée par erreur")
    assert previous == "1.1.0"
    assert os.readlink(dataset / "latest") == "1.0.0"
    assert (dataset / "1.1.0" / "datapackage.json").is_file()
    document = log(tmp_path)
    assert document["latest"] == "1.0.0"
    assert [v["version"] for v in document["versions"]] == ["1.0.0", "1.1.0"]
    assert document["rollbacks"][0] | {"date": "-"} == {
        "date": "-",
        "from": "1.1.0",
        "to": "1.0.0",
        "reason": "ambition publiée par erreur",
    }
    changelog = (dataset / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "retour arrière de 1.1.0 vers 1.0.0" in changelog
    assert "## 1.1.0 — " in changelog and "(retirée par un retour arrière)" in changelog

    # The withdrawn build again: not published again.
    again = small(tmp_path, records((1, 1), (2, 1)))
    assert not again.published and again.version == "1.0.0" and "1.1.0" in again.note
    assert os.readlink(dataset / "latest") == "1.0.0"
    # A new build: compared with the served 1.0.0 (a row changed: PATCH level), numbered
    # above the highest version ever published so that 1.1.0 is not reused.
    fixed = small(tmp_path, records((1, 1), title="Titre corrigé"))
    assert (fixed.version, fixed.published) == ("1.1.1", True)
    entry = log(tmp_path)["versions"][-1]
    assert entry["tables"]["engagements"] == {"added": 0, "changed": 1, "removed": 0}
    assert entry["tables"]["ambitions"] == {"added": 0, "changed": 0, "removed": 0}


def test_rollback_to_an_unknown_version_is_a_message(small, tmp_path: Path) -> None:
    small(tmp_path, records((1, 1)))
    with pytest.raises(PublishError) as caught:
        rollback_dataset(tmp_path, SLUG, "Titre", "0.9.0")
    assert "1.0.0" in caught.value.message
    result = CliRunner().invoke(app, ["rollback", SLUG, "3.0.0", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "n'existe pas" in result.output


def test_diff_lists_keys_fields_and_values(small, tmp_path: Path) -> None:
    small(tmp_path, records((1, 1), (1, 2)))
    small(tmp_path, records((1, 1), (2, 1), title="Titre « corrigé »"))
    difference = diff_versions(tmp_path / "datasets" / SLUG, "1.0.0", "1.1.0")
    ambitions = difference.tables["ambitions"]
    assert [r["id_ambition"] for r in ambitions.added] == ["E2-A1"]
    assert [r["id_ambition"] for r in ambitions.removed] == ["E1-A2"]
    engagements = difference.tables["engagements"]
    assert [(new["id_engagement"], fields) for _, new, fields in engagements.changed] == [
        ("E1", {"titre": ("Titre 1", "Titre « corrigé »")})
    ]
    text = render_diff(SLUG, difference)
    assert "+ E2-A1" in text and "- E1-A2" in text and "~ E1" in text
    assert "titre : Titre 1 → Titre « corrigé »" in text
    result = CliRunner().invoke(app, ["diff", SLUG, "1.0.0", "1.1.0", "--out", str(tmp_path)])
    assert result.exit_code == 0 and result.output == text
    missing = CliRunner().invoke(app, ["diff", SLUG, "1.0.0", "7.0.0", "--out", str(tmp_path)])
    assert missing.exit_code == 2 and "introuvable" in missing.output


def test_leftovers_of_an_interrupted_run_are_cleaned_and_the_log_obeyed(small, tmp_path: Path) -> None:
    small(tmp_path, records((1, 1)))
    dataset = tmp_path / "datasets" / SLUG
    reference = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    # What a run killed at various points leaves: a staging folder, temporary files, a
    # renamed but unlisted version folder, latest pointing at it, a stale changelog.
    (tmp_path / ".staging" / f"{SLUG}-1.1.0-999").mkdir(parents=True)
    (tmp_path / ".staging" / f"{SLUG}-1.1.0-999" / "ambitions.csv").write_text("partiel")
    (dataset / ".versions.json.tmp-999").write_text("{")
    shutil.copytree(dataset / "1.0.0", dataset / "1.1.0")
    os.remove(dataset / "latest")
    os.symlink("1.1.0", dataset / "latest")
    (dataset / "CHANGELOG.md").write_text("ancien")
    again = small(tmp_path, records((1, 1)))
    assert (again.version, again.published) == ("1.0.0", False)
    assert os.readlink(dataset / "latest") == "1.0.0"
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == reference
    assert list((tmp_path / ".staging").iterdir()) == []
