"""Command: ``ogp check``, a table or a Data Package checked with frictionless's semantics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.app import command
from pipelines.core.errors import DataRejected


@command(renamed={"--afficher": "--show"})
def check(
    path: Annotated[Path, typer.Argument(help="Data Package (datapackage.json) ou fichier CSV à contrôler.")],
    schema: Annotated[
        Path | None, typer.Option(help="Schéma de table (Table Schema JSON) d'un fichier CSV.")
    ] = None,
    shown: Annotated[int, typer.Option("--show", help="Nombre d'erreurs détaillées affichées.")] = 20,
) -> None:
    """Contrôle une table, même de millions de lignes, selon les règles de frictionless.

    Les tables sont lues par colonnes (Arrow) ; frictionless les contrôle lui-même quand il
    les lirait autrement (encodage, délimiteur, en-tête). Toutes les erreurs sont comptées,
    sans limite. Code de sortie 1 s'il y en a, 2 si le fichier ne se lit pas.
    """
    from pipelines.io.startup import skip_pandas_probe

    skip_pandas_probe()  # before pyarrow converts anything: this command never needs pandas
    from pipelines.validate.columnar import ARROW
    from pipelines.validate.package import check_path

    result = check_path(path, schema)
    engine = "lecture par colonnes (Arrow)" if result.engine == ARROW else f"frictionless ({result.reason})"
    typer.echo(f"Contrôle selon frictionless : {engine}")
    for table, count in sorted(result.rows.items()):
        typer.echo(f"  {table} : {count} ligne(s)")
    if not result.issues:
        typer.echo("Valide : aucune erreur.")
        return
    by_code: dict[str, int] = {}
    for issue in result.issues:
        by_code[issue.code] = by_code.get(issue.code, 0) + 1
    typer.echo(
        f"Invalide : {len(result.issues)} erreur(s) — "
        + ", ".join(f"{code} {n}" for code, n in sorted(by_code.items()))
    )
    for issue in result.issues[:shown]:
        where = f"ligne {issue.row}" if issue.row else "fichier"
        typer.echo(f"  {issue.table}, {where}, champ {issue.field or '—'} : {issue.message}")
    if len(result.issues) > shown:
        typer.echo(f"  … et {len(result.issues) - shown} autre(s) (--show pour en voir plus).")
    raise DataRejected(
        f"{path} : {len(result.issues)} erreur(s).",
        rejected=[str(path)],
        problems=len(result.issues),
        hint="Corrigez les erreurs listées ci-dessus, puis contrôlez de nouveau.",
    )
