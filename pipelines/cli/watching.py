"""Command: ``ogp watch``, the stewards mailed about the scheduled runs that need them.

Run every 10 minutes by ``ogp-veille.timer`` (deploy/systemd); see ``pipelines.intake.alerts``
for which runs and why a watch. Prints one line per alert (the run, the reason, what became
of its mail), never an address.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli.app import EXIT_CONFIG, DatasetsDir, StateDir, command, settings
from pipelines.cli.output import say

REASONS = {"echec": "échec", "rejet": "fichier(s) rejeté(s)", "retard": "non démarré"}


@command(name="watch")
def watch(
    late_after: Annotated[
        int,
        typer.Option(
            "--late-after",
            min=0,
            help="Minutes après l'heure prévue au-delà desquelles un passage non démarré est signalé.",
        ),
    ] = 10,
    since: Annotated[
        int, typer.Option("--since", min=1, help="Heures en arrière où chercher les passages (défaut 48).")
    ] = 48,
    api: Annotated[
        str | None,
        typer.Option(
            help="Adresse de l'API Prefect (défaut : PREFECT_API_URL, sinon http://127.0.0.1:4200/api)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Affiche les alertes dues sans rien envoyer.")
    ] = False,
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Prévient les pilotes (OGP_ALERT_TO) par courriel des passages planifiés en échec, avec un fichier rejeté, ou non démarrés ; une fois par passage."""
    import datetime as dt

    from pipelines.cli.publishing import configured_prefect_api
    from pipelines.intake.alerts import watch as watch_runs
    from pipelines.intake.mail import ALREADY_SENT
    from pipelines.io.prefect_api import DEFAULT_API

    config = settings(state_dir=state_dir, datasets_dir=datasets_dir)
    done = watch_runs(
        config,
        api or configured_prefect_api() or DEFAULT_API,
        now=dt.datetime.now(dt.UTC),
        late_after=dt.timedelta(minutes=late_after),
        since=dt.timedelta(hours=since),
        dry_run=dry_run,
    )
    if dry_run:
        for alert, _ in done.alerts:
            say(f"{alert.run.name} ({REASONS[alert.reason]}) : alerte due, non envoyée (--dry-run).")
        say(f"{len(done.alerts)} alerte(s) due(s) ; déjà envoyées ou non, rien n'est envoyé.")
        return
    failed = False
    for alert, posted in done.alerts:
        if posted is None or posted.state == ALREADY_SENT:
            continue
        failed = failed or not posted.sent
        outcome = f"envoyée à {posted.accepted} pilote(s)" if posted.sent else f"non envoyée ({posted.state})"
        detail = f" ; {posted.detail}" if posted.detail else ""
        say(f"{alert.run.name} ({REASONS[alert.reason]}) : alerte {outcome}{detail}.")
    told = sum(1 for _, p in done.alerts if p is not None and p.state == ALREADY_SENT)
    say(f"{len(done.alerts) - told} nouvelle(s) alerte(s), {told} déjà envoyée(s).")
    if failed:
        raise typer.Exit(EXIT_CONFIG)
