"""The systemd units a steward installs (deploy/systemd) are valid, run what the Makefile
runs, and are the ones the README shows, byte for byte."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

UNITS = sorted((ROOT / "deploy" / "systemd").glob("ogp-*.*"))
INSTALLED = "/srv/ogp/ogp-pipeline"  # where the units expect the checkout
README = (ROOT / "README.md").read_text(encoding="utf-8")


def analyze() -> str:
    found = shutil.which("systemd-analyze")
    assert found, "systemd-analyze is missing: `make systemd` installs Debian's systemd"
    return found


def test_the_units_are_those_of_a_campaign() -> None:
    assert [u.name for u in UNITS] == [
        "ogp-guichet.service",
        "ogp-prefect-server.service",
        "ogp-prefect-worker.service",
        "ogp-veille.service",
        "ogp-veille.timer",
    ]


def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    """Every unit, with the checkout where it is here (so that each command is checked to
    exist and be executable), verifies without a warning."""
    for unit in UNITS:
        assert INSTALLED in unit.read_text(encoding="utf-8") or unit.suffix == ".timer", unit.name
        (tmp_path / unit.name).write_text(unit.read_text(encoding="utf-8").replace(INSTALLED, str(ROOT)))
    result = subprocess.run(
        [analyze(), "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_a_unit_with_a_mistake_is_caught(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key, a command that does not exist."""
    worker = (ROOT / "deploy" / "systemd" / "ogp-prefect-worker.service").read_text(encoding="utf-8")
    (tmp_path / "ogp-prefect-worker.service").write_text(worker.replace("KillMode=", "KilMode="))
    result = subprocess.run(
        [analyze(), "verify", str(tmp_path / "ogp-prefect-worker.service")], capture_output=True, text=True
    )
    assert "KilMode" in result.stderr
    assert result.returncode != 0  # and the installed path does not exist here


def exec_start(unit: str) -> str:
    text = (ROOT / "deploy" / "systemd" / unit).read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    return line.removeprefix("ExecStart=").replace(INSTALLED + "/", "")


def test_the_worker_and_the_server_run_as_make_runs_them() -> None:
    """The same supervisor (one SIGTERM stops the tree) and the pool prefect.yaml deploys to."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pools = {
        d["work_pool"]["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    }
    assert pools == {"ogp-process"}
    worker, server = exec_start("ogp-prefect-worker.service"), exec_start("ogp-prefect-server.service")
    assert worker.startswith(".venv/bin/python -m pipelines.io.service ")
    assert worker.endswith(" -- .venv/bin/prefect worker start --pool ogp-process")
    assert server.startswith(".venv/bin/python -m pipelines.io.service ")
    assert re.search(
        r"^worker:.*\n\texec .*\$\(SERVICE\) \$\(BIN\)/prefect worker start --pool ogp-process$",
        makefile,
        re.M,
    )
    assert re.search(r"^server:.*\n\texec .*\$\(SERVICE\) \$\(BIN\)/prefect server start ", makefile, re.M)
    assert "SERVICE := $(BIN)/python -m pipelines.io.service --" in makefile


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_the_readme_shows_each_unit_as_it_is(unit: Path) -> None:
    blocks = re.findall(r"```ini\n(.*?)```", README, re.S)
    shown = f"# /etc/systemd/system/{unit.name}\n" + unit.read_text(encoding="utf-8")
    assert shown in blocks
