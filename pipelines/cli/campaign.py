"""Command: the collection campaign: ``ogp status``, ``ogp withdraw``, ``ogp template``, ``ogp validate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.cli.app import DatasetsDir, ProgressDataset, StateDir, command, settings
from pipelines.cli.output import console, errors, say, show
from pipelines.core.errors import DataRejected, NotFound

if TYPE_CHECKING:
    from pipelines.intake.submissions import ProgressContext


def progress_context(datasets_dir: Path | None, state_dir: Path | None = None) -> ProgressContext:
    """The progress dataset's campaign, plan and schemas, for the commands on single files."""
    from pipelines.intake.submissions import ProgressContext

    return ProgressContext(settings(state_dir=state_dir, datasets_dir=datasets_dir))


@command(renamed={"--relances": "--reminders"})
def status(
    dataset: ProgressDataset,
    as_json: Annotated[
        bool, typer.Option("--json", help="Écrit l'état en JSON (pour un programme) au lieu du tableau.")
    ] = False,
    reminders: Annotated[
        Path | None,
        typer.Option(help="Écrit un CSV pour un publipostage : les organismes à relancer."),
    ] = None,
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Montre l'état de la collecte : par organisme, ses actions, son dernier rapport, les cibles sans valeur, ce qui manque et ce qui a été rejeté."""
    from pipelines.core.config import load_dataset
    from pipelines.intake.status import campaign_status, reminders_csv, to_remind
    from pipelines.state.campaign import require_campaign, resolve_campaign
    from pipelines.state.mails import MailKind, Outcome

    config = settings(state_dir=state_dir, datasets_dir=datasets_dir)
    resolved = resolve_campaign(load_dataset(config.datasets_dir / dataset), config)
    require_campaign(resolved)
    state = campaign_status(resolved)
    if as_json:
        typer.echo(json.dumps(state.to_dict(), ensure_ascii=False, indent=1, sort_keys=True))
        return
    if reminders is not None:
        reminders.parent.mkdir(parents=True, exist_ok=True)
        reminders.write_bytes(reminders_csv(state))
        say(f"Relances écrites dans {reminders} : {len(to_remind(state))} organisme(s) à relancer.")
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
    show(
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
            say(f"  - {note.origine} ({note.arrivee[:10]}) : {note.verdict} — {note.rapport}")


@command()
def withdraw(
    dataset: ProgressDataset,
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
    state_dir: StateDir = None,
    datasets_dir: DatasetsDir = None,
) -> None:
    """Retire une soumission reçue par erreur : rien n'est supprimé, la prochaine publication l'écarte."""
    from pipelines.core.config import load_dataset
    from pipelines.intake.submissions import withdraw_submission

    config = settings(state_dir=state_dir, datasets_dir=datasets_dir)
    done = withdraw_submission(load_dataset(config.datasets_dir / dataset), config, submission, reason)
    say(f"Soumission {done.sha256} ({done.file_name}) retirée le {done.date} : {done.reason}.")
    if done.accepted:
        say(
            "Ses lignes ne seront plus publiées : la prochaine exécution d'ogp run publie "
            "une version corrective qui les écarte. Le fichier et son rapport restent archivés."
        )
    else:
        say("Elle avait été rejetée : rien de publié ne change. Le fichier et son rapport restent archivés.")


@command(renamed={"--cibles": "--targets"})
def template(
    org: Annotated[
        str, typer.Option(help="Identifiant de l'organisme (table organisations du plan), par exemple ditp.")
    ],
    out: Annotated[Path, typer.Option(help="Fichier à écrire : .xlsx (recommandé) ou .csv.")],
    datasets_dir: DatasetsDir = None,
    targets_only: Annotated[
        bool,
        typer.Option(
            "--targets",
            help="Écrit en .csv le modèle des cibles de l'organisme (un CSV ne contient qu'une table ; le "
            ".xlsx a déjà l'onglet Cibles).",
        ),
    ] = False,
) -> None:
    """Écrit le modèle de rapport d'avancement d'un organisme (une ligne par action dont il est responsable, et en .xlsx un onglet de ses cibles)."""
    from pipelines.gather.submissions.template import write_template

    context = progress_context(datasets_dir)
    actions = write_template(
        out, org, context.plan, context.schema, context.targets_schema, targets_only=targets_only
    )
    targets = len(context.plan.targets_of(org))
    if targets_only:
        say(f"Modèle des cibles de {org} écrit dans {out} : {targets} cible(s).")
        return
    say(
        f"Modèle de {org} écrit dans {out} : {len(actions)} action(s)"
        + (
            f", {targets} cible(s) dans l'onglet Cibles."
            if targets and out.suffix.lower() == ".xlsx"
            else "."
        )
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
    datasets_dir: DatasetsDir = None,
    state_dir: StateDir = None,
) -> None:
    """Valide des fichiers de suivi sans rien publier ni archiver ; code de sortie 1 si l'un est rejeté."""
    from pipelines.validate.report import render_html, render_json, render_markdown, render_text

    missing = [path for path in files if not path.is_file()]
    if missing:
        raise NotFound(
            "Fichier(s) introuvable(s) : "
            + ", ".join(map(str, missing))
            + " ; aucun fichier n'a été validé.",
            path=missing[0],
            hint="Vérifiez les chemins donnés.",
        )
    validator = progress_context(datasets_dir, state_dir)
    if state_dir is not None and not validator.resolved.recorded and not validator.archive.journal.exists:
        say(
            f"Aucune campagne enregistrée dans {validator.archive.root} : les fichiers ne sont comparés à "
            "aucun rapport reçu (--state-dir pour celui de la campagne).",
            errors,
        )
    rejected = []
    for path in files:
        report = validator.validate_file(path, org)
        if not report.accepted:
            rejected.append(str(path))
        typer.echo(render_text(report), nl=False)  # plain: a report is not re-wrapped
        if report_dir is not None:
            report_dir.mkdir(parents=True, exist_ok=True)
            for suffix, render in ((".json", render_json), (".md", render_markdown), (".html", render_html)):
                (report_dir / f"{path.name}.rapport{suffix}").write_text(render(report), encoding="utf-8")
    if rejected:
        raise DataRejected(
            f"{len(rejected)} fichier(s) sur {len(files)} rejeté(s) : {', '.join(rejected)}.",
            rejected=rejected,
            hint="Le rapport de chaque fichier, ci-dessus, dit quoi corriger ; renvoyez le fichier corrigé.",
        )
