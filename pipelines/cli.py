"""The ``ogp`` command: what data stewards type. Errors print as French sentences, never tracebacks."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

# isort: off
from pipelines import french_cli  # before typer, which reads its texts at import

# isort: on
import typer
from rich.console import Console
from rich.table import Table

from pipelines.core.errors import ConfigError, PipelineError, ValidationFailed

app = typer.Typer(
    cls=french_cli.FrenchGroup,
    help="Publication en données ouvertes du plan d'action PGO 2021-2023.",
    no_args_is_help=True,
    add_completion=False,
)
# Off a terminal (a cron job, CI, a log file) rich would wrap and cut at 80 columns: lines are
# written whole instead (soft wrap) and tables as one record per line (see _show).
console = Console()
console.soft_wrap = not console.is_terminal
errors = Console(stderr=True)
errors.soft_wrap = not errors.is_terminal

MAX_ISSUES_SHOWN = 50
LEVELS_FR = {"major": "majeure", "minor": "mineure", "patch": "corrective"}
MAX_PROBLEMS_PER_FILE = 3
MAX_PROBLEMS_SHOWN = 10
EXIT_SUBMISSIONS_REJECTED = 3


def _show(out: Console, title: str, headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Prints a table: drawn on a terminal; elsewhere one record per line, nothing cut.

    A drawn table fits its cells to the terminal's width and ends long names with « … »;
    written to a file it would cut identifiers a steward greps for. Off a terminal, each row
    is one line of ``En-tête : valeur`` pairs, in full, empty cells left out."""
    if out.is_terminal:
        table = Table(*headers, title=title)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    out.print(title, highlight=False, markup=False)
    for row in rows:
        pairs = [f"{h} : {v}" for h, v in zip(headers, row, strict=True) if v]
        out.print("  " + " | ".join(pairs), highlight=False, markup=False)


def _quiet_libraries(verbose: bool) -> None:
    """Prefect's INFO lines (temporary server, task states, English hints) and Dask's stay out
    of what a steward reads, unless ``--verbose``; warnings and errors still show.

    Must run before Prefect is imported: its logging settings are read then."""
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # --dask: scheduler chatter


def command(
    group: typer.Typer | None = None, **options: Any
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``app.command`` (or ``group``'s, for a sub-command), with the one error handler of the
    command: a :class:`PipelineError` is printed as French sentences (what happened, what to
    do) and ends the command with the error's own exit code (``exit_code``); never a traceback."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(function)
        def handled(*args: Any, **kwargs: Any) -> None:
            try:
                function(*args, **kwargs)
            except PipelineError as exc:
                _fail(exc)

        return (group or app).command(cls=french_cli.FrenchCommand, **options)(handled)

    return register


def _fail(exc: PipelineError) -> None:
    errors.print(f"[bold red]Erreur :[/] {exc.message}", highlight=False)
    if isinstance(exc, ValidationFailed):
        _show(
            errors,
            "Erreurs de validation",
            ("Table", "Ligne", "Champ", "Code", "Message"),
            [
                (issue.table, str(issue.row or ""), issue.field or "", issue.code, issue.message)
                for issue in exc.issues[:MAX_ISSUES_SHOWN]
            ],
        )
        if len(exc.issues) > MAX_ISSUES_SHOWN:
            errors.print(f"… et {len(exc.issues) - MAX_ISSUES_SHOWN} autres erreurs.")
    if exc.hint:
        errors.print(f"[bold]Que faire :[/] {exc.hint}", highlight=False)
    raise typer.Exit(code=exc.exit_code)


def _task_runner(dask: str | None) -> Any:
    """None (Prefect's default thread pool), or a Dask cluster: local, or at an address."""
    if not dask:
        return None
    from prefect_dask import DaskTaskRunner

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


class _ProgressDisplay:
    """One rich progress bar per dataset, advanced by the flows' steps (terminal only)."""

    STEPS = ("collecte", "publication", "terminé")

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[step]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __call__(self, dataset: str, step: str) -> None:
        if dataset not in self.tasks:
            self.tasks[dataset] = self.progress.add_task(dataset, total=len(self.STEPS), step=step)
        position = self.STEPS.index(step) + 1 if step in self.STEPS else 0
        self.progress.update(self.tasks[dataset], completed=position, step=step)


@command()
def run(
    out: Annotated[Path, typer.Option(help="Dossier de publication.")] = Path("site"),
    datasets_dir: Annotated[
        Path | None, typer.Option(help="Dossier des définitions de jeux de données.")
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="Dossier d'état : soumissions reçues et leurs rapports (défaut ./var)."),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            help="Exécuter les tâches sur un cluster Dask : « local » (2 processus) ou l'adresse d'un ordonnanceur (tcp://hôte:8786)."
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Affiche aussi le journal détaillé de Prefect (niveau INFO).")
    ] = False,
) -> None:
    """Collecte, valide et publie tous les jeux de données du catalogue (flux Prefect)."""
    # The temporary server's telemetry heartbeat races its own SQLite start-up and prints
    # a "database is locked" traceback; a steward's run sends no telemetry anyway.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary server gets 20 s to start by default: a busy machine (a campaign run
    # beside other jobs) takes longer, and the run would fail for nothing.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    _quiet_libraries(verbose)
    # Imported here: Prefect takes seconds to import and other commands do not need it.
    from pipelines.flows import publish_catalog_flow
    from pipelines.io import steps as progress

    flow = publish_catalog_flow
    runner = _task_runner(dask)
    if runner is not None:
        flow = publish_catalog_flow.with_options(task_runner=runner)
    display = _ProgressDisplay() if errors.is_terminal else None
    if display is not None:
        progress.watch(display)
        display.progress.start()
    try:
        outcomes = flow(
            out=str(out),
            datasets_dir=str(datasets_dir) if datasets_dir else None,
            state_dir=str(state_dir) if state_dir else None,
        )
    finally:
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
    _show(
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
    _show_received(collections)
    if any(c.rejected or c.refused for c in collections):
        raise typer.Exit(code=EXIT_SUBMISSIONS_REJECTED)


def _show_received(collections: list[Any]) -> None:
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
        errors.print(f"  - {collection.where(report)} : {report.verdict}", highlight=False, markup=False)
        found = report.of(Severity.ERROR)
        for problem in found[:MAX_PROBLEMS_PER_FILE]:
            errors.print(f"      {where_of(problem)} : {problem.message}", highlight=False, markup=False)
        if len(found) > MAX_PROBLEMS_PER_FILE:
            errors.print(
                f"      … et {len(found) - MAX_PROBLEMS_PER_FILE} autre(s) erreur(s).", highlight=False
            )
        errors.print(f"      rapport : {collection.report_path(report)}", highlight=False, markup=False)
    for collection in collections:
        for line in collection.refused:
            errors.print(f"  - {line}", highlight=False, markup=False)
    without_effect = [line for c in collections for line in c.without_effect]
    if without_effect:
        errors.print(
            f"[bold]Fichiers acceptés sans effet complet[/] ({len(without_effect)}) :", highlight=False
        )
        for line in without_effect:
            errors.print(f"  - {line}", highlight=False, markup=False)
    for collection in collections:  # receipts: said once per collection, never an address
        for line in collection.mail:
            console.print(line, highlight=False, markup=False)
    warned = [(c, r, w) for c in collections for r in c.accepted for w in r.of(Severity.WARNING)]
    if warned:
        errors.print(
            f"[bold]Avertissements[/] ({len(warned)}, dans des fichiers acceptés : à vérifier) :",
            highlight=False,
        )
        for collection, report, problem in warned[:MAX_PROBLEMS_SHOWN]:
            errors.print(
                f"  - {collection.where(report)}, {where_of(problem)} : {problem.message}",
                highlight=False,
                markup=False,
            )
        if len(warned) > MAX_PROBLEMS_SHOWN:
            errors.print(
                f"  … et {len(warned) - MAX_PROBLEMS_SHOWN} autre(s) ; voir ogp status.", highlight=False
            )


@command()
def versions(
    dataset: Annotated[str, typer.Argument(help="Slug du jeu de données.")],
    out: Annotated[Path, typer.Option(help="Dossier de publication.")] = Path("site"),
) -> None:
    """Liste les versions publiées d'un jeu de données, de la plus ancienne à la plus récente."""
    from publish.versioning import read_log

    log = read_log(out / "datasets" / dataset)
    if not log.versions:
        errors.print(f"Aucune version publiée de {dataset} dans {out}.")
        raise typer.Exit(code=1)
    withdrawn = {e["version"] for e in log.withdrawn()}
    rows = []
    for entry in log.versions:
        counts = ", ".join(
            f"{t} +{c['added']}/~{c['changed']}/-{c['removed']}" for t, c in entry["tables"].items()
        )
        state = (
            "servie" if entry["version"] == log.served else "retirée" if entry["version"] in withdrawn else ""
        )
        rows.append(
            (
                entry["version"],
                entry["date"],
                LEVELS_FR.get(entry["level"], entry["level"]),
                counts,
                "; ".join(entry["reasons"]),
                entry["fingerprint"][:12],
                state,
            )
        )
    _show(
        console,
        f"Versions de {dataset}",
        ("Version", "Date", "Niveau", "Lignes (+/~/-)", "Motifs", "Empreinte", "État"),
        rows,
    )
    for event in log.rollbacks:
        console.print(
            f"Retour arrière le {event['date']} : {event['from']} → {event['to']}"
            + (f" ({event['reason']})" if event.get("reason") else ""),
            highlight=False,
        )


@command()
def diff(
    dataset: Annotated[str, typer.Argument(help="Slug du jeu de données.")],
    old: Annotated[str, typer.Argument(help="Version de départ, par exemple 1.0.0.")],
    new: Annotated[str, typer.Argument(help="Version d'arrivée, par exemple 1.1.0.")],
    out: Annotated[Path, typer.Option(help="Dossier de publication.")] = Path("site"),
) -> None:
    """Affiche les différences ligne à ligne entre deux versions publiées (clés, champs, valeurs)."""
    from publish.versioning.diff import diff_versions, render_diff

    difference = diff_versions(out / "datasets" / dataset, old, new)
    typer.echo(render_diff(dataset, difference), nl=False)


@command()
def rollback(
    dataset: Annotated[str, typer.Argument(help="Slug du jeu de données.")],
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
    state_dir: Annotated[Path | None, typer.Option(help="Dossier d'état (défaut ./var).")] = None,
) -> None:
    """Sert de nouveau une version antérieure (latest), sans supprimer aucune version."""
    from pipelines.core.config import Settings, load_dataset
    from pipelines.state.campaign import resolve_campaign
    from publish.operations import roll_back

    settings = Settings(**({"state_dir": state_dir} if state_dir else {})).check()
    config = load_dataset(settings.datasets_dir / dataset)
    if config.source.kind == "submissions":
        campaign = resolve_campaign(config, settings, out=out).campaign
        out = out or campaign.output
    out = out or Path("site")
    previous = roll_back(out, settings, dataset, version, reason, include_withdrawn=include_withdrawn)
    if previous == version:
        console.print(f"{dataset} sert déjà la version {version} : rien à faire.", highlight=False)
    else:
        console.print(
            f"{dataset} : latest pointe de nouveau sur {version} (au lieu de {previous}) ; "
            "aucune version n'a été supprimée.",
            highlight=False,
        )


@command()
def withdraw(
    dataset: Annotated[
        str, typer.Argument(help="Slug du jeu de données, par exemple suivi-plan-action-pgo-2021-2023.")
    ],
    submission: Annotated[
        str,
        typer.Argument(help="Empreinte sha256 du fichier archivé, ou ses premiers caractères (au moins 4)."),
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason", help="Motif du retrait, inscrit dans le journal et dans l'historique des versions."
        ),
    ],
    state_dir: Annotated[Path | None, typer.Option(help="Dossier d'état (défaut ./var).")] = None,
    datasets_dir: Annotated[
        Path | None, typer.Option(help="Dossier des définitions de jeux de données.")
    ] = None,
) -> None:
    """Retire une soumission reçue par erreur : rien n'est supprimé, la prochaine publication l'écarte."""
    from pipelines.core.config import Settings, load_dataset
    from pipelines.intake.submissions import withdraw_submission

    overrides = {k: v for k, v in (("state_dir", state_dir), ("datasets_dir", datasets_dir)) if v}
    settings = Settings(**overrides).check()
    done = withdraw_submission(load_dataset(settings.datasets_dir / dataset), settings, submission, reason)
    console.print(
        f"Soumission {done.sha256} ({done.file_name}) retirée le {done.date} : {done.reason}.",
        highlight=False,
    )
    if done.accepted:
        console.print(
            "Ses lignes ne seront plus publiées : la prochaine exécution d'ogp run publie "
            "une version corrective qui les écarte. Le fichier et son rapport restent archivés.",
            highlight=False,
        )
    else:
        console.print(
            "Elle avait été rejetée : rien de publié ne change. Le fichier et son rapport restent archivés.",
            highlight=False,
        )


@command()
def status(
    dataset: Annotated[
        str,
        typer.Argument(help="Slug du jeu de données de suivi, par exemple suivi-plan-action-pgo-2021-2023."),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Écrit l'état en JSON (pour un programme) au lieu du tableau.")
    ] = False,
    reminders: Annotated[
        Path | None,
        typer.Option(
            "--reminders", "--relances", help="Écrit un CSV pour un publipostage : les organismes à relancer."
        ),
    ] = None,
    state_dir: Annotated[Path | None, typer.Option(help="Dossier d'état (défaut ./var).")] = None,
    datasets_dir: Annotated[
        Path | None, typer.Option(help="Dossier des définitions de jeux de données.")
    ] = None,
) -> None:
    """Montre l'état de la collecte : par organisme, ses actions, son dernier rapport, les cibles sans valeur, ce qui manque et ce qui a été rejeté."""
    from pipelines.core.config import Settings, load_dataset
    from pipelines.intake.status import campaign_status, reminders_csv, to_remind
    from pipelines.state.campaign import require_campaign, resolve_campaign
    from pipelines.state.mails import MailKind, Outcome

    overrides = {k: v for k, v in (("state_dir", state_dir), ("datasets_dir", datasets_dir)) if v}
    settings = Settings(**overrides).check()
    resolved = resolve_campaign(load_dataset(settings.datasets_dir / dataset), settings)
    require_campaign(resolved)
    state = campaign_status(resolved)
    if as_json:
        typer.echo(json.dumps(state.to_dict(), ensure_ascii=False, indent=1, sort_keys=True))
        return
    if reminders is not None:
        reminders.parent.mkdir(parents=True, exist_ok=True)
        reminders.write_bytes(reminders_csv(state))
        console.print(
            f"Relances écrites dans {reminders} : {len(to_remind(state))} organisme(s) à relancer.",
            highlight=False,
        )
        return
    rows = []
    for body in state.organismes:
        pending = body.rejets_en_attente[-1] if body.rejets_en_attente else None
        rows.append(
            (
                f"{body.id_organisation} ({body.nom})",
                str(len(body.actions)),
                body.dernier_rapport[:10] if body.dernier_rapport else "jamais",
                ", ".join(body.sans_rapport) or "—",
                (
                    f"{pending.fichier} ({pending.arrivee[:10]}) : "
                    + "; ".join(m["message"] for m in pending.premiers_messages[:1])
                    + f" — {pending.rapport}"
                )
                if pending
                else "—",
                str(sum(len(n.premiers_messages) for n in body.avertissements))
                if body.avertissements
                else "—",
                ", ".join(body.cibles_sans_valeur) or "—",
                "; ".join(
                    f"{m.date[:10]} {MailKind(m.type).label} : {Outcome(m.issue).label}"
                    for m in body.courriels[-2:]
                )
                or "—",
            )
        )
    _show(
        console,
        f"État de la collecte : {dataset}",
        (
            "Organisme",
            "Actions",
            "Dernier rapport reçu",
            "Actions sans rapport",
            "Fichier rejeté à remplacer",
            "Avertissements",
            "Cibles sans valeur",
            "Derniers courriels",
        ),
        rows,
    )
    for action_body in state.organismes:
        for action in action_body.actions:
            if action.dernier_rapport_autre:
                other = action.dernier_rapport_autre
                console.print(
                    f"{action.id_action} (partagée) : dernier rapport par {other['organisme']} au "
                    f"{other['date_rapport']}, pas par {action_body.id_organisation}.",
                    highlight=False,
                )
    if state.non_attribues:
        console.print(
            f"Fichiers non attribués ({len(state.non_attribues)}) : rien n'en est publié.", highlight=False
        )
        for note in state.non_attribues:
            console.print(
                f"  - {note.origine} ({note.arrivee[:10]}) : {note.verdict} — {note.rapport}",
                highlight=False,
                markup=False,
            )


@command()
def publish(
    portal: Annotated[
        str, typer.Option(help="Adresse du portail udata, par exemple https://www.data.gouv.fr.")
    ],
    out: Annotated[Path, typer.Option(help="Dossier de publication.")] = Path("site"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Affiche ce qui serait fait, sans rien envoyer.")
    ] = False,
    datasets_dir: Annotated[
        Path | None, typer.Option(help="Dossier des définitions de jeux de données.")
    ] = None,
    organisation: Annotated[
        str | None,
        typer.Option(
            help="Organisation du portail (identifiant ou slug) sous laquelle créer les jeux de données ; à défaut "
            "OGP_PORTAL_ORGANISATION, puis portal_organisation de dataset.yaml, sinon le compte de la clé."
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
    from pipelines.core.config import Settings, load_catalog
    from publish.portal import PortalClient, PortalError, publish_to_portal

    settings = Settings(**({"datasets_dir": datasets_dir} if datasets_dir else {})).check()
    if settings.portal_api_key is None or not settings.portal_api_key.get_secret_value():
        raise ConfigError(
            "La clé d'API du portail manque.",
            hint="Exportez OGP_PORTAL_API_KEY (profil du compte sur le portail) ; elle "
            "n'est jamais écrite ni affichée.",
        )
    configs = load_catalog(settings.datasets_dir)
    organisations = {
        c.slug: organisation or settings.portal_organisation or c.portal_organisation for c in configs
    }
    client = PortalClient(
        portal, settings.portal_api_key.get_secret_value(), chunk_size=settings.portal_chunk_size
    )
    actions = publish_to_portal(
        out, [c.slug for c in configs], client, dry_run=dry_run, organisations=organisations, private=private
    )
    title = "Ce qui serait fait (--dry-run)" if dry_run else "Publication sur le portail"
    _show(
        console,
        f"{title} : {portal}",
        ("Jeu de données", "Action", "Ressource", "Détail"),
        [(a.dataset, a.kind, a.title, a.detail) for a in actions],
    )
    if not any(organisations.values()):
        console.print(
            "Aucune organisation donnée (--organisation, OGP_PORTAL_ORGANISATION) : un jeu de données "
            "créé l'est sous le compte de la clé.",
            highlight=False,
        )
    deleted = [a for a in actions if a.kind == "deleted"]
    if deleted:
        raise PortalError(
            "Supprimé sur le portail, donc ni mis à jour ni recréé : "
            + " ; ".join(f"{a.dataset} ({a.detail})" for a in deleted)
            + ". Les autres jeux de "
            "données sont publiés.",
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
        errors.print(f"[bold red]Erreur :[/] dossier introuvable : {out}", highlight=False)
        raise typer.Exit(code=2)
    try:
        server = make_server(out, host, port)
    except OSError as exc:
        errors.print(
            f"[bold red]Erreur :[/] impossible d'écouter sur {host}:{port} ({exc.strerror}).", highlight=False
        )
        raise typer.Exit(code=2) from None
    console.print(
        f"{out} servi sur http://{host}:{server.server_address[1]}/ (Ctrl+C pour arrêter)", highlight=False
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _progress_context(datasets_dir: Path | None, state_dir: Path | None = None):  # noqa: ANN202 - lazy imports
    from pipelines.core.config import Settings
    from pipelines.intake.submissions import ProgressContext

    overrides = {k: v for k, v in (("state_dir", state_dir), ("datasets_dir", datasets_dir)) if v}
    return ProgressContext(Settings(**overrides).check())


@command()
def template(
    org: Annotated[
        str, typer.Option(help="Identifiant de l'organisme (table organisations du plan), par exemple ditp.")
    ],
    out: Annotated[Path, typer.Option(help="Fichier à écrire : .xlsx (recommandé) ou .csv.")],
    datasets_dir: Annotated[
        Path | None, typer.Option(help="Dossier des définitions de jeux de données.")
    ] = None,
    targets_only: Annotated[
        bool,
        typer.Option(
            "--cibles",
            help="Écrit en .csv le modèle des cibles de l'organisme (un CSV ne contient qu'une table ; le .xlsx a déjà l'onglet Cibles).",
        ),
    ] = False,
) -> None:
    """Écrit le modèle de rapport d'avancement d'un organisme (une ligne par action dont il est responsable, et en .xlsx un onglet de ses cibles)."""
    from pipelines.gather.submissions.template import write_template

    context = _progress_context(datasets_dir)
    actions = write_template(
        out, org, context.plan, context.schema, context.targets_schema, targets_only=targets_only
    )
    targets = len(context.plan.targets_of(org))
    if targets_only:
        console.print(f"Modèle des cibles de {org} écrit dans {out} : {targets} cible(s).", highlight=False)
        return
    console.print(
        f"Modèle de {org} écrit dans {out} : {len(actions)} action(s)"
        + (
            f", {targets} cible(s) dans l'onglet Cibles."
            if targets and out.suffix.lower() == ".xlsx"
            else "."
        ),
        highlight=False,
    )


@command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Fichiers de suivi à valider (.xlsx ou .csv).")],
    org: Annotated[
        str | None, typer.Option(help="Organisme qui rend compte, si le fichier ne vient pas du modèle.")
    ] = None,
    report_dir: Annotated[
        Path | None, typer.Option(help="Dossier où écrire les rapports JSON, HTML et Markdown.")
    ] = None,
    datasets_dir: Annotated[
        Path | None, typer.Option(help="Dossier des définitions de jeux de données.")
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="Dossier d'état de la campagne : ses rapports reçus servent de comparaison (défaut ./var)."
        ),
    ] = None,
) -> None:
    """Valide des fichiers de suivi sans rien publier ni archiver ; code de sortie 1 si l'un est rejeté."""
    from pipelines.validate.report import (
        render_html,
        render_json,
        render_markdown,
        render_text,
    )

    validator = _progress_context(datasets_dir, state_dir)
    if state_dir is not None and not validator.resolved.recorded and not validator.archive.journal.exists:
        errors.print(
            f"Aucune campagne enregistrée dans {validator.archive.root} : les fichiers ne sont comparés à "
            "aucun rapport reçu (--state-dir pour celui de la campagne).",
            highlight=False,
        )
    rejected = 0
    for path in files:
        if not path.is_file():
            errors.print(f"[bold red]Erreur :[/] fichier introuvable : {path}", highlight=False)
            rejected += 1
            continue
        report = validator.validate_file(path, org)
        rejected += not report.accepted
        typer.echo(render_text(report), nl=False)  # plain: a report is not re-wrapped
        if report_dir is not None:
            report_dir.mkdir(parents=True, exist_ok=True)
            for suffix, render in ((".json", render_json), (".md", render_markdown), (".html", render_html)):
                (report_dir / f"{path.name}.rapport{suffix}").write_text(render(report), encoding="utf-8")
    if rejected:
        raise typer.Exit(code=1)


@command()
def check(
    path: Annotated[Path, typer.Argument(help="Data Package (datapackage.json) ou fichier CSV à contrôler.")],
    schema: Annotated[
        Path | None, typer.Option(help="Schéma de table (Table Schema JSON) d'un fichier CSV.")
    ] = None,
    shown: Annotated[int, typer.Option("--afficher", help="Nombre d'erreurs détaillées affichées.")] = 20,
) -> None:
    """Contrôle une table, même de millions de lignes, selon les règles de frictionless.

    Les tables sont lues par colonnes (Arrow) ; frictionless les contrôle lui-même quand il
    les lirait autrement (encodage, délimiteur, en-tête). Toutes les erreurs sont comptées,
    sans limite. Code de sortie 1 s'il y en a.
    """
    from pipelines.io.startup import skip_pandas_probe

    skip_pandas_probe()  # before pyarrow converts anything: this command never needs pandas
    import frictionless

    from pipelines.validate.package import check_package

    if not path.is_file():
        errors.print(f"[bold red]Erreur :[/] fichier introuvable : {path}", highlight=False)
        raise typer.Exit(code=2)
    try:
        if path.suffix.lower() == ".json" and schema is None:
            package = frictionless.Package(path.name, basepath=str(path.parent.resolve()))
        else:
            resource: dict[str, Any] = {"name": path.stem.lower(), "path": path.name}
            if schema is not None:
                resource["schema"] = json.loads(schema.read_text(encoding="utf-8"))
            package = frictionless.Package({"resources": [resource]}, basepath=str(path.parent.resolve()))
        result = check_package(package)
    except (frictionless.FrictionlessException, json.JSONDecodeError, OSError) as exc:
        errors.print(f"[bold red]Erreur :[/] descripteur ou schéma illisible : {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    moteur = "lecture par colonnes (Arrow)" if result.engine == "arrow" else f"frictionless ({result.reason})"
    typer.echo(f"Contrôle selon frictionless : {moteur}")
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
        typer.echo(f"  … et {len(result.issues) - shown} autre(s) (--afficher pour en voir plus).")
    raise typer.Exit(code=1)


# The bodies' door: `ogp dropoff serve|grant|list|revoke` (see README, « The bodies' door »).
dropoff = typer.Typer(
    cls=french_cli.FrenchGroup,
    help="Le guichet de dépôt : chaque organisme dépose son rapport avec son lien personnel et lit le verdict aussitôt.",
    no_args_is_help=True,
)
app.add_typer(dropoff, name="dropoff")

StateDir = Annotated[Path | None, typer.Option(help="Dossier d'état de la campagne (défaut ./var).")]
DatasetsDir = Annotated[Path | None, typer.Option(help="Dossier des définitions de jeux de données.")]


contacts_app = typer.Typer(
    cls=french_cli.FrenchGroup,
    help="Les contacts des organismes, pour les courriels (données personnelles : jamais publiées).",
    no_args_is_help=True,
)
app.add_typer(contacts_app, name="contacts")
campaign_app = typer.Typer(
    cls=french_cli.FrenchGroup, help="La campagne de collecte enregistrée (échéance).", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")


def _settings(state_dir: Path | None, datasets_dir: Path | None):  # noqa: ANN202 - lazy imports
    from pipelines.core.config import Settings

    overrides = {k: v for k, v in (("state_dir", state_dir), ("datasets_dir", datasets_dir)) if v}
    return Settings(**overrides).check()


def _progress_campaign(settings: Any) -> Any:
    """The progress dataset's campaign in the state folder (resolved, not required)."""
    from pipelines.core.config import load_dataset
    from pipelines.gather.submissions.plan_facts import PROGRESS_SLUG
    from pipelines.state.campaign import resolve_campaign

    return resolve_campaign(load_dataset(settings.datasets_dir / PROGRESS_SLUG), settings)


@command(contacts_app, name="import")
def contacts_import(
    file: Annotated[
        Path,
        typer.Argument(help="CSV : id_organisation, nom, courriel (séparateur , ou ; ; UTF-8 ou Excel)."),
    ],
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Importe les contacts des organismes depuis un CSV ; remplace la liste entière, ou rien en cas d'erreur."""
    from pipelines.gather.submissions.plan_facts import campaign_plan
    from pipelines.intake.contacts import import_contacts

    settings = _settings(state_dir, datasets_dir)
    resolved = _progress_campaign(settings)
    done = import_contacts(resolved.layout, settings, campaign_plan(resolved.config), file)
    bodies = len({c.organisation for c in done.contacts})
    console.print(
        f"{len(done.contacts)} contact(s) de {bodies} organisme(s) importé(s) dans {done.path} "
        f"(la liste précédente en comptait {done.before}).",
        highlight=False,
    )
    if done.without:
        console.print(
            f"Organismes sans contact ({len(done.without)}), qui ne recevront ni relance ni accusé de "
            f"réception : {', '.join(done.without)}.",
            highlight=False,
        )


@command(contacts_app, name="list")
def contacts_list(
    org: Annotated[str | None, typer.Option(help="Un seul organisme, par exemple ditp.")] = None,
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Liste les contacts enregistrés (adresses comprises : à ne pas copier dans un journal)."""
    from pipelines.intake.contacts import last_refusals
    from pipelines.state.contacts import ContactBook

    settings = _settings(state_dir, datasets_dir)
    layout = _progress_campaign(settings).layout
    contacts = [c for c in ContactBook(layout.contacts).read() if org is None or c.organisation == org]
    if not contacts:
        console.print(f"Aucun contact enregistré dans {layout.contacts}.", highlight=False)
        return
    refused = last_refusals(layout)
    _show(
        console,
        f"Contacts ({len(contacts)})",
        ("Organisme", "Nom", "Courriel", "Identifiant", "Dernier refus du relais"),
        [(c.organisation, c.name, c.email, c.id, refused.get(c.id, "")) for c in sorted(contacts)],
    )


@command(campaign_app, name="deadline")
def campaign_deadline(
    date: Annotated[
        str,
        typer.Argument(help="Date limite donnée aux organismes, AAAA-MM-JJ ; « aucune » pour la retirer."),
    ],
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Enregistre l'échéance de la campagne, rappelée dans les relances et la console."""
    import datetime as dt

    from pipelines.io.lock import exclusive
    from pipelines.state.campaign import set_deadline

    try:
        day = None if date.strip().lower() == "aucune" else dt.date.fromisoformat(date.strip())
    except ValueError:
        raise ConfigError(
            f"« {date} » n'est pas une date AAAA-MM-JJ.",
            hint="Par exemple : ogp campaign deadline 2026-12-15",
        ) from None
    settings = _settings(state_dir, datasets_dir)
    resolved = _progress_campaign(settings)
    if not resolved.recorded and resolved.campaign.sample:
        raise ConfigError(
            f"Aucune campagne enregistrée dans {resolved.layout.root}, et OGP_SUBMISSIONS_INBOX n'est pas "
            "défini : ce serait la campagne des données d'exemple.",
            hint="Indiquez la boîte de dépôt réelle : OGP_SUBMISSIONS_INBOX=/chemin/de/la/boite ogp campaign "
            "deadline AAAA-MM-JJ (elle est alors enregistrée).",
        )
    with exclusive(resolved.layout.root, timeout=settings.lock_timeout, what="Échéance de la campagne"):
        campaign = set_deadline(resolved, day)
    if campaign.deadline:
        console.print(
            f"Échéance de la campagne {campaign.dataset} : {campaign.deadline} (enregistrée dans "
            f"{resolved.layout.campaign}).",
            highlight=False,
        )
    else:
        console.print(f"La campagne {campaign.dataset} n'a plus d'échéance.", highlight=False)


@command(name="remind")
def remind(
    org: Annotated[str | None, typer.Option(help="Relancer un seul organisme, par exemple ditp.")] = None,
    dry_run: Annotated[
        Path | None,
        typer.Option("--dry-run", help="Écrit chaque courriel en .eml dans ce dossier, sans rien envoyer."),
    ] = None,
    interval: Annotated[
        int,
        typer.Option(min=0, help="Ne relance pas un organisme relancé il y a moins de ce nombre de jours."),
    ] = 7,
    force: Annotated[
        bool, typer.Option("--force", help="Relance même un organisme relancé récemment.")
    ] = False,
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Envoie à chaque organisme à relancer un courriel : ses actions sans rapport, ses cibles sans valeur, ses fichiers rejetés, l'échéance et son lien de dépôt."""
    import datetime as dt

    from pipelines.gather.submissions.plan_facts import campaign_plan
    from pipelines.intake.dropoff import AccessLinks
    from pipelines.intake.mail import Postbox, posted_line
    from pipelines.intake.reminders import NO_CONTACT_REASON, plan_reminders, send_reminders
    from pipelines.intake.status import campaign_status
    from pipelines.state.accesses import TokenPurpose
    from pipelines.state.campaign import require_campaign
    from pipelines.state.mails import MailJournal

    settings = _settings(state_dir, datasets_dir)
    if dry_run is None and not settings.mail_configured:
        raise ConfigError(
            "Le courriel n'est pas configuré (OGP_SMTP_HOST) : aucune relance ne peut partir.",
            hint="Exportez OGP_SMTP_HOST, OGP_MAIL_FROM (et OGP_SMTP_USER, OGP_SMTP_PASSWORD), ou écrivez "
            "les courriels sans les envoyer : ogp remind --dry-run DOSSIER",
        )
    resolved = _progress_campaign(settings)
    require_campaign(resolved)
    plan = campaign_plan(resolved.config)
    if org is not None and org not in plan.organisations:
        raise ConfigError(f"Organisme inconnu du plan : {org}.", hint="Utilisez l'identifiant de ogp status.")
    postbox = Postbox(resolved.layout, settings)
    now = dt.datetime.now(dt.UTC)
    planned = plan_reminders(
        campaign_status(resolved, plan),
        plan,
        MailJournal(resolved.layout.mail_journal).mails(),
        now=now,
        deadline=resolved.campaign.deadline,
        interval=interval,
        force=force,
        organisation=org,
        contacts=postbox.contacts.counts(),
    )
    links = AccessLinks(settings, resolved.layout, TokenPurpose.REMINDER)
    done = send_reminders(
        postbox, planned.reminders, links, run=now.strftime("%Y%m%dT%H%M%S.%fZ"), dry_run=dry_run
    )
    rows = []
    trouble = False
    for item in done:
        r = item.reminder
        if item.preview is not None:
            outcome = f"écrit dans {item.preview}"
        else:
            assert item.posted is not None
            outcome = posted_line(r.organisation, item.posted).split(" : ", 1)[1]
            trouble = trouble or not item.posted.sent or bool(item.posted.refused)
        rows.append(
            (
                f"{r.organisation} ({r.name})",
                str(len(r.actions)),
                str(len(r.targets)),
                str(len(r.rejected)),
                outcome,
            )
        )
    _show(
        console,
        "Relances" + (f" (écrites dans {dry_run}, rien n'est envoyé)" if dry_run else ""),
        ("Organisme", "Actions sans rapport", "Cibles sans valeur", "Fichiers rejetés", "Courriel"),
        rows,
    )
    if not done:
        console.print("Aucune relance à envoyer.", highlight=False)
    without = [s.organisation for s in planned.skipped if s.reason == NO_CONTACT_REASON]
    if without:
        console.print(
            f"Non relancés, faute de contact ({len(without)}) : {', '.join(without)} (ogp contacts import).",
            highlight=False,
        )
    for skipped in planned.skipped:
        if skipped.reason != NO_CONTACT_REASON:
            console.print(f"Non relancé : {skipped.organisation} : {skipped.reason}.", highlight=False)
    if dry_run is None and done:
        from pipelines.intake.submissions import refresh_status

        refresh_status(resolved, settings, plan)  # etat-collecte shows the mails sent
    if postbox.broken is not None:
        raise postbox.broken
    if trouble:
        raise typer.Exit(code=EXIT_SUBMISSIONS_REJECTED)


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

    settings = _settings(state_dir, datasets_dir)
    door = DropOff(settings)
    door.warm()
    application = create_app(door, settings)
    try:
        server = make_server(application, settings, host, port)
    except OSError as exc:
        raise ConfigError(
            f"Impossible d'écouter sur {host}:{port} ({exc.strerror}).",
            hint="Choisissez un autre port (--port) ou arrêtez ce qui l'occupe.",
        ) from None
    serve(
        server,
        lambda url: console.print(
            f"Guichet de {door.resolved.config.slug} ({door.layout.root}) servi sur {url} ; "
            f"liens personnels : {settings.dropoff_url} (Ctrl+C pour arrêter)",
            highlight=False,
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

    settings = _settings(state_dir, datasets_dir)
    if steward == (org is not None):
        raise ConfigError(
            "Indiquez soit --org ORGANISME (le guichet d'un organisme), soit --steward (la console de pilotage).",
            hint="Par exemple : ogp dropoff grant --org ditp, ou ogp dropoff grant --steward --label « Équipe PGO ».",
        )
    if org is None:
        minted = grant_steward_access(settings, label, expires)
        until = f"jusqu'au {minted.access.expires} inclus" if minted.access.expires else "sans date de fin"
        console.print(
            f"Accès de pilotage {minted.access.id} créé{f' pour {label}' if label else ''}, {until} : il ouvre "
            "la console (état de chaque organisme, relances, retraits). Ce lien ne sera plus jamais affiché :",
            highlight=False,
        )
        typer.echo(personal_link(settings, minted.token))
        return
    minted, name = grant_body_access(settings, org, expires)
    access = minted.access
    until = f"jusqu'au {access.expires} inclus" if access.expires else "sans date de fin"
    if minted.renewed:
        console.print(
            f"Nouveau lien pour l'accès {access.id} de {org} ({name}), {until} ; les liens envoyés avant "
            f"restent valides (ogp dropoff revoke {org} les invalide tous).",
            highlight=False,
        )
    else:
        console.print(f"Accès {access.id} créé pour {org} ({name}), {until}.", highlight=False)
    console.print(
        "Ce lien est personnel et ne sera plus jamais affiché (seule son empreinte est conservée) : "
        "envoyez-le à l'organisme.",
        highlight=False,
    )
    typer.echo(personal_link(settings, minted.token))


@command(dropoff, name="list")
def dropoff_list(state_dir: StateDir = None, datasets_dir: DatasetsDir = None) -> None:
    """Liste les accès au guichet : organisme, création, expiration, dernier usage, état (jamais les liens)."""
    from pipelines.intake.dropoff import access_store

    store = access_store(_settings(state_dir, datasets_dir))
    accesses = store.all()
    today = store.today()
    states = {"active": "actif", "expiree": "expiré", "revoquee": "révoqué"}
    _show(
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

    for access in access_store(_settings(state_dir, datasets_dir)).revoke(reference):
        console.print(
            f"Accès {access.id} de {access.who} révoqué : ses {len(access.tokens)} lien(s) ne fonctionnent plus.",
            highlight=False,
        )


if __name__ == "__main__":  # pragma: no cover - `python -m pipelines.cli`
    app()
