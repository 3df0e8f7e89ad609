"""The command, in-process (typer's CliRunner): exit codes per command and kind of error,
the one error handler, the renamed options, and the README that documents them."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.cli.app import EXIT_CONFIG, EXIT_INVALID, EXIT_OK, command
from pipelines.cli.french import FrenchGroup, with_new_names
from pipelines.core.errors import (
    ConfigError,
    DataRejected,
    PipelineError,
    SourceUnavailable,
    ValidationFailed,
)
from pipelines.core.problems import Problem, Severity
from pipelines.io.lock import LockHeld
from tests.conftest import PLAN_SLUG, PROGRESS_SLUG, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> dict[str, Any]:
    """Every command by its full name (``status``, or ``group sub`` for a group's)."""
    found: dict[str, Any] = {}
    for name, cmd in get_command(app).commands.items():  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):
            found.update({f"{name} {sub}": c for sub, c in cmd.commands.items()})
        else:
            found[name] = cmd
    return found


def option_names(cmd: Any, hidden: bool = False) -> set[str]:
    return {
        name
        for param in cmd.params
        if param.param_type_name == "option" and (hidden or not param.hidden)
        for name in (*param.opts, *param.secondary_opts)
    } | {"--help"}


def readme_usages() -> list[tuple[str, set[str]]]:
    """Each ``ogp …`` the README shows in code (inline or in a block): the command and the
    options it names."""
    snippets = re.findall(r"`(ogp [^`\n]+)`", README)
    snippets += re.findall(r"^\s*(?:\$ )?(ogp [^\n#]+)", README, flags=re.MULTILINE)
    known = commands()
    groups = {name.split()[0] for name in known if " " in name}
    usages = []
    for snippet in snippets:
        words = snippet.split()
        name = words[1]
        if len(words) > 2 and f"{name} {words[2]}" in known:
            name = f"{name} {words[2]}"
        if name.startswith("-") or (name in groups and len(words) == 2):
            continue  # ogp --help; a group named alone (« ogp dropoff »)
        usages.append((name, set(re.findall(r"--[a-z][a-z-]*", snippet))))
    return usages


def test_every_command_is_documented_in_the_readme() -> None:
    assert len(commands()) >= 15
    for name in commands():  # a group's too: ogp dropoff serve, grant…
        assert f"`ogp {name}" in README, name


def test_every_command_and_option_the_readme_shows_exists() -> None:
    usages = readme_usages()
    assert len(usages) > 30
    known = commands()
    for name, options in usages:
        assert name in known, f"ogp {name}"
        assert options <= option_names(known[name]), (name, options - option_names(known[name]))


def test_every_option_of_every_command_is_in_its_readme_usage() -> None:
    """The full usage line of each command (``- `ogp NAME …```) names all its options."""
    for name, cmd in commands().items():
        usage = re.search(rf"^- `(ogp {name}(?: [^`]*)?)`", README, flags=re.MULTILINE)
        assert usage is not None, f"no usage line for ogp {name}"
        shown = set(re.findall(r"--[a-z][a-z-]*", usage.group(1))) | {"--help"}
        assert option_names(cmd) <= shown, (name, option_names(cmd) - shown)


def test_former_option_names_are_hidden_and_said_to_go() -> None:
    known = commands()
    for name, old, new in (("status", "--relances", "--reminders"), ("template", "--cibles", "--targets")):
        assert new in option_names(known[name]) and old not in option_names(known[name], hidden=True)
        assert known[name].renamed == {old: new}
        assert f"`{old}`" in README  # the README says they will go
    assert known["check"].renamed == {"--afficher": "--show"}


def test_renaming_rewrites_names_and_leaves_values_alone() -> None:
    renamed = {"--afficher": "--show"}
    assert with_new_names(["x.csv", "--afficher", "3"], renamed) == (["x.csv", "--show", "3"], ["--afficher"])
    assert with_new_names(["--afficher=3"], renamed) == (["--show=3"], ["--afficher"])
    assert with_new_names(["--show", "3", "--", "--afficher"], renamed) == (
        ["--show", "3", "--", "--afficher"],
        [],
    )


# --- Exit codes: the one handler -------------------------------------------------------------


def problem() -> Problem:
    return Problem(code="type-error", severity=Severity.ERROR, message="m", table="t", row=2, field="f")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationFailed("Données invalides.", [problem()]), EXIT_INVALID),
        (DataRejected("Rejeté.", rejected=["a.csv"]), EXIT_INVALID),
        (ConfigError("Réglage faux.", hint="Corrigez."), EXIT_CONFIG),
        (SourceUnavailable("Source illisible."), EXIT_CONFIG),
        (LockHeld(Path("site"), holder=12, timeout=1, what="Publication"), EXIT_CONFIG),
    ],
)
def test_every_error_goes_through_the_one_handler_with_its_exit_code(error: PipelineError, code: int) -> None:
    group = typer.Typer(cls=FrenchGroup)

    @command(group)
    def fails() -> None:
        raise error

    @command(group)
    def other() -> None:  # a group of one command would run it without its name
        pass

    result = CliRunner().invoke(group, ["fails"])
    assert result.exit_code == code
    assert result.stderr.startswith(f"Erreur : {error.message}") and result.stdout == ""
    assert ("Que faire : " in result.stderr) == bool(error.hint)
    assert ("type-error" in result.stderr) == isinstance(error, ValidationFailed)


def test_an_unexpected_error_is_not_swallowed() -> None:
    group = typer.Typer(cls=FrenchGroup)

    @command(group)
    def breaks() -> None:
        raise RuntimeError("bogue")

    @command(group)
    def other() -> None:
        pass

    result = CliRunner().invoke(group, ["breaks"])
    assert isinstance(result.exception, RuntimeError)  # its traceback is the bug report


def invoke(*args: str, **env: str) -> Any:
    return CliRunner().invoke(app, list(args), env=env or None)


def test_versions_of_an_unpublished_dataset_is_a_configuration_error(tmp_path: Path) -> None:
    result = invoke("versions", PLAN_SLUG, "--out", str(tmp_path))
    assert result.exit_code == EXIT_CONFIG and result.stderr.startswith("Erreur : ")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_rollback_builds_checked_settings(tmp_path: Path) -> None:
    result = invoke(
        "rollback", PLAN_SLUG, "1.0.0", "--out", str(tmp_path), OGP_DATASETS_DIR=str(tmp_path / "x")
    )
    assert result.exit_code == EXIT_CONFIG and "datasets_dir" in result.stderr


@pytest.mark.parametrize(
    "arguments", [["status", PROGRESS_SLUG], ["template", "--org", "ditp", "--out", "x.csv"]]
)
def test_a_setting_that_does_not_read_is_named_not_a_traceback(arguments: list[str], tmp_path: Path) -> None:
    result = invoke(*arguments, OGP_LOCK_TIMEOUT="bientôt", OGP_STATE_DIR=str(tmp_path))
    assert result.exit_code == EXIT_CONFIG
    assert "OGP_LOCK_TIMEOUT" in result.stderr and "bientôt" not in result.stderr


def test_withdraw_from_an_empty_state_folder(tmp_path: Path) -> None:
    result = invoke("withdraw", PROGRESS_SLUG, "abcd", "--reason", "erreur", "--state-dir", str(tmp_path))
    assert result.exit_code == EXIT_CONFIG


def test_serve_a_missing_folder_or_a_busy_port(tmp_path: Path) -> None:
    missing = invoke("serve", "--out", str(tmp_path / "absent"))
    assert missing.exit_code == EXIT_CONFIG and str(tmp_path / "absent") in missing.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = invoke("serve", "--out", str(tmp_path), "--port", str(busy.getsockname()[1]))
    assert taken.exit_code == EXIT_CONFIG and "--port" in taken.stderr


def test_validate_a_missing_file_validates_nothing(tmp_path: Path) -> None:
    sample = next((ROOT / "datasets" / PROGRESS_SLUG / "soumissions-exemple").rglob("*.csv"))
    result = invoke("validate", str(sample), str(tmp_path / "absent.csv"), OGP_STATE_DIR=str(tmp_path))
    assert result.exit_code == EXIT_CONFIG and str(tmp_path / "absent.csv") in result.stderr
    assert result.stdout == ""  # not even the file that exists


# --- ogp check: 0 valid, 1 invalid, 2 unreadable ----------------------------------------------


def schema(tmp_path: Path) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(
        '{"fields": [{"name": "n", "type": "integer"}, {"name": "avancement_pct", "type": "integer"}],'
        ' "primaryKey": ["n"]}',
        encoding="utf-8",
    )
    return path


def table(tmp_path: Path, *values: str) -> Path:
    path = tmp_path / "suivi.csv"
    path.write_text(
        "n,avancement_pct\n" + "".join(f"{n},{v}\n" for n, v in enumerate(values)), encoding="utf-8"
    )
    return path


def test_check_a_valid_table(tmp_path: Path) -> None:
    result = invoke("check", str(table(tmp_path, "20")), "--schema", str(schema(tmp_path)))
    assert result.exit_code == EXIT_OK, result.output
    assert "suivi : 1 ligne(s)" in result.stdout


def test_check_an_invalid_table_and_the_former_name_of_show(tmp_path: Path) -> None:
    path = table(tmp_path, "x", "y", "z")
    shown = invoke("check", str(path), "--schema", str(schema(tmp_path)), "--show", "1")
    assert shown.exit_code == EXIT_INVALID
    assert shown.stdout.count("champ avancement_pct") == 1 and "… et 2 autre(s)" in shown.stdout
    assert shown.stderr.startswith("Erreur : ") and "Note :" not in shown.stderr
    former = invoke("check", str(path), "--schema", str(schema(tmp_path)), "--afficher=2")
    assert former.exit_code == EXIT_INVALID and former.stdout.count("champ avancement_pct") == 2
    assert former.stderr.startswith("Note : ") and "--afficher" in former.stderr and "--show" in former.stderr


def test_check_what_cannot_be_read(tmp_path: Path) -> None:
    assert invoke("check", str(tmp_path / "absent.csv")).exit_code == EXIT_CONFIG
    broken = tmp_path / "schema.json"
    broken.write_text("{pas du json", encoding="utf-8")
    path = table(tmp_path, "20")
    unreadable = invoke("check", str(path), "--schema", str(broken))
    assert unreadable.exit_code == EXIT_CONFIG and str(path) in unreadable.stderr
    descriptor = tmp_path / "datapackage.json"
    descriptor.write_text('{"resources": [', encoding="utf-8")
    assert invoke("check", str(descriptor)).exit_code == EXIT_CONFIG


def test_the_former_name_of_targets(tmp_path: Path) -> None:
    targets = tmp_path / "cibles.csv"
    made = invoke("template", "--org", "meae", "--out", str(targets), "--cibles", OGP_STATE_DIR=str(tmp_path))
    assert made.exit_code == EXIT_OK, made.output
    assert made.stderr.startswith("Note : ")
    assert targets.read_text(encoding="utf-8-sig").startswith("Cible;")  # the targets' sheet only
    assert CliRunner().invoke(app, ["template", "--help"]).stdout.count("--cibles") == 0


def test_progress_display_follows_the_steps_of_each_dataset() -> None:
    from pipelines.cli.output import ProgressDisplay
    from pipelines.io import steps as progress

    display = ProgressDisplay()
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


def test_ogp_run_finds_a_configured_prefect_server_as_prefect_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ogp run`` goes through Prefect only when a server is configured: the environment,
    then a prefect.toml in the current folder, then the active profile."""
    from pipelines.cli.publishing import configured_prefect_api

    for name in ("PREFECT_API_URL", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert configured_prefect_api() is None  # nothing configured: no profiles file at all
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "profiles.toml").write_text(
        'active = "ephemeral"\n[profiles.ephemeral]\nPREFECT_SERVER_EPHEMERAL_ENABLED = "true"\n'
        '[profiles.local]\nPREFECT_API_URL = "http://127.0.0.1:4200/api"\n',
        encoding="utf-8",
    )
    assert configured_prefect_api() is None
    monkeypatch.setenv("PREFECT_PROFILE", "local")
    assert configured_prefect_api() == "http://127.0.0.1:4200/api"
    (tmp_path / "prefect.toml").write_text('[api]\nurl = "http://ordonnanceur:4200/api"\n', encoding="utf-8")
    assert configured_prefect_api() == "http://ordonnanceur:4200/api"
    monkeypatch.setenv("PREFECT_API_URL", "http://serveur:4200/api")
    assert configured_prefect_api() == "http://serveur:4200/api"
    monkeypatch.setenv("PREFECT_API_URL", "")  # set empty: no server, whatever the files say
    assert configured_prefect_api() is None
