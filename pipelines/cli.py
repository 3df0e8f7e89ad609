"""The ``ogp`` command: what data stewards type. Errors print as French sentences, never tracebacks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.errors import PipelineError, ValidationFailed

app = typer.Typer(
    help="Publication en données ouvertes du plan d'action PGO 2021-2023.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

MAX_ISSUES_SHOWN = 50


def _fail(exc: PipelineError) -> None:
    errors.print(f"[bold red]Erreur :[/] {exc.message}", highlight=False)
    if isinstance(exc, ValidationFailed):
        table = Table("Table", "Ligne", "Champ", "Code", "Message", title="Erreurs de validation")
        for issue in exc.issues[:MAX_ISSUES_SHOWN]:
            table.add_row(issue.table, str(issue.row or ""), issue.field or "", issue.code, issue.message)
        errors.print(table)
        if len(exc.issues) > MAX_ISSUES_SHOWN:
            errors.print(f"… et {len(exc.issues) - MAX_ISSUES_SHOWN} autres erreurs.")
    if exc.hint:
        errors.print(f"[bold]Que faire :[/] {exc.hint}", highlight=False)
    raise typer.Exit(code=1 if isinstance(exc, ValidationFailed) else 2)


@app.command()
def run(
    out: Annotated[Path, typer.Option(help="Dossier de publication.")] = Path("site"),
    datasets_dir: Annotated[
        Path | None, typer.Option(help="Dossier des définitions de jeux de données.")
    ] = None,
) -> None:
    """Collecte, valide et publie tous les jeux de données du catalogue (flux Prefect)."""
    # The temporary server's telemetry heartbeat races its own SQLite start-up and prints
    # a "database is locked" traceback; a steward's run sends no telemetry anyway.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Imported here: Prefect takes seconds to import and other commands do not need it.
    from pipelines.flows import publish_catalog_flow

    try:
        results = publish_catalog_flow(
            out=str(out), datasets_dir=str(datasets_dir) if datasets_dir else None
        )
    except PipelineError as exc:
        _fail(exc)
        return
    summary = Table("Jeu de données", "Version", "Publication", "Lignes par table",
                    title=f"Publication dans {out}")
    for result in results:
        rows = ", ".join(f"{t} {n}" for t, n in result.rows.items())
        state = "nouvelle version" if result.published else "inchangé"
        summary.add_row(result.slug, result.version, state, rows)
    console.print(summary)


@app.command()
def versions(
    dataset: Annotated[str, typer.Argument(help="Slug du jeu de données.")],
    out: Annotated[Path, typer.Option(help="Dossier de publication.")] = Path("site"),
) -> None:
    """Liste les versions publiées d'un jeu de données, de la plus ancienne à la plus récente."""
    from publish.versions import read_versions

    try:
        history = read_versions(out / "datasets" / dataset)
    except PipelineError as exc:
        _fail(exc)
        return
    if not history:
        errors.print(f"Aucune version publiée de {dataset} dans {out}.")
        raise typer.Exit(code=1)
    table = Table("Version", "Date", "Niveau", "Motifs", "Empreinte")
    for entry in history:
        table.add_row(entry["version"], entry["date"], entry["level"],
                      "; ".join(entry["reasons"]), entry["fingerprint"][:12])
    console.print(table)


if __name__ == "__main__":  # pragma: no cover - `python -m pipelines.cli`
    app()
