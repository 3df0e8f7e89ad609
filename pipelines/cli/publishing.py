"""Command: the commands that make and show the output: ``ogp run``, ``ogp publish``, ``ogp serve``."""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from pipelines.cli.app import EXIT_REJECTED, DatasetsDir, Out, StateDir, Verbose, command, settings
from pipelines.cli.output import ProgressDisplay, console, errors, say, show
from pipelines.core.errors import ConfigError, NotFound

if TYPE_CHECKING:
    from publish.run import DatasetOutcome

MAX_PROBLEMS_PER_FILE = 3
MAX_PROBLEMS_SHOWN = 10


def quiet_libraries(verbose: bool) -> None:
    """Prefect's INFO lines (temporary server, task states, English hints) and Dask's stay out
    of what a steward reads, unless ``--verbose``; warnings and errors still show, but not
    Prefect's English line about an error of ours (``OGP_QUIET_KNOWN_ERRORS``, read by
    ``pipelines.deployments``): the French message follows it anyway.

    Must run before Prefect is imported: its logging settings are read then."""
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # --dask: scheduler chatter
        os.environ["OGP_QUIET_KNOWN_ERRORS"] = "1"  # inherited by Dask's worker processes
    else:
        os.environ["OGP_QUIET_KNOWN_ERRORS"] = "0"  # Prefect's lines stay, without traceback


def task_runner(dask: str | None) -> Any:
    """None (Prefect's default thread pool), or a Dask cluster: local, or at an address."""
    if not dask:
        return None
    from prefect_dask.task_runners import DaskTaskRunner

    if dask == "local":
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": 2,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    return DaskTaskRunner(address=dask)


def run_flow(
    out: Path, datasets_dir: Path | None, state_dir: Path | None, dask: str | None, verbose: bool
) -> list[DatasetOutcome]:
    """The run as the Prefect flow ``publier-catalogue``: on the configured server (its
    states, artifacts and logs kept there), else on a temporary one (``--dask`` alone)."""
    # The temporary server's telemetry heartbeat races its own SQLite start-up and prints
    # a "database is locked" traceback; a steward's run sends no telemetry anyway.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary server gets 20 s to start by default: a busy machine (a campaign run
    # beside other jobs) takes longer, and the run would fail for nothing.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    quiet_libraries(verbose)
    # Imported here: Prefect takes seconds to import and other commands do not need it.
    from pipelines.flows import publish_catalog_flow

    flow = publish_catalog_flow
    runner = task_runner(dask)
    if runner is not None:
        flow = publish_catalog_flow.with_options(task_runner=runner)
    # A flow that returns a State gives its caller the state's data: the outcomes.
    return cast(
        "list[DatasetOutcome]",
        flow(
            out=str(out),
            datasets_dir=str(datasets_dir) if datasets_dir else None,
            state_dir=str(state_dir) if state_dir else None,
        ),
    )


def configured_prefect_api() -> str | None:
    """The Prefect server a steward configured, if any, read as Prefect reads it but without
    importing Prefect (seconds): ``PREFECT_API_URL`` in the environment, else ``[api] url``
    of a ``prefect.toml`` in the current folder, else ``PREFECT_API_URL`` of Prefect's
    active profile (``prefect config set PREFECT_API_URL=…``, ``prefect profile use``)."""
    if "PREFECT_API_URL" in os.environ:
        return os.environ["PREFECT_API_URL"] or None
    local = _read_toml(Path("prefect.toml"))
    url = local.get("api", {}).get("url") if isinstance(local.get("api"), dict) else None
    if url:
        return str(url)
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    profiles = _read_toml(Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml"))
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    profile = profiles.get("profiles", {}).get(active, {})
    url = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return str(url) if url else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # Prefect would say what is wrong with it, if it were used


def _log_steps(dataset: str, step: str) -> None:
    logging.getLogger("ogp.run").info("%s : %s", dataset, step)


@command()
def run(
    out: Out = Path("site"),
    datasets_dir: DatasetsDir = None,
    state_dir: StateDir = None,
    dask: Annotated[
        str | None,
        typer.Option(
            help="Exécuter les tâches sur un cluster Dask : « local » (2 processus) ou l'adresse d'un "
            "ordonnanceur (tcp://hôte:8786)."
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Collecte, valide et publie tous les jeux de données du catalogue (flux Prefect si un serveur Prefect
    est configuré ou avec --dask)."""
    from pipelines.io import steps as progress

    display = ProgressDisplay() if errors.is_terminal else None
    if display is not None:
        progress.watch(display)
        display.progress.start()
    with_prefect = bool(dask) or configured_prefect_api() is not None
    if verbose and not with_prefect:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s | %(levelname)s | %(name)s - %(message)s")
        progress.watch(_log_steps)
    try:
        if with_prefect:
            outcomes = run_flow(out, datasets_dir, state_dir, dask, verbose)
        else:
            # On one machine, without a Prefect server: the same steps called directly (see
            # publish.run); nothing of Prefect is imported or started. pandas is imported
            # only if a submission's business rules are checked (great-expectations).
            from pipelines.io.startup import skip_pandas_probe

            skip_pandas_probe()
            from publish.run import run_catalog

            outcomes = run_catalog(out, settings(datasets_dir=datasets_dir, state_dir=state_dir))
    finally:
        progress.unwatch(_log_steps)
        if display is not None:
            display.progress.stop()
            progress.unwatch(display)
    rows = []
    collections = []
    for outcome in outcomes:
        result = outcome.release
        counts = ", ".join(f"{t} {n}" for t, n in result.rows.items())
        state = "nouvelle version" if result.published else "inchangé"
        if result.note:
            state += f" ({result.note})"
        received = "—"
        if outcome.collection is not None:
            c = outcome.collection
            received = f"{len(c.accepted)} / {len(c.rejected) + len(c.refused)} ({c.unchanged} déjà reçue(s))"
            collections.append(c)
        rows.append((result.slug, result.version, state, received, counts, f"{outcome.seconds:.1f} s"))
    show(
        console,
        f"Publication dans {out}",
        (
            "Jeu de données",
            "Version",
            "Publication",
            "Soumissions acceptées / rejetées",
            "Lignes par table",
            "Durée",
        ),
        rows,
    )
    show_received(collections)
    from publish.catalog import local_address_notice

    if notice := local_address_notice(settings(datasets_dir=datasets_dir, state_dir=state_dir).base_url):
        errors.print(notice, highlight=False, markup=False)  # said once, after the summary
    if any(c.rejected or c.refused for c in collections):
        raise typer.Exit(code=EXIT_REJECTED)


def show_received(collections: list[Any]) -> None:
    """What the steward must act on: each rejected file (where it is, its first errors, the
    path of its report), then the warnings of the accepted ones, counted, the first shown."""
    from pipelines.core.problems import Severity
    from pipelines.validate.report import where_of

    rejected = [(c, r) for c in collections for r in c.rejected]
    if rejected or any(c.refused for c in collections):
        errors.print(
            f"[bold]Soumissions rejetées[/] ({len(rejected) + sum(len(c.refused) for c in collections)}) :",
            highlight=False,
        )
    for collection, report in rejected:
        say(f"  - {collection.where(report)} : {report.verdict}", errors)
        found = report.of(Severity.ERROR)
        for problem in found[:MAX_PROBLEMS_PER_FILE]:
            say(f"      {where_of(problem)} : {problem.message}", errors)
        if len(found) > MAX_PROBLEMS_PER_FILE:
            say(f"      … et {len(found) - MAX_PROBLEMS_PER_FILE} autre(s) erreur(s).", errors)
        say(f"      rapport : {collection.report_path(report)}", errors)
    for collection in collections:
        for line in collection.refused:
            say(f"  - {line}", errors)
    without_effect = [line for c in collections for line in c.without_effect]
    if without_effect:
        errors.print(
            f"[bold]Fichiers acceptés sans effet complet[/] ({len(without_effect)}) :", highlight=False
        )
        for line in without_effect:
            say(f"  - {line}", errors)
    for collection in collections:  # receipts: said once per collection, never an address
        for line in collection.mail:
            say(line)
    warned = [(c, r, w) for c in collections for r in c.accepted for w in r.of(Severity.WARNING)]
    if warned:
        errors.print(
            f"[bold]Avertissements[/] ({len(warned)}, dans des fichiers acceptés : à vérifier) :",
            highlight=False,
        )
        for collection, report, problem in warned[:MAX_PROBLEMS_SHOWN]:
            say(f"  - {collection.where(report)}, {where_of(problem)} : {problem.message}", errors)
        if len(warned) > MAX_PROBLEMS_SHOWN:
            say(f"  … et {len(warned) - MAX_PROBLEMS_SHOWN} autre(s) ; voir ogp status.", errors)


@command()
def publish(
    portal: Annotated[
        str, typer.Option(help="Adresse du portail udata, par exemple https://www.data.gouv.fr.")
    ],
    out: Out = Path("site"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Affiche ce qui serait fait, sans rien envoyer.")
    ] = False,
    datasets_dir: DatasetsDir = None,
    organisation: Annotated[
        str | None,
        typer.Option(
            help="Organisation du portail (identifiant ou slug) sous laquelle créer les jeux de données ; à "
            "défaut OGP_PORTAL_ORGANISATION, puis portal_organisation de dataset.yaml, sinon le compte de la "
            "clé."
        ),
    ] = None,
    private: Annotated[
        bool | None,
        typer.Option(
            "--private/--public",
            help="Tout publier en privé, ou tout en public (refusé pour des données "
            "d'exemple) ; par défaut les données d'exemple sont privées, les autres publiques.",
        ),
    ] = None,
) -> None:
    """Crée ou met à jour sur un portail udata (data.gouv.fr) les jeux de données publiés (clé : OGP_PORTAL_API_KEY)."""
    from pipelines.core.config import load_catalog
    from publish.portal import PortalClient, PortalError, publish_to_portal

    config = settings(datasets_dir=datasets_dir)
    if config.portal_api_key is None or not config.portal_api_key.get_secret_value():
        raise ConfigError(
            "La clé d'API du portail manque.",
            hint="Exportez OGP_PORTAL_API_KEY (profil du compte sur le portail) ; elle "
            "n'est jamais écrite ni affichée.",
            setting="OGP_PORTAL_API_KEY",
        )
    configs = load_catalog(config.datasets_dir)
    organisations = {
        c.slug: organisation or config.portal_organisation or c.portal_organisation for c in configs
    }
    client = PortalClient(
        portal, config.portal_api_key.get_secret_value(), chunk_size=config.portal_chunk_size
    )
    actions = publish_to_portal(
        out, [c.slug for c in configs], client, dry_run=dry_run, organisations=organisations, private=private
    )
    title = "Ce qui serait fait (--dry-run)" if dry_run else "Publication sur le portail"
    show(
        console,
        f"{title} : {portal}",
        ("Jeu de données", "Action", "Ressource", "Détail"),
        [(a.dataset, a.kind, a.title, a.detail) for a in actions],
    )
    if not any(organisations.values()):
        say(
            "Aucune organisation donnée (--organisation, OGP_PORTAL_ORGANISATION) : un jeu de données "
            "créé l'est sous le compte de la clé."
        )
    deleted = [a for a in actions if a.kind == "deleted"]
    if deleted:
        raise PortalError(
            "Supprimé sur le portail, donc ni mis à jour ni recréé : "
            + " ; ".join(f"{a.dataset} ({a.detail})" for a in deleted)
            + ". Les autres jeux de données sont publiés.",
            code="jeu-supprime",
        )


@command()
def serve(
    out: Annotated[Path, typer.Option(help="Dossier de publication à servir.")] = Path("site"),
    port: Annotated[int, typer.Option(help="Port d'écoute.")] = 8000,
    host: Annotated[
        str, typer.Option(help="Adresse d'écoute (127.0.0.1 : cette machine seulement).")
    ] = "127.0.0.1",
) -> None:
    """Sert le dossier de publication en HTTP (aperçu local, types de contenu corrects)."""
    from publish.serve import make_server

    if not out.is_dir():
        raise NotFound(
            f"Dossier introuvable : {out}", path=out, hint="Lancez d'abord ogp run, ou corrigez --out."
        )
    try:
        server = make_server(out, host, port)
    except OSError as exc:
        raise ConfigError(
            f"Impossible d'écouter sur {host}:{port} ({exc.strerror}).",
            hint="Choisissez un autre port (--port) ou arrêtez le programme qui l'occupe.",
            host=host,
            port=port,
        ) from None
    say(f"{out} servi sur http://{host}:{server.server_address[1]}/ (Ctrl+C pour arrêter)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
