"""Crash safety: the publishing process is killed (SIGKILL) at every point where it
writes, renames or switches something; after each kill one complete, valid version is
served, and the next run finishes the job with exactly the files of an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.validate.package import validate_datapackage
from tests.conftest import PLAN_SLUG, ROOT
from tests.integration.publish_once import publish_plan

pytestmark = pytest.mark.slow

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
VERSION_FOLDER = r"^\d+\.\d+\.\d+$"


def snapshot(root: Path) -> dict[str, bytes | str]:
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


def run(datasets: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.integration.publish_once", str(datasets), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **EPOCH, **env},
    )


def assert_one_complete_version_served(out: Path) -> str:
    dataset = out / "datasets" / PLAN_SLUG
    served = os.readlink(dataset / "latest")
    log = json.loads((dataset / "versions.json").read_text(encoding="utf-8"))
    listed = [v["version"] for v in log["versions"]]
    assert served in listed
    for folder in dataset.iterdir():
        if folder.is_dir() and not folder.is_symlink() and folder.name[0].isdigit():
            # Every version folder that exists is whole: files, sizes and hashes.
            assert validate_datapackage(folder / "datapackage.json") == [], folder.name
    return served


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str], dict]:
    """(changed datasets, output holding 1.0.0, kill points of the next run, its final tree)."""
    root = tmp_path_factory.mktemp("kill")
    os.environ.update(EPOCH)
    base = root / "base"
    publish_plan(ROOT / "datasets", base)
    changed = root / "datasets"
    shutil.copytree(ROOT / "datasets", changed)
    reference = changed / PLAN_SLUG / "reference" / "organisations.yaml"
    document = yaml.safe_load(reference.read_text(encoding="utf-8"))
    first = document["organisations"][0]  # a reclassified body: one row changed, PATCH
    first["type"] = "administration_centrale" if first["type"] == "ministere" else "ministere"
    reference.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    uninterrupted = root / "uninterrupted"
    shutil.copytree(base, uninterrupted, symlinks=True)
    log = root / "points.log"
    result = run(changed, uninterrupted, OGP_FAILPOINT_LOG=str(log))
    assert result.returncode == 0 and result.stdout.split() == ["1.0.1", "True"], result.stderr
    points = [line.split(" ", 1)[1] for line in log.read_text(encoding="utf-8").splitlines()]
    return changed, base, points, snapshot(uninterrupted)


def test_there_are_at_least_20_kill_points(setting: tuple) -> None:
    _, _, points, _ = setting
    assert len(points) >= 20
    assert {"commit", "write:versions.json", "latest"} <= set(points)


def test_killed_at_every_point_serves_a_complete_version_and_the_next_run_finishes(
    setting: tuple, tmp_path: Path
) -> None:
    changed, base, points, final = setting
    for number, point in enumerate(points, start=1):
        out = tmp_path / f"kill-{number}"
        shutil.copytree(base, out, symlinks=True)
        killed = run(changed, out, OGP_FAILPOINT_KILL=str(number))
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        served = assert_one_complete_version_served(out)
        assert served in ("1.0.0", "1.0.1"), point
        result = publish_plan(changed, out)
        assert result.version == "1.0.1", point
        assert snapshot(out) == final, f"after a kill at {number} ({point})"
        shutil.rmtree(out)
