"""Command: the campaign's mail and its deadline, ``ogp contacts import|list``, ``ogp campaign
deadline`` and ``ogp remind`` (README, « Mail: contacts, receipts, reminders »).

What these print names bodies, contact ids and counts; only ``ogp contacts list`` shows
addresses, on the steward's own request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pipelines.cli import french
from pipelines.cli.app import EXIT_REJECTED, DatasetsDir, StateDir, app, command, settings
from pipelines.cli.output import console, say, show
from pipelines.core.config import Settings
from pipelines.core.errors import ConfigError

contacts_app = typer.Typer(
    cls=french.FrenchGroup,
    help="Les contacts des organismes, pour les courriels (données personnelles : jamais publiées).",
    no_args_is_help=True,
)
app.add_typer(contacts_app, name="contacts")
campaign_app = typer.Typer(
    cls=french.FrenchGroup, help="La campagne de collecte enregistrée (échéance).", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")


def progress_campaign(config: Settings) -> Any:
    """The progress dataset's campaign in the state folder (resolved, not required)."""
    from pipelines.core.config import load_dataset
    from pipelines.gather.submissions.plan_facts import PROGRESS_SLUG
    from pipelines.state.campaign import resolve_campaign

    return resolve_campaign(load_dataset(config.datasets_dir / PROGRESS_SLUG), config)


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

    config = settings(state_dir=state_dir, datasets_dir=datasets_dir)
    resolved = progress_campaign(config)
    done = import_contacts(resolved.layout, config, campaign_plan(resolved.config), file)
    bodies = len({c.organisation for c in done.contacts})
    say(
        f"{len(done.contacts)} contact(s) de {bodies} organisme(s) importé(s) dans {done.path} "
        f"(la liste précédente en comptait {done.before})."
    )
    if done.without:
        say(
            f"Organismes sans contact ({len(done.without)}), qui ne recevront ni relance ni accusé de "
            f"réception : {', '.join(done.without)}."
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

    config = settings(state_dir=state_dir, datasets_dir=datasets_dir)
    layout = progress_campaign(config).layout
    contacts = [c for c in ContactBook(layout.contacts).read() if org is None or c.organisation == org]
    if not contacts:
        say(f"Aucun contact enregistré dans {layout.contacts}.")
        return
    refused = last_refusals(layout)
    show(
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
    config = settings(state_dir=state_dir, datasets_dir=datasets_dir)
    resolved = progress_campaign(config)
    if not resolved.recorded and resolved.campaign.sample:
        raise ConfigError(
            f"Aucune campagne enregistrée dans {resolved.layout.root}, et OGP_SUBMISSIONS_INBOX n'est pas "
            "défini : ce serait la campagne des données d'exemple.",
            hint="Indiquez la boîte de dépôt réelle : OGP_SUBMISSIONS_INBOX=/chemin/de/la/boite ogp campaign "
            "deadline AAAA-MM-JJ (elle est alors enregistrée).",
        )
    with exclusive(resolved.layout.root, timeout=config.lock_timeout, what="Échéance de la campagne"):
        campaign = set_deadline(resolved, day)
    if campaign.deadline:
        say(
            f"Échéance de la campagne {campaign.dataset} : {campaign.deadline} (enregistrée dans "
            f"{resolved.layout.campaign})."
        )
    else:
        say(f"La campagne {campaign.dataset} n'a plus d'échéance.")


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
    from pipelines.intake.links import AccessLinks
    from pipelines.intake.mail import Postbox, posted_line
    from pipelines.intake.reminders import NO_CONTACT_REASON, plan_reminders, send_reminders
    from pipelines.intake.status import campaign_status
    from pipelines.state.accesses import TokenPurpose
    from pipelines.state.campaign import require_campaign
    from pipelines.state.mails import MailJournal

    config = settings(state_dir=state_dir, datasets_dir=datasets_dir)
    if dry_run is None and not config.mail_configured:
        raise ConfigError(
            "Le courriel n'est pas configuré (OGP_SMTP_HOST) : aucune relance ne peut partir.",
            hint="Exportez OGP_SMTP_HOST, OGP_MAIL_FROM (et OGP_SMTP_USER, OGP_SMTP_PASSWORD), ou écrivez "
            "les courriels sans les envoyer : ogp remind --dry-run DOSSIER",
        )
    resolved = progress_campaign(config)
    require_campaign(resolved)
    plan = campaign_plan(resolved.config)
    if org is not None and org not in plan.organisations:
        raise ConfigError(f"Organisme inconnu du plan : {org}.", hint="Utilisez l'identifiant de ogp status.")
    postbox = Postbox(resolved.layout, config)
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
    links = AccessLinks(config, resolved.layout, TokenPurpose.REMINDER)
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
    show(
        console,
        "Relances" + (f" (écrites dans {dry_run}, rien n'est envoyé)" if dry_run else ""),
        ("Organisme", "Actions sans rapport", "Cibles sans valeur", "Fichiers rejetés", "Courriel"),
        rows,
    )
    if not done:
        say("Aucune relance à envoyer.")
    without = [s.organisation for s in planned.skipped if s.reason == NO_CONTACT_REASON]
    if without:
        say(f"Non relancés, faute de contact ({len(without)}) : {', '.join(without)} (ogp contacts import).")
    for skipped in planned.skipped:
        if skipped.reason != NO_CONTACT_REASON:
            say(f"Non relancé : {skipped.organisation} : {skipped.reason}.")
    if dry_run is None and done:
        from pipelines.intake.submissions import refresh_status

        refresh_status(resolved, config, plan)  # etat-collecte shows the mails sent
    if postbox.broken is not None:
        raise postbox.broken
    if trouble:
        raise typer.Exit(code=EXIT_REJECTED)
