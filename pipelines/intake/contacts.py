"""Intake: the bodies' contacts of a campaign, imported from the steward's CSV.

The CSV is checked against the plan's bodies (``state.contacts.parse_contacts``) and
replaces the whole list at once, under the mail lock (mail being sent never reads half a
list). What the command prints is counts per body: the addresses stay in the state folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.core.config import Settings
from pipelines.core.errors import ConfigError
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.io.lock import exclusive
from pipelines.state.contacts import Contact, ContactBook, parse_contacts
from pipelines.state.layout import ArchiveLayout
from pipelines.state.mails import MailJournal


@dataclass(frozen=True)
class ContactsImported:
    path: Path  # where the list is kept
    contacts: list[Contact]
    before: int  # how many the replaced list had
    without: list[str]  # bodies with actions and no contact


def import_contacts(
    layout: ArchiveLayout, settings: Settings, plan: PlanFacts, source: Path
) -> ContactsImported:
    """Reads ``source`` and replaces the campaign's contacts; nothing changes on a problem."""
    if not source.is_file():
        raise ConfigError(f"Fichier des contacts introuvable : {source}")
    contacts = parse_contacts(source.read_bytes(), plan.organisations, path=source.name)
    book = ContactBook(layout.contacts)
    with exclusive(layout.mail_folder, timeout=settings.lock_timeout, what="Import des contacts"):
        before = len(book.read())
        book.replace(contacts)
    having = {c.organisation for c in contacts}
    without = sorted(o for o in plan.organisations if plan.actions_of(o) and o not in having)
    return ContactsImported(layout.contacts, contacts, before, without)


def last_refusals(layout: ArchiveLayout) -> dict[str, str]:
    """Each contact id's last refusal by the relay (its reply, no address), for the steward
    to correct the address."""
    found: dict[str, str] = {}
    for mail in MailJournal(layout.mail_journal).mails():
        for outcome in mail.outcomes:
            for contact, reason in outcome.refused.items():
                found[contact] = f"{outcome.date[:10]} : {reason}"
            for contact in outcome.accepted:
                found.pop(contact, None)
    return found
