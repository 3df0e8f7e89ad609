"""The French guides show only commands and options that exist, and images that exist: a
steward who types what a guide shows gets the command, never « option inconnue »."""

from __future__ import annotations

import re
import shlex

import pytest
from typer._click.exceptions import ClickException
from typer.main import get_command

from pipelines.cli import app
from tests.conftest import ROOT

GUIDES = [ROOT / "docs" / "guide-campagne.md", ROOT / "docs" / "guide-organismes.md"]
FENCE = re.compile(r"```sh\n(.*?)```", re.S)


def shown_commands() -> list[str]:
    found = []
    for guide in GUIDES:
        for block in FENCE.findall(guide.read_text(encoding="utf-8")):
            found += [
                line.strip() for line in block.splitlines() if re.match(r"^(\w+=\S+ )*ogp ", line.strip())
            ]
    return found


def test_the_campaign_guide_shows_each_step_with_its_command() -> None:
    commands = {shlex.split(c)[1] for c in shown_commands()}
    assert commands >= {
        "campaign",
        "contacts",
        "run",
        "status",
        "remind",
        "withdraw",
        "publish",
        "versions",
        "rollback",
    }


@pytest.mark.parametrize("line", shown_commands())
def test_every_command_a_guide_shows_exists_with_its_options(line: str) -> None:
    words = [w for w in shlex.split(line) if not re.match(r"^\w+=", w)][1:]
    command = get_command(app)
    path = ["ogp"]
    while hasattr(command, "commands"):
        name = words.pop(0)
        assert name in command.commands, f"{' '.join(path)} has no command {name}"
        path.append(name)
        command = command.commands[name]
    try:
        command.make_context(" ".join(path), list(words))  # parses: unknown options, missing arguments, types
    except ClickException as exc:
        pytest.fail(f"{line}: {exc.format_message()}")


def test_every_image_a_guide_shows_is_there() -> None:
    for guide in GUIDES:
        for image in re.findall(r"!\[[^\]]+\]\(([^)]+)\)", guide.read_text(encoding="utf-8")):
            assert (guide.parent / image).is_file(), image
