"""Intake: the reminders, one mail per body to chase, with what it owes and its link.

A body is chased by the rule of ``ogp status --relances`` (``status.to_remind``): an action
without any report, a target without a value, a rejected file not replaced. Its reminder
lists them (actions with their titles, targets with the plan's words and deadline, rejected
files with their first errors and what to do), the campaign's deadline when it has one,
and a personal link to its door, minted for this mail (revoking the body's access voids
every link sent before). A body reminded less than ``interval`` days ago (a reminder the
relay took, or perhaps took) is skipped unless ``force``; the caller says who and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.times import date_fr
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.intake.mail import DoorLinks, Letter, Postbox, Posted
from pipelines.intake.render import render
from pipelines.intake.status import BodyStatus, CampaignStatus, to_remind
from pipelines.state.mails import Mail, MailKind

DEFAULT_INTERVAL = 7
NO_CONTACT_REASON = "aucun contact"
FIRST_ERRORS = 3


@dataclass(frozen=True)
class RejectedFile:
    file_name: str
    received: str
    verdict: str
    errors: tuple[tuple[str, str, str], ...]  # (where, rule, what to do)


@dataclass(frozen=True)
class Reminder:
    """What one body is reminded of. ``actions``: (id, title); ``targets``: (id, the plan's
    words, deadline or ``None``)."""

    organisation: str
    name: str
    actions: tuple[tuple[str, str], ...]
    targets: tuple[tuple[str, str, str | None], ...]
    rejected: tuple[RejectedFile, ...]
    deadline: str | None


@dataclass(frozen=True)
class Skipped:
    organisation: str
    reason: str


@dataclass
class ReminderPlan:
    reminders: list[Reminder] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def last_reminders(mails: list[Mail]) -> dict[str, Mail]:
    """Each body's latest reminder that went (or perhaps went)."""
    found: dict[str, Mail] = {}
    for mail in mails:
        if mail.planned.kind is MailKind.REMINDER and mail.counts_as_sent:
            found[mail.planned.organisation] = mail
    return found


def _reminder(body: BodyStatus, plan: PlanFacts, deadline: str | None) -> Reminder:
    rejected = tuple(
        RejectedFile(
            note.fichier,
            note.arrivee,
            note.verdict,
            tuple(
                (str(m.get("ou", "")), str(m.get("message", "")), str(m.get("que_faire", "")))
                for m in note.premiers_messages[:FIRST_ERRORS]
            ),
        )
        for note in body.rejets_en_attente
    )
    return Reminder(
        body.id_organisation,
        body.nom,
        tuple((a, plan.action_titles.get(a, "")) for a in body.sans_rapport),
        tuple(
            (
                t,
                plan.targets[t].citation if t in plan.targets else "",
                plan.targets[t].deadline if t in plan.targets else None,
            )
            for t in body.cibles_sans_valeur
        ),
        rejected,
        deadline,
    )


def plan_reminders(
    status: CampaignStatus,
    plan: PlanFacts,
    mails: list[Mail],
    *,
    now: dt.datetime,
    deadline: str | None = None,
    interval: int = DEFAULT_INTERVAL,
    force: bool = False,
    organisation: str | None = None,
    contacts: dict[str, int] | None = None,
) -> ReminderPlan:
    """Who is reminded of what now, and who is skipped and why (in French). ``contacts``:
    the number of contacts of each body (a body without any is skipped)."""
    result = ReminderPlan()
    chased = {b.id_organisation for b in to_remind(status)}
    last = last_reminders(mails)
    for body in status.organismes:
        if organisation is not None and body.id_organisation != organisation:
            continue
        if body.id_organisation not in chased:
            if organisation is not None:
                result.skipped.append(Skipped(body.id_organisation, "rien à réclamer : tout est reçu"))
            continue
        if contacts is not None and not contacts.get(body.id_organisation):
            result.skipped.append(Skipped(body.id_organisation, NO_CONTACT_REASON))
            continue
        previous = last.get(body.id_organisation)
        if previous is not None and not force:
            sent = dt.datetime.fromisoformat(previous.date.replace("Z", "+00:00"))
            days = (now - sent).total_seconds() / 86400
            if days < interval:
                result.skipped.append(
                    Skipped(
                        body.id_organisation,
                        f"relancé le {date_fr(previous.date)} (il y a {int(days)} jour(s), moins de "
                        f"{interval}) ; --force pour relancer quand même",
                    )
                )
                continue
        result.reminders.append(_reminder(body, plan, deadline))
    return result


def reminder_letter(reminder: Reminder, key: str, links: DoorLinks) -> Letter:
    """The mail of one reminder, with a personal link minted for it."""
    owed = []
    if reminder.actions:
        owed.append(f"{len(reminder.actions)} action(s) sans rapport")
    if reminder.targets:
        owed.append(f"{len(reminder.targets)} cible(s) sans valeur")
    if reminder.rejected:
        owed.append(f"{len(reminder.rejected)} fichier(s) rejeté(s) à remplacer")
    subject = "Suivi du plan d'action PGO 2021-2023 : " + ", ".join(owed)
    text, html = render(
        "relance",
        r=reminder,
        deadline_fr=date_fr(reminder.deadline) if reminder.deadline else None,
        door_link=links.link_for(reminder.organisation),
        guide_link=links.guide_link(),
    )
    return Letter(key, MailKind.REMINDER, reminder.organisation, subject, text, html)


@dataclass(frozen=True)
class ReminderSent:
    reminder: Reminder
    posted: Posted | None = None
    preview: Path | None = None


def send_reminders(
    postbox: Postbox,
    reminders: list[Reminder],
    links: DoorLinks,
    *,
    run: str,
    dry_run: Path | None = None,
) -> list[ReminderSent]:
    """Sends each reminder (key ``relance:<body>:<run>``), or with ``dry_run`` writes each
    as a ``.eml`` in that folder and sends and journals nothing (no link is minted then)."""
    done = []
    for reminder in reminders:
        key = f"{MailKind.REMINDER.value}:{reminder.organisation}:{run}"
        if dry_run is not None:
            letter = reminder_letter(reminder, key, _PreviewLinks(links))
            done.append(ReminderSent(reminder, preview=postbox.preview(letter, dry_run)))
            continue
        done.append(ReminderSent(reminder, posted=postbox.post(reminder_letter(reminder, key, links))))
    return done


class _PreviewLinks:
    """A preview shows where the link goes, without minting a token nobody will use."""

    def __init__(self, links: DoorLinks) -> None:
        self.links = links

    def link_for(self, organisation: str) -> str | None:
        preview = getattr(self.links, "preview_link", None)
        return preview(organisation) if callable(preview) else None

    def guide_link(self) -> str | None:
        return self.links.guide_link()
