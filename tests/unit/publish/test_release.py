"""Publishing a version: nothing when unchanged, nothing when invalid, one rename when new."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from pipelines.build.tables import build_tables
from pipelines.core.config import DatasetConfig, Settings
from pipelines.core.errors import ValidationFailed
from pipelines.core.schema import load_schema
from pipelines.validate.package import validate_datapackage
from publish.release import release_dataset
from tests.helpers.plan import ambition, engagement


def test_first_rerun_and_change(small, tmp_path: Path) -> None:
    records = {"engagements": [engagement(2), engagement(1)], "ambitions": [ambition(1, 1)]}
    first = small(tmp_path, records)
    assert (first.version, first.published) == ("1.0.0", True)
    dataset = tmp_path / "datasets" / "plan-action-pgo-2021-2023"
    assert os.readlink(dataset / "latest") == "1.0.0"
    # Rows sorted by primary key whatever the input order.
    csv_lines = (dataset / "latest" / "engagements.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in csv_lines] == ["id_engagement", "E1", "E2"]

    again = small(tmp_path, records)
    assert (again.version, again.published) == ("1.0.0", False)
    assert sorted(p.name for p in dataset.iterdir()) == ["1.0.0", "CHANGELOG.md", "latest", "versions.json"]

    records["ambitions"].append(ambition(2, 1))
    added = small(tmp_path, records)
    assert (added.version, added.published) == ("1.1.0", True)
    assert os.readlink(dataset / "latest") == "1.1.0"
    history = json.loads((dataset / "versions.json").read_text(encoding="utf-8"))["versions"]
    assert [h["version"] for h in history] == ["1.0.0", "1.1.0"]
    assert history[1]["tables"]["ambitions"] == {"added": 1, "changed": 0, "removed": 0}

    records["engagements"][0]["titre"] = "Titre corrigé"
    fixed = small(tmp_path, records)
    assert fixed.version == "1.1.1"
    # Earlier versions stay as they were.
    assert "Titre 2" in (dataset / "1.0.0" / "engagements.csv").read_text(encoding="utf-8")


def test_invalid_build_publishes_nothing(small, tmp_path: Path) -> None:
    good = {"engagements": [engagement(1)], "ambitions": [ambition(1, 1)]}
    small(tmp_path, good)
    dataset = tmp_path / "datasets" / "plan-action-pgo-2021-2023"
    before = {p: p.read_bytes() for p in dataset.rglob("*") if p.is_file()}

    bad_engagement = {**engagement(2), "axe": "autre"}
    bad = {
        "engagements": [engagement(1), bad_engagement, engagement(1) | {"titre": "doublon"}],
        "ambitions": [ambition(1, 1), ambition(9, 1)],
    }
    with pytest.raises(ValidationFailed) as caught:
        small(tmp_path, bad)
    found = {(i.table, i.row, i.field, i.code) for i in caught.value.issues}
    # Rows as in the file, header included: E1, E1 (duplicate), E2 sorted by key.
    assert found == {
        ("engagements", 3, "id_engagement", "unique-error"),
        ("engagements", 3, "numero", "unique-error"),
        ("engagements", 3, None, "primary-key"),
        ("engagements", 4, "axe", "constraint-error"),
        ("ambitions", 3, "id_engagement", "foreign-key"),
    }
    after = {p: p.read_bytes() for p in dataset.rglob("*") if p.is_file()}
    assert after == before
    assert os.readlink(dataset / "latest") == "1.0.0"
    assert list((tmp_path / ".staging").iterdir()) == []


def test_a_staged_file_damaged_on_disk_is_caught(small, tmp_path: Path) -> None:
    """The staged package's validation re-reads every file against its bytes and sha256."""
    import shutil

    small(tmp_path, {"engagements": [engagement(1)], "ambitions": [ambition(1, 1)]})
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "datasets" / "plan-action-pgo-2021-2023" / "1.0.0", copy)
    parquet = copy / "ambitions.parquet"
    damaged = bytearray(parquet.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    parquet.write_bytes(bytes(damaged))
    (copy / "engagements.json").write_bytes(b"[]\n")
    found = {(i.table, i.code) for i in validate_datapackage(copy / "datapackage.json")}
    assert ("ambitions-parquet", "hash-count") in found
    assert ("engagements-json", "byte-count") in found


def test_a_new_way_of_writing_the_same_rows_is_a_version_that_says_so(
    plan_config: DatasetConfig, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Integral numbers written ``3`` instead of ``3.0``: a PATCH version whose one reason is
    the change of format (not « rows changed »); a table without numbers is not rewritten."""
    import publish.release as release
    import publish.writers as writers
    from pipelines.core.schema import python_value

    tables = ("actions", "cibles")
    config = plan_config.model_copy(update={"tables": tables})
    schemas = {t: load_schema(settings.schemas_dir, t) for t in tables}
    action = {
        "id_action": "E1-A1-01",
        "id_ambition": "E1-A1",
        "id_engagement": "E1",
        "numero": 1,
        "rang": 1,
        "titre": "Titre",
        "texte": "Accompagner 3 collectivités.",
    }
    target = {
        "id_cible": "E1-A1-01-C1",
        "id_action": "E1-A1-01",
        "citation": "Accompagner 3 collectivités",
        "valeur": 3.0,
        "valeur_initiale": 0.5,
        "nature": "effectif",
    }

    def publish(records: dict):
        return release_dataset(
            tmp_path, config, schemas, build_tables(records, schemas), validate_datapackage
        )

    def cells(path: Path) -> tuple[str, str]:
        row = next(csv.DictReader(path.read_text("utf-8").splitlines()))
        return row["valeur"], row["valeur_initiale"]

    with monkeypatch.context() as before:  # the writers of revision 1: repr of every double
        before.setattr(writers, "published_value", python_value)
        before.setattr(release, "FORMAT_REVISION", 1)
        assert publish({"actions": [action], "cibles": [target]}).version == "1.0.0"
    dataset = tmp_path / "datasets" / config.slug
    assert cells(dataset / "1.0.0" / "cibles.csv") == ("3.0", "0.5")
    log = json.loads((dataset / "versions.json").read_bytes())
    assert log["versions"][0].pop("format") == 1  # logs of before the mark: revision 1
    (dataset / "versions.json").write_text(json.dumps(log, ensure_ascii=False, indent=2) + "\n", "utf-8")

    now = publish({"actions": [action], "cibles": [target]})
    assert (now.version, now.published) == ("1.0.1", True)
    entry = json.loads((dataset / "versions.json").read_bytes())["versions"][-1]
    assert entry["reasons"] == [writers.FORMAT_CHANGES[2]] and entry["level"] == "patch"
    assert entry["format"] == writers.FORMAT_REVISION == 2
    assert entry["tables"]["cibles"] == {"added": 0, "changed": 0, "removed": 0}
    assert cells(dataset / "1.0.1" / "cibles.csv") == ("3", "0.5")
    assert json.loads((dataset / "1.0.1" / "cibles.json").read_bytes())[0]["valeur"] == 3
    assert b'"valeur": 3,' in (dataset / "1.0.1" / "cibles.json").read_bytes()
    # Written by this revision: a later change of rows gives no format reason.
    changed = publish({"actions": [{**action, "titre": "Autre"}], "cibles": [target]})
    assert json.loads((dataset / "versions.json").read_bytes())["versions"][-1]["reasons"] == [
        "actions: 1 ligne(s) modifiée(s)"
    ], changed


def test_new_writers_and_new_rows_in_one_run_make_two_versions(
    plan_config: DatasetConfig, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change of format is a version of its own: the served rows written anew, then the
    new rows as the next version, each with its own reasons."""
    import publish.release as release
    import publish.writers as writers
    from pipelines.core.schema import python_value

    config = plan_config.model_copy(update={"tables": ("actions", "cibles")})
    schemas = {t: load_schema(settings.schemas_dir, t) for t in config.tables}
    action = {
        "id_action": "E1-A1-01",
        "id_ambition": "E1-A1",
        "id_engagement": "E1",
        "numero": 1,
        "rang": 1,
        "titre": "Titre",
        "texte": "Accompagner 3 collectivités.",
    }
    target = {
        "id_cible": "E1-A1-01-C1",
        "id_action": "E1-A1-01",
        "citation": "Accompagner 3 collectivités",
        "valeur": 3.0,
        "nature": "effectif",
    }

    def publish(records: dict):
        return release_dataset(
            tmp_path, config, schemas, build_tables(records, schemas), validate_datapackage
        )

    with monkeypatch.context() as before:
        before.setattr(writers, "published_value", python_value)
        before.setattr(release, "FORMAT_REVISION", 1)
        publish({"actions": [action], "cibles": [target]})
    result = publish({"actions": [action], "cibles": [target, {**target, "id_cible": "E1-A1-01-C2"}]})
    dataset = tmp_path / "datasets" / config.slug
    log = json.loads((dataset / "versions.json").read_bytes())
    assert [(e["version"], e["level"], e["reasons"]) for e in log["versions"]] == [
        ("1.0.0", "major", ["première publication"]),
        ("1.0.1", "patch", [writers.FORMAT_CHANGES[2]]),
        ("1.1.0", "minor", ["cibles: 1 ligne(s) ajoutée(s)"]),
    ]
    assert (result.version, log["latest"]) == ("1.1.0", "1.1.0")
    # The format version holds the served rows, as they were, written anew.
    assert json.loads((dataset / "1.0.1" / "cibles.json").read_bytes()) == json.loads(
        (dataset / "1.0.0" / "cibles.json").read_bytes()
    )
    assert b",3.0," in (dataset / "1.0.0" / "cibles.csv").read_bytes()
    assert b",3.0," not in (dataset / "1.0.1" / "cibles.csv").read_bytes()
    assert (dataset / "1.0.1" / "cibles.parquet").read_bytes() == (
        dataset / "1.0.0" / "cibles.parquet"
    ).read_bytes()


def test_an_older_version_without_numbers_gets_no_format_reason(
    small, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import publish.release as release

    records = {"engagements": [engagement(1)], "ambitions": [ambition(1, 1)]}
    with monkeypatch.context() as before:
        before.setattr(release, "FORMAT_REVISION", 1)
        small(tmp_path, records)
    assert small(tmp_path, records).published is False  # same bytes: nothing to publish
    records["engagements"][0]["titre"] = "Titre corrigé"
    assert small(tmp_path, records).version == "1.0.1"
    log = json.loads((tmp_path / "datasets" / "plan-action-pgo-2021-2023" / "versions.json").read_bytes())
    assert log["versions"][-1]["reasons"] == ["engagements: 1 ligne(s) modifiée(s)"]
