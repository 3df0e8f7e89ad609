"""Command: the published versions of a dataset: ``ogp versions``, ``ogp diff``, ``ogp rollback``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.app import Dataset, Out, StateDir, command, settings
from pipelines.cli.output import LEVELS_FR, console, say, show
from pipelines.core.errors import NotFound


@command()
def versions(dataset: Dataset, out: Out = Path("site")) -> None:
    """Liste les versions publiées d'un jeu de données, de la plus ancienne à la plus récente."""
    from publish.versioning import read_log

    log = read_log(out / "datasets" / dataset)
    if not log.versions:
        raise NotFound(
            f"Aucune version publiée de {dataset} dans {out}.",
            path=out / "datasets" / dataset,
            hint="Vérifiez le nom du jeu de données et le dossier de publication (--out).",
        )
    withdrawn = {e.version for e in log.withdrawn()}
    rows = []
    for entry in log.versions:
        counts = ", ".join(f"{t} +{c.added}/~{c.changed}/-{c.removed}" for t, c in entry.tables.items())
        state = "servie" if entry.version == log.served else "retirée" if entry.version in withdrawn else ""
        rows.append(
            (
                entry.version,
                entry.date,
                LEVELS_FR.get(entry.level, entry.level),
                counts,
                "; ".join(entry.reasons),
                entry.fingerprint[:12],
                state,
            )
        )
    show(
        console,
        f"Versions de {dataset}",
        ("Version", "Date", "Niveau", "Lignes (+/~/-)", "Motifs", "Empreinte", "État"),
        rows,
    )
    for event in log.rollbacks:
        console.print(
            f"Retour arrière le {event.date} : {event.from_version} → {event.to_version}"
            + (f" ({event.reason})" if event.reason else ""),
            highlight=False,
        )


@command()
def diff(
    dataset: Dataset,
    old: Annotated[str, typer.Argument(help="Version de départ, par exemple 1.0.0.")],
    new: Annotated[str, typer.Argument(help="Version d'arrivée, par exemple 1.1.0.")],
    out: Out = Path("site"),
) -> None:
    """Affiche les différences ligne à ligne entre deux versions publiées (clés, champs, valeurs)."""
    from publish.versioning.diff import diff_versions, render_diff

    difference = diff_versions(out / "datasets" / dataset, old, new)
    typer.echo(render_diff(dataset, difference), nl=False)


@command()
def rollback(
    dataset: Dataset,
    version: Annotated[str, typer.Argument(help="Version à servir de nouveau, par exemple 1.0.0.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Dossier de publication (défaut : celui de la campagne, sinon ./site)."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Motif, inscrit dans l'historique des versions.")] = "",
    include_withdrawn: Annotated[
        bool,
        typer.Option(
            "--include-withdrawn",
            help="Sert la version même si elle contient des lignes de soumissions retirées depuis.",
        ),
    ] = False,
    state_dir: StateDir = None,
) -> None:
    """Sert de nouveau une version antérieure (latest), sans supprimer aucune version."""
    from pipelines.core.config import load_dataset
    from pipelines.state.campaign import resolve_campaign
    from publish.operations import roll_back

    config = settings(state_dir=state_dir)
    # A dataset no longer defined can still be rolled back (its versions are all there is).
    if (config.datasets_dir / dataset / "dataset.yaml").is_file():
        definition = load_dataset(config.datasets_dir / dataset)
        if definition.source.kind == "submissions":  # --out checked against the campaign's
            out = out or resolve_campaign(definition, config, out=out).campaign.output
    out = out or Path("site")
    previous = roll_back(out, config, dataset, version, reason, include_withdrawn=include_withdrawn)
    if previous == version:
        say(f"{dataset} sert déjà la version {version} : rien à faire.")
    else:
        say(
            f"{dataset} : latest pointe de nouveau sur {version} (au lieu de {previous}) ; "
            "aucune version n'a été supprimée."
        )
