"""Command: the texts click and typer write themselves (help, usage, errors on arguments)
in French, through gettext, their own translation mechanism; and option names renamed.

Imported by ``pipelines.cli`` before typer: typer reads its panel titles at import. The
catalogue is ``pipelines/locale/fr/LC_MESSAGES/messages.po`` (compiled to ``.mo``). A
person who has chosen a language (``LANGUAGE``) keeps it.

Option names are English. A name an earlier version spelt in French still works for one
version (``renamed`` of a command class): it is read as the new name, hidden from the help,
and a French note says it will go.
"""

from __future__ import annotations

import gettext
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"  # pipelines/locale

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
    message: str = error.format_message()
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


def renamed_note(old: str, new: str) -> str:
    """What a person who typed an option's former name reads (on the error output)."""
    return (
        f"Note : l'option {old} s'appelle désormais {new} ; l'ancien nom fonctionne encore dans "
        "cette version et sera retiré dans la suivante."
    )


def with_new_names(args: list[str], renamed: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """``args`` with each former option name (``--old`` or ``--old=value``) written with its
    new name, and the former names met, in order. Nothing after ``--`` is touched: there
    the words are values, not options."""
    rewritten: list[str] = []
    met: list[str] = []
    for position, arg in enumerate(args):
        if arg == "--":
            return rewritten + args[position:], met
        name, equals, value = arg.partition("=")
        if name in renamed:
            met.append(name)
            arg = renamed[name] + equals + value
        rewritten.append(arg)
    return rewritten, met


class _French:
    """What ``ogp``'s group and commands say in French that typer's click does not translate."""

    # Former option name → current one (see the module's docstring).
    renamed: ClassVar[Mapping[str, str]] = {}

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if self.renamed:
            args, met = with_new_names(args, self.renamed)
            for old in met:
                print(renamed_note(old, self.renamed[old]), file=sys.stderr)
        return super().parse_args(ctx, args)  # type: ignore[misc, no-any-return]

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
