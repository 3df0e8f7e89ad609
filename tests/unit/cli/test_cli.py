from __future__ import annotations

from pathlib import Path

from typer.main import get_command
from typer.testing import CliRunner

from pipelines.cli import app
from tests.conftest import ROOT


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = get_command(app).commands  # type: ignore[attr-defined]
    assert commands
    for name, command in commands.items():
        assert f"ogp {name}" in readme, name
        for sub in getattr(command, "commands", {}):  # a group: ogp dropoff serve, grant…
            assert f"ogp {name} {sub}" in readme, (name, sub)


def test_versions_of_an_unpublished_dataset_is_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["versions", "plan-action-pgo-2021-2023", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "Aucune version publiée" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_progress_display_follows_the_steps_of_each_dataset() -> None:
    from pipelines.cli import _ProgressDisplay
    from pipelines.io import steps as progress

    display = _ProgressDisplay()
    progress.watch(display)
    try:
        progress.step("plan", "collecte")
        progress.step("suivi", "collecte")
        progress.step("plan", "publication")
        progress.done("plan")
    finally:
        progress.unwatch(display)
    tasks = {t.description: (t.completed, t.fields["step"]) for t in display.progress.tasks}
    assert tasks == {"plan": (3, "terminé"), "suivi": (1, "collecte")}
    progress.step("plan", "collecte")  # no watcher left: nothing happens
    assert {t.description: t.completed for t in display.progress.tasks}["plan"] == 3
