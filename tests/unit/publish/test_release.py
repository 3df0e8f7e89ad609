"""Publishing a version: nothing when unchanged, nothing when invalid, one rename when new."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipelines.core.errors import ValidationFailed
from pipelines.validate.package import validate_datapackage
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
