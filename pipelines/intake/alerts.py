"""Intake: the stewards told, by mail, of the scheduled runs that need them (``ogp watch``).

A run of one of the project's deployments (tag ``ogp``) needs a steward when it:

- **failed** or **crashed** (Prefect's state types ``FAILED``, ``CRASHED``): its message is
  the pipeline's French sentence and fix (``pipelines.deployments``), or a bug;
- **rejected a file** (tag ``fichiers-rejetes``, state « Partiellement accepté »): the run
  completed, so an alert on Failed alone would never fire;
- **did not start in time**: still Scheduled or Pending (Prefect names it « Late ») more
  than ``late_after`` after it was due: no worker took it (the worker is stopped, or its
  machine is down).

Why a watch, not a hook in the flows or a Prefect automation: a late run has no process
to run a hook (the worker is what is missing), and a crashed one may have none left; an
automation of a self-hosted server mails only through a Prefect block holding the relay's
password in Prefect's database, and without the project's journal. The watch reads the
runs through the server's REST API (``pipelines.io.prefect_api``) and mails through the
campaign's :class:`~pipelines.intake.mail.Postbox`: the project's relay settings
(``OGP_SMTP_*``, ``OGP_MAIL_FROM``), retries, and a journal keyed by run and reason, so a
watch run every 10 minutes (``ogp-veille.timer``) tells each run once.

The stewards' addresses are a setting (``OGP_ALERT_TO``, « , » between them), not the
campaign's contacts (those are the bodies', who must not get the team's alerts); they are
never printed or logged (a contact id stands for each).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.config import Settings
from pipelines.core.errors import ConfigError
from pipelines.core.times import moment_fr
from pipelines.intake.mail import Letter, Postbox, Posted
from pipelines.io.prefect_api import PROJECT_TAG, REJECTED_TAG, PrefectApi, RunSeen, ui_address
from pipelines.state.contacts import Contact, ContactBook
from pipelines.state.layout import ArchiveLayout
from pipelines.state.mails import MailKind

# The pseudo-body the stewards' alerts are journalled under (never a body of the plan).
STEWARDS = "pilotage"
# Where the alerts' journal lives, under the state folder (apart from the bodies' mail).
ALERTS_FOLDER = "alertes"
WAITING = ("SCHEDULED", "PENDING")


class AlertSettingError(ConfigError):
    """``OGP_ALERT_TO`` missing or not addresses."""


def steward_contacts(settings: Settings) -> list[Contact]:
    """The stewards of ``OGP_ALERT_TO``, each a :class:`Contact` of :data:`STEWARDS`."""
    if not settings.alert_to or not settings.alert_to.strip():
        raise AlertSettingError(
            "Personne à prévenir : OGP_ALERT_TO n'est pas défini.",
            hint="Exportez OGP_ALERT_TO avec l'adresse des pilotes (plusieurs : séparées par des virgules), "
            "par exemple dans /etc/ogp/ogp.env.",
            setting="OGP_ALERT_TO",
        )
    found: list[Contact] = []
    for number, part in enumerate(settings.alert_to.split(","), start=1):
        text = part.strip()
        if not text:
            continue
        try:
            parsed = email.message_from_string(f"To: {text}\n\n", policy=email.policy.default)
            addresses = parsed["To"].addresses
        except (ValueError, IndexError, TypeError):
            addresses = ()
        if len(addresses) != 1 or not addresses[0].domain or not addresses[0].username:
            # The address itself is not repeated: the message may end up in a log.
            raise AlertSettingError(
                f"OGP_ALERT_TO : l'adresse n° {number} n'est pas une adresse de courriel complète.",
                hint="Par exemple : OGP_ALERT_TO=pilote@exemple.gouv.fr,Équipe PGO <pgo@exemple.gouv.fr>",
                setting="OGP_ALERT_TO",
            )
        found.append(Contact(STEWARDS, addresses[0].addr_spec, addresses[0].display_name))
    return found


class StewardBook(ContactBook):
    """The stewards as the postbox's contact book: read from the setting, never written."""

    def __init__(self, contacts: Sequence[Contact], path: Path) -> None:
        super().__init__(path)
        self.stewards = list(contacts)

    def read(self) -> list[Contact]:
        return list(self.stewards)


def alert_postbox(settings: Settings) -> Postbox:
    """The postbox of the alerts: the project's relay, a journal under ``<state>/alertes``."""
    layout = ArchiveLayout(settings.state_dir / ALERTS_FOLDER)
    postbox = Postbox(layout, settings)
    postbox.contacts = StewardBook(steward_contacts(settings), layout.contacts)
    return postbox


@dataclass(frozen=True)
class Alert:
    """One run that needs a steward, and why: ``reason`` is « echec », « rejet » or « retard »."""

    run: RunSeen
    reason: str


def alerts_for(runs: Sequence[RunSeen], now: dt.datetime, late_after: dt.timedelta) -> list[Alert]:
    """The runs that need a steward (see the module), oldest first; a run once per reason."""
    found = []
    for run in runs:
        if run.state_type in ("FAILED", "CRASHED"):
            found.append(Alert(run, "echec"))
        elif run.state_type == "COMPLETED" and REJECTED_TAG in run.tags:
            found.append(Alert(run, "rejet"))
        elif (
            run.state_type in WAITING
            and run.expected_start is not None
            and now - run.expected_start >= late_after
        ):
            found.append(Alert(run, "retard"))
    return found


SUBJECTS = {
    "echec": "Passage en échec",
    "rejet": "Fichier(s) rejeté(s)",
    "retard": "Passage non démarré",
}
WHAT_TO_DO = {
    "echec": "Lisez le message ci-dessus et le journal du passage ; corrigez, puis relancez le "
    "déploiement (bouton « Run » de la page du passage, ou prefect deployment run).",
    "rejet": "Les autres fichiers sont publiés. Chaque fichier rejeté a son rapport (onglet Artifacts "
    "du passage) : transmettez-le à l'organisme, qui dépose un fichier corrigé.",
    "retard": "Aucun worker n'a pris ce passage. Vérifiez le worker : systemctl status "
    "ogp-prefect-worker (ou make worker) ; il prendra le passage dès qu'il tourne.",
}


def letter_for(alert: Alert, api: str) -> Letter:
    """The mail of one alert, in French, plain text and HTML; keyed by run and reason."""
    run = alert.run
    link = f"{ui_address(api)}/runs/flow-run/{run.id}"
    due = moment_fr(run.expected_start) if run.expected_start else "inconnue"
    state = run.state_name or run.state_type
    facts = [
        ("Passage", run.name),
        ("Déploiement", run.deployment or "(aucun)"),
        ("Prévu le", due),
        ("État", state),
    ]
    message = run.message.strip() if alert.reason != "retard" else ""
    text = "\n".join(
        [
            f"{SUBJECTS[alert.reason]} : {run.name}.",
            "",
            *(f"{label} : {value}" for label, value in facts),
            *(["", "Message :", message] if message else []),
            "",
            f"Que faire : {WHAT_TO_DO[alert.reason]}",
            "",
            f"Page du passage : {link}",
            "",
            "Courriel automatique de la veille des passages planifiés (ogp watch).",
        ]
    )
    escaped = html.escape
    body = "".join(f"<li>{escaped(label)} : {escaped(value)}</li>" for label, value in facts)
    message_html = (
        f"<p>Message :</p><pre>{escaped(message)}</pre>" if message else ""
    )  # the message keeps its lines
    page = (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{escaped(SUBJECTS[alert.reason])}'
        f"</title></head><body><p>{escaped(SUBJECTS[alert.reason])} : <strong>{escaped(run.name)}</strong>.</p>"
        f"<ul>{body}</ul>{message_html}<p>Que faire : {escaped(WHAT_TO_DO[alert.reason])}</p>"
        f'<p><a href="{escaped(link)}">Page du passage</a></p>'
        "<p>Courriel automatique de la veille des passages planifiés (ogp watch).</p></body></html>"
    )
    return Letter(
        key=f"alerte:{run.id}:{alert.reason}",
        kind=MailKind.ALERT,
        organisation=STEWARDS,
        subject=f"[PGO] {SUBJECTS[alert.reason]} : {run.name}",
        text=text,
        html=page,
    )


@dataclass(frozen=True)
class Watched:
    """What one watch did: every alert due, and what became of its mail."""

    alerts: list[tuple[Alert, Posted | None]]  # None: not sent (a dry run)


def watch(
    settings: Settings,
    api: str,
    *,
    now: dt.datetime,
    late_after: dt.timedelta,
    since: dt.timedelta,
    postbox: Postbox | None = None,
    dry_run: bool = False,
) -> Watched:
    """Reads the project's runs expected since ``now - since`` and mails each alert due
    (see the module); an alert mailed before is not mailed again (its journal's key).
    ``dry_run``: the alerts due, none sent (nor any setting of mail required).

    Raises :class:`AlertSettingError` without ``OGP_ALERT_TO``, a ``ConfigError`` without a
    relay (``OGP_SMTP_HOST``), :class:`SourceUnavailable` when the server does not answer."""
    if dry_run:
        runs = PrefectApi(api).runs(now - since, tag=PROJECT_TAG)
        return Watched([(alert, None) for alert in alerts_for(runs, now, late_after)])
    if not settings.mail_configured:
        raise ConfigError(
            "Le courriel n'est pas configuré (OGP_SMTP_HOST) : aucune alerte ne peut partir.",
            hint="Exportez OGP_SMTP_HOST et OGP_MAIL_FROM (et OGP_SMTP_USER, OGP_SMTP_PASSWORD).",
            setting="OGP_SMTP_HOST",
        )
    box = postbox or alert_postbox(settings)
    runs = PrefectApi(api).runs(now - since, tag=PROJECT_TAG)
    done: list[tuple[Alert, Posted | None]] = [
        (alert, box.post(letter_for(alert, api))) for alert in alerts_for(runs, now, late_after)
    ]
    return Watched(done)
