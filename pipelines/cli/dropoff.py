"""Command: the bodies' door, ``ogp dropoff serve|grant|list|revoke`` (README, « The bodies' door »)."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli import french
from pipelines.cli.app import DatasetsDir, StateDir, app, command, settings
from pipelines.cli.output import console, say, show
from pipelines.core.errors import ConfigError

dropoff = typer.Typer(
    cls=french.FrenchGroup,
    help="Le guichet de dépôt : chaque organisme dépose son rapport avec son lien personnel et lit le "
    "verdict aussitôt.",
    no_args_is_help=True,
)
app.add_typer(dropoff, name="dropoff")


@command(dropoff, name="serve")
def dropoff_serve(
    host: Annotated[
        str,
        typer.Option(help="Adresse d'écoute (127.0.0.1 : derrière un mandataire inverse sur cette machine)."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port d'écoute.")] = 8080,
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Ouvre le guichet de la campagne enregistrée dans le dossier d'état (serveur waitress ; Ctrl+C pour arrêter)."""
    from pipelines.intake.dropoff import DropOff
    from pipelines.web.app import create_app
    from pipelines.web.server import make_server, serve

    config = settings(state_dir=state_dir, datasets_dir=datasets_dir)
    door = DropOff(config)
    door.warm()
    application = create_app(door, config)
    try:
        server = make_server(application, config, host, port)
    except OSError as exc:
        raise ConfigError(
            f"Impossible d'écouter sur {host}:{port} ({exc.strerror}).",
            hint="Choisissez un autre port (--port) ou arrêtez ce qui l'occupe.",
            host=host,
            port=port,
        ) from None
    serve(
        server,
        lambda url: say(
            f"Guichet de {door.resolved.config.slug} ({door.layout.root}) servi sur {url} ; "
            f"liens personnels : {config.dropoff_url} (Ctrl+C pour arrêter)"
        ),
    )


@command(dropoff, name="grant")
def dropoff_grant(
    org: Annotated[
        str | None,
        typer.Option(help="Identifiant de l'organisme (table organisations du plan), par exemple ditp."),
    ] = None,
    steward: Annotated[
        bool,
        typer.Option(
            "--steward",
            help="Un accès à la console de pilotage (/pilotage) au lieu du guichet d'un organisme.",
        ),
    ] = False,
    label: Annotated[
        str, typer.Option(help="À qui est l'accès de pilotage (nom ou service), montré par ogp dropoff list.")
    ] = "",
    expires: Annotated[
        str | None, typer.Option(help="Dernier jour où le lien fonctionne, AAAA-MM-JJ (défaut : sans fin).")
    ] = None,
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Donne à un organisme son lien personnel vers le guichet (ou, avec --steward, un lien vers la console de pilotage), affiché une seule fois (dernière ligne)."""
    from pipelines.intake.dropoff import grant_body_access, grant_steward_access
    from pipelines.intake.links import personal_link

    config = settings(state_dir=state_dir, datasets_dir=datasets_dir)
    if steward == (org is not None):
        raise ConfigError(
            "Indiquez soit --org ORGANISME (le guichet d'un organisme), soit --steward (la console de pilotage).",
            hint="Par exemple : ogp dropoff grant --org ditp, ou ogp dropoff grant --steward --label « Équipe PGO ».",
        )
    if org is None:
        granted = grant_steward_access(config, label, expires)
        until = f"jusqu'au {granted.access.expires} inclus" if granted.access.expires else "sans date de fin"
        say(
            f"Accès de pilotage {granted.access.id} créé{f' pour {label}' if label else ''}, {until} : il ouvre "
            "la console (état de chaque organisme, relances, retraits). Ce lien ne sera plus jamais affiché :"
        )
        typer.echo(personal_link(config, granted.token))
        return
    minted, name = grant_body_access(config, org, expires)
    access = minted.access
    until = f"jusqu'au {access.expires} inclus" if access.expires else "sans date de fin"
    if minted.renewed:
        say(
            f"Nouveau lien pour l'accès {access.id} de {org} ({name}), {until} ; les liens envoyés avant "
            f"restent valides (ogp dropoff revoke {org} les invalide tous)."
        )
    else:
        say(f"Accès {access.id} créé pour {org} ({name}), {until}.")
    say(
        "Ce lien est personnel et ne sera plus jamais affiché (seule son empreinte est conservée) : "
        "envoyez-le à l'organisme."
    )
    typer.echo(personal_link(config, minted.token))


@command(dropoff, name="list")
def dropoff_list(state_dir: StateDir = None, datasets_dir: DatasetsDir = None) -> None:
    """Liste les accès au guichet : organisme, création, expiration, dernier usage, état (jamais les liens)."""
    from pipelines.intake.dropoff import access_store

    store = access_store(settings(state_dir=state_dir, datasets_dir=datasets_dir))
    accesses = store.all()
    today = store.today()
    states = {"active": "actif", "expiree": "expiré", "revoquee": "révoqué"}
    show(
        console,
        f"Accès au guichet ({len(accesses)})",
        ("Accès", "Organisme", "Créé le", "Expire le", "Dernier usage", "Liens", "État"),
        [
            (
                a.id,
                a.who,
                a.created_at,
                a.expires or "—",
                a.last_used_at or "jamais",
                str(len(a.tokens)),
                states[a.state(today)] + (f" le {a.revoked_at}" if a.revoked_at else ""),
            )
            for a in accesses
        ],
    )


@command(dropoff, name="revoke")
def dropoff_revoke(
    reference: Annotated[
        str, typer.Argument(help="Identifiant de l'organisme (tous ses accès actifs) ou d'un accès.")
    ],
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Révoque un accès : tous les liens envoyés sous cet accès cessent aussitôt de fonctionner."""
    from pipelines.intake.dropoff import access_store

    for access in access_store(settings(state_dir=state_dir, datasets_dir=datasets_dir)).revoke(reference):
        say(
            f"Accès {access.id} de {access.who} révoqué : ses {len(access.tokens)} lien(s) ne fonctionnent plus."
        )
