"""Command: the ``ogp`` application, its one error handler, its shared options and settings.

Every command is registered with :func:`command`. What a command raises as a
:class:`~pipelines.core.errors.PipelineError` is printed here, in French (what happened,
then what to do), and ends the command with the error's ``exit_code``; no command prints
an error or picks a failing exit code itself. An unexpected exception is not caught: its
traceback is a bug report. The exit codes are the README's:

- 0 (:data:`EXIT_OK`): done, or nothing to do;
- 1 (:data:`EXIT_INVALID`): the data is invalid (``ValidationFailed``, ``DataRejected``);
- 2 (:data:`EXIT_CONFIG`): a configuration or source problem (every other error);
- 3 (:data:`EXIT_REJECTED`): published, but a submission was rejected (``ogp run``'s
  outcome, not an error: it is returned, not raised).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, ParamSpec

# isort: off
from pipelines.cli import french  # before typer, which reads its texts at import

# isort: on
import typer

from pipelines.cli.output import errors, show
from pipelines.core.config import Settings, load_settings
from pipelines.core.errors import PipelineError, ValidationFailed

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_CONFIG = 2
EXIT_REJECTED = 3

MAX_ISSUES_SHOWN = 50

app = typer.Typer(
    cls=french.FrenchGroup,
    help="Publication en données ouvertes du plan d'action PGO 2021-2023.",
    no_args_is_help=True,
    add_completion=False,
)

# Options and arguments several commands take, declared once.
Out = Annotated[Path, typer.Option(help="Dossier de publication.")]
StateDir = Annotated[
    Path | None,
    typer.Option(help="Dossier d'état : soumissions reçues, leurs rapports, la campagne (défaut ./var)."),
]
DatasetsDir = Annotated[Path | None, typer.Option(help="Dossier des définitions de jeux de données.")]
Dataset = Annotated[str, typer.Argument(help="Slug du jeu de données.")]
ProgressDataset = Annotated[
    str,
    typer.Argument(help="Slug du jeu de données de suivi, par exemple suivi-plan-action-pgo-2021-2023."),
]
Verbose = Annotated[
    bool, typer.Option("--verbose", help="Affiche aussi le journal détaillé de Prefect (niveau INFO).")
]

P = ParamSpec("P")


def settings(*, state_dir: Path | None = None, datasets_dir: Path | None = None) -> Settings:
    """The settings of a command: the options given over the environment, checked (the one
    way every command builds them, ``pipelines.core.config.load_settings``)."""
    return load_settings(state_dir=state_dir, datasets_dir=datasets_dir)


def command(
    group: typer.Typer | None = None, *, renamed: Mapping[str, str] | None = None, **options: Any
) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """``app.command`` (or ``group.command``) with the one error handler. ``renamed`` maps
    former option names to current ones, accepted for one version with a note (see
    ``pipelines.cli.french``)."""
    cls: type[french.FrenchCommand] = french.FrenchCommand
    if renamed:
        cls = type("RenamedOptionsCommand", (french.FrenchCommand,), {"renamed": dict(renamed)})

    def register(function: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(function)
        def handled(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                function(*args, **kwargs)
            except PipelineError as exc:
                fail(exc)

        (group or app).command(cls=cls, **options)(handled)
        return handled

    return register


def fail(exc: PipelineError) -> None:
    """Prints ``exc`` as French sentences and ends the command with its exit code."""
    errors.print(f"[bold red]Erreur :[/] {exc.message}", highlight=False)
    if isinstance(exc, ValidationFailed):
        show(
            errors,
            "Erreurs de validation",
            ("Table", "Ligne", "Champ", "Code", "Message"),
            [
                (issue.table or "", str(issue.row or ""), issue.field or "", issue.code, issue.message)
                for issue in exc.issues[:MAX_ISSUES_SHOWN]
            ],
        )
        if len(exc.issues) > MAX_ISSUES_SHOWN:
            errors.print(f"… et {len(exc.issues) - MAX_ISSUES_SHOWN} autres erreurs.")
    if exc.hint:
        errors.print(f"[bold]Que faire :[/] {exc.hint}", highlight=False)
    raise typer.Exit(code=exc.exit_code)
