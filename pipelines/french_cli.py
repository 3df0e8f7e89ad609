"""Adapter for the command: the texts click and typer write themselves (help, usage,
errors on arguments) in French, through gettext, their own translation mechanism.

Imported by ``pipelines.cli`` before typer: typer reads its panel titles at import. The
catalogue is ``pipelines/locale/fr/LC_MESSAGES/messages.po`` (compiled to ``.mo``). A
person who has chosen a language (``LANGUAGE``) keeps it.
"""

from __future__ import annotations

import gettext
import os
import re
import sys
from pathlib import Path
from typing import Any

LOCALE_DIR = Path(__file__).resolve().parent / "locale"

os.environ.setdefault("LANGUAGE", "fr")
gettext.bindtextdomain("messages", str(LOCALE_DIR))


# What typer's own copy of click writes without gettext (« Usage: », the help option,
# usage errors), said in French by the command classes of ``ogp``.
# Imported once gettext knows where the catalogue is: typer reads its texts at import.
import typer.core  # noqa: E402

# typer (>= 0.24) carries its own copy of click: its exceptions are these.
from typer._click.exceptions import ClickException, UsageError  # noqa: E402
from typer.exceptions import Abort  # noqa: E402

HELP_TEXT = "Affiche cette aide et s'arrête."
USAGE_PREFIX = "Utilisation : "
_ENGLISH = (
    (re.compile(r"^No such command '(.+)'\.$"), "Commande inconnue : « {0} »."),
    (re.compile(r"^No such option: (.+)$"), "Option inconnue : {0}."),
    (re.compile(r"^Got unexpected extra arguments? \((.+)\)$"), "Argument(s) en trop : {0}."),
    (re.compile(r"^Option '(.+)' requires an argument\.$"), "L'option « {0} » attend une valeur."),
)


def french_message(error: Any) -> str:
    """A usage error as a French sentence: what is missing or wrong, by name."""
    kind = type(error).__name__
    param = getattr(error, "param", None)
    name = getattr(param, "human_readable_name", None) or getattr(param, "name", None)
    if kind == "MissingParameter" and name:
        what = {"argument": "l'argument", "option": "l'option"}.get(
            getattr(param, "param_type_name", ""), "le paramètre"
        )
        return f"Il manque {what} {name}."
    if kind == "BadParameter" and name:
        return f"Valeur invalide pour {name} : {error.message}"
    message = error.format_message()
    for pattern, text in _ENGLISH:
        found = pattern.match(message)
        if found:
            return text.format(*found.groups())
    return message


def _print_usage_error(error: Any) -> None:
    from rich.console import Console
    from rich.panel import Panel

    console = Console(stderr=True)
    context = getattr(error, "ctx", None)
    if context is not None:
        console.print(context.get_usage(), highlight=False, markup=False)
        console.print(f"Pour l'aide : '{context.command_path} --help'.", highlight=False, markup=False)
    console.print(
        Panel(french_message(error), title="Erreur", title_align="left", border_style="red"), highlight=False
    )


class _French:
    """What ``ogp``'s group and commands say in French that typer's click does not translate."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_TEXT
        return option

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(
            ctx.command_path,
            " ".join(self.collect_usage_pieces(ctx)),  # type: ignore[attr-defined]
            prefix=USAGE_PREFIX,
        )

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]
        except UsageError as error:
            _print_usage_error(error)
            sys.exit(error.exit_code)
        except ClickException as error:
            print(f"Erreur : {error.format_message()}", file=sys.stderr)
            sys.exit(error.exit_code)
        except Abort:
            print("Interrompu.", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


class FrenchGroup(_French, typer.core.TyperGroup):
    """The ``ogp`` group."""


class FrenchCommand(_French, typer.core.TyperCommand):
    """An ``ogp`` command."""
