"""`ogp run` end to end, as a steward runs it: a real process, Prefect's ephemeral server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import frictionless
import pytest

from tests.conftest import PLAN_SLUG, ROOT

pytestmark = pytest.mark.slow

OGP = Path(sys.executable).parent / "ogp"
TABLES = ["engagements", "ambitions", "actions", "organisations", "porteurs", "responsables"]
ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def ogp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OGP), *args], capture_output=True, text=True, env=ENV, timeout=300)


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file's bytes and every link's target, by relative path."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = ogp("run", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_layout_of_the_published_plan(first_run: Path) -> None:
    dataset = first_run / "datasets" / PLAN_SLUG
    assert os.readlink(dataset / "latest") == "1.0.0"
    latest = dataset / "latest"
    expected = {f"{t}.{fmt}" for t in TABLES for fmt in ("csv", "parquet", "json")}
    assert expected | {"datapackage.json", "report.json"} == {p.name for p in latest.iterdir()}
    assert (dataset / "versions.json").is_file() and (dataset / "CHANGELOG.md").is_file()


def test_frictionless_accepts_the_published_package(first_run: Path) -> None:
    report = frictionless.validate(
        str(first_run / "datasets" / PLAN_SLUG / "latest" / "datapackage.json"), limit_errors=10**6
    )
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "type", "note"])
    assert len(report.tasks) == 18  # 6 tables × (CSV table + Parquet file + JSON file)


def test_rerun_on_unchanged_inputs_publishes_nothing(first_run: Path) -> None:
    before = tree(first_run)
    result = ogp("run", "--out", str(first_run))
    assert result.returncode == 0, result.stderr
    assert "inchangé" in result.stdout
    assert tree(first_run) == before


def test_rebuild_from_scratch_is_byte_identical(first_run: Path, tmp_path: Path) -> None:
    result = ogp("run", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path) == tree(first_run)


def test_changed_source_is_a_clear_error_and_publishes_nothing(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", datasets)
    source = datasets / PLAN_SLUG / "source" / "synthese-plan-action-national-2021-2023.txt"
    source.write_text(source.read_text(encoding="utf-8") + "\nAjout.\n", encoding="utf-8")
    out = tmp_path / "site"
    result = ogp("run", "--datasets-dir", str(datasets), "--out", str(out))
    assert result.returncode == 2
    assert "a changé" in result.stderr and "dataset.yaml" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (out / "datasets").exists()
