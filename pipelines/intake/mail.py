"""Intake: mail to a body's contacts, journalled, retried, never sent twice.

:class:`Postbox` is the one way the campaign mails a body: receipts, reminders, and the
alerts of scheduled runs all hand it a :class:`Letter` (what the mail is for, its key, its
subject, its text and HTML). It addresses the letter to the body's contacts, composes the
message with the standard ``email`` package (French, plain text and HTML, UTF-8, a
Message-ID, names with accents), journals it, hands it to the relay
(``pipelines.io.smtp``), and journals the outcome (``pipelines.state.mails``):

- a key already journalled is not sent again (a rerun sends nothing twice), unless its
  last outcome is ``echec`` (the relay never took it): then the same bytes and Message-ID
  go to the contacts that did not get it (:meth:`Postbox.retry_failed`);
- one refused address is reported for that body (contact id and the relay's reply, never
  the address), and the body's other contacts still get the message;
- a relay that cannot take mail as configured (credentials, certificate, sender) stops
  the postbox: what it was asked to send after that is journalled ``echec``, to be sent
  again once the settings are fixed, and :attr:`Postbox.broken` says why, once.

Nothing here logs or prints an address; contacts are read from the state folder only.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from pipelines.core.config import Settings
from pipelines.core.errors import ConfigError
from pipelines.io.atomic import write_atomically
from pipelines.io.lock import exclusive
from pipelines.io.smtp import Delivery, MailConfigError, RetryPolicy, SmtpServer, deliver
from pipelines.state.contacts import Contact, ContactBook
from pipelines.state.layout import ArchiveLayout
from pipelines.state.mails import Mail, MailJournal, MailKind, MailOutcome, MailPlanned, Outcome

# Without OGP_MAIL_FROM, what a preview (--dry-run) is written from.
PREVIEW_SENDER = Address("Équipe du suivi PGO", "ne-pas-repondre", "exemple.invalid")


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    maintype: str
    subtype: str


@dataclass(frozen=True)
class Letter:
    """A mail to one body before it is addressed. ``key`` names what it is for, once: the
    receipt of reception 12 is ``accuse:12``; a postbox never sends one key twice."""

    key: str
    kind: MailKind
    organisation: str
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Posted:
    """What became of one letter: ``state`` is an :class:`Outcome` value, or ``deja-envoye``
    (its key was sent before), ``sans-contact`` (the body has none), ``non-configure`` (no
    relay). ``refused``: contact id → the relay's reply (no address)."""

    letter: Letter
    state: str
    message_id: str = ""
    accepted: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    detail: str = ""

    @property
    def sent(self) -> bool:
        return self.state == Outcome.SENT.value


ALREADY_SENT = "deja-envoye"
NO_CONTACT = "sans-contact"
NOT_CONFIGURED = "non-configure"


class DoorLinks(Protocol):
    """What gives a body's personal link to its door: a new token under its access, so that
    revoking the access invalidates every link sent; ``None`` when the body has no access."""

    def link_for(self, organisation: str) -> str | None: ...

    def guide_link(self) -> str | None:
        """Where the bodies' guide is read (the door serves it), if anywhere."""
        ...


class NoDoorLinks:
    """No door: mails carry no personal link and no guide's address."""

    def link_for(self, organisation: str) -> str | None:
        return None

    def guide_link(self) -> str | None:
        return None


def sender_of(settings: Settings) -> Address:
    """``OGP_MAIL_FROM`` as an address (a bare address, or « Nom <adresse> »)."""
    if not settings.mail_from:
        return PREVIEW_SENDER
    try:
        parsed = email.message_from_string(f"From: {settings.mail_from}\n\n", policy=email.policy.default)
        addresses = parsed["From"].addresses
    except (HeaderParseError, MessageDefect, ValueError, IndexError) as exc:
        raise ConfigError(
            f"OGP_MAIL_FROM n'est pas une adresse : {settings.mail_from}", setting="OGP_MAIL_FROM"
        ) from exc
    if len(addresses) != 1 or not addresses[0].domain:
        raise ConfigError(
            f"OGP_MAIL_FROM doit être une seule adresse complète : {settings.mail_from}",
            hint="Par exemple : Équipe PGO <pgo@exemple.gouv.fr>",
            setting="OGP_MAIL_FROM",
        )
    found: Address = addresses[0]
    return found


def compose(
    letter: Letter, contacts: list[Contact], sender: Address, message_id: str, date: str
) -> EmailMessage:
    """The message of a letter to a body's contacts: plain text and HTML alternatives in
    UTF-8, French, marked automatic (RFC 3834) so that out-of-office replies stay quiet."""
    message = EmailMessage()
    message["Subject"] = letter.subject
    message["From"] = sender
    if contacts:
        message["To"] = [c.address() for c in contacts]
    message["Date"] = format_datetime(dt.datetime.fromisoformat(date.replace("Z", "+00:00")))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "fr"
    message.set_content(letter.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(letter.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in letter.attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.name,
        )
    return message


class Postbox:
    """The campaign's mail (see the module). One per command or collection: ``clock`` gives
    the journal's times, ``policy`` and ``sleep`` the retries (tests shorten them)."""

    def __init__(
        self,
        layout: ArchiveLayout,
        settings: Settings,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], str] = now_utc,
    ) -> None:
        self.layout = layout
        self.settings = settings
        self.server = SmtpServer.from_settings(settings)
        self.sender = sender_of(settings)
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.journal = MailJournal(layout.mail_journal)
        self.contacts = ContactBook(layout.contacts)
        self.broken: MailConfigError | None = None
        # The relay could not be reached at all for a whole message (every attempt): the
        # next messages of this postbox are journalled « echec » without waiting on it again.
        self.unreachable = ""

    @property
    def configured(self) -> bool:
        return self.server is not None

    def _message_id(self) -> str:
        return make_msgid(idstring="ogp", domain=self.sender.domain or "ogp.invalid")

    def preview(self, letter: Letter, folder: Path) -> Path:
        """Writes the letter as the message its contacts would get (``<folder>/<body>.eml``),
        journals nothing and sends nothing."""
        contacts = self.contacts.of(letter.organisation)
        message = compose(letter, contacts, self.sender, self._message_id(), self.clock())
        path = folder / f"{letter.kind.value}-{letter.organisation}.eml"
        write_atomically(path, bytes(message))
        return path

    def sent_before(self, key: str) -> Mail | None:
        return self.journal.by_key().get(key)

    def post(self, letter: Letter) -> Posted:
        """Sends a letter to its body's contacts once (see the module)."""
        if self.server is None:
            return Posted(letter, NOT_CONFIGURED)
        with exclusive(
            self.layout.mail_folder, timeout=self.settings.lock_timeout, what="Envoi de courriels"
        ):
            known = self.journal.by_key().get(letter.key)
            if known is not None:
                if known.outcome is Outcome.FAILED:
                    return self._send_again(letter, known)
                return Posted(letter, ALREADY_SENT, known.planned.message_id)
            contacts = self.contacts.of(letter.organisation)
            if not contacts:
                return Posted(letter, NO_CONTACT)
            date = self.clock()
            message_id = self._message_id()
            message = compose(letter, contacts, self.sender, message_id, date)
            n = self.journal.next_n()
            write_atomically(self.layout.mail_message(n), bytes(message))
            self.layout.mail_message(n).chmod(0o600)
            planned = MailPlanned(
                n,
                letter.key,
                letter.kind,
                letter.organisation,
                letter.subject,
                date,
                message_id,
                tuple(c.id for c in contacts),
            )
            self.journal.append(planned)
            return self._deliver(letter, planned, message, contacts)

    def retry_failed(self, kind: MailKind | None = None) -> list[Posted]:
        """Sends again every message of ``kind`` whose last outcome is ``echec``."""
        if self.server is None:
            return []
        with exclusive(
            self.layout.mail_folder, timeout=self.settings.lock_timeout, what="Envoi de courriels"
        ):
            failed = [
                m
                for m in self.journal.mails()
                if m.outcome is Outcome.FAILED and (kind is None or m.planned.kind is kind)
            ]
            return [self._send_again(None, m) for m in failed]

    def _send_again(self, letter: Letter | None, mail: Mail) -> Posted:
        planned = mail.planned
        if letter is None:
            letter = Letter(planned.key, planned.kind, planned.organisation, planned.subject, "", "")
        path = self.layout.mail_message(planned.n)
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        wanted = set(mail.outcomes[-1].pending) if mail.outcomes else set(planned.contacts)
        contacts = [c for c in self.contacts.of(planned.organisation) if c.id in wanted]
        if not contacts:
            return Posted(letter, NO_CONTACT, planned.message_id)
        return self._deliver(letter, planned, message, contacts)

    def _deliver(
        self, letter: Letter, planned: MailPlanned, message: EmailMessage, contacts: list[Contact]
    ) -> Posted:
        by_envelope = {c.envelope: c.id for c in contacts}
        if self.broken is not None:
            delivery = Delivery(pending=list(by_envelope), error=self.broken.message)
        elif self.unreachable:
            delivery = Delivery(pending=list(by_envelope), error=self.unreachable, connected=False)
        else:
            try:
                delivery = deliver(
                    self.server,  # type: ignore[arg-type]  # post() returned early without one
                    message,
                    list(by_envelope),
                    policy=self.policy,
                    sleep=self.sleep,
                )
            except MailConfigError as exc:
                self.broken = exc
                delivery = Delivery(pending=list(by_envelope), error=exc.message)
        if delivery.pending and not delivery.connected and self.broken is None:
            self.unreachable = self.unreachable or delivery.error
        accepted = tuple(by_envelope[a] for a in delivery.accepted)
        refused = {by_envelope[r.recipient]: f"{r.code} {r.reason}".strip() for r in delivery.refused}
        pending = tuple(by_envelope[a] for a in delivery.pending)
        uncertain = tuple(by_envelope[a] for a in delivery.uncertain)
        if uncertain:
            outcome = Outcome.UNCERTAIN
        elif pending:
            outcome = Outcome.FAILED
        elif accepted:
            outcome = Outcome.SENT
        else:
            outcome = Outcome.REFUSED
        self.journal.append(
            MailOutcome(
                self.journal.next_n(),
                planned.n,
                outcome,
                self.clock(),
                accepted,
                refused,
                pending,
                uncertain,
                delivery.error if pending else "",
            )
        )
        return Posted(
            letter,
            outcome.value,
            planned.message_id,
            len(accepted),
            refused,
            delivery.error if pending else "",
        )


def posted_line(organisation: str, posted: Posted) -> str:
    """One French line on a letter's fate, for a command's output: the body, never an address."""
    state = posted.state
    if state == ALREADY_SENT:
        return f"{organisation} : déjà envoyé ({posted.letter.key}), rien de renvoyé."
    if state == NO_CONTACT:
        return f"{organisation} : aucun contact (ogp contacts import), rien d'envoyé."
    if state == NOT_CONFIGURED:
        return f"{organisation} : courriel non configuré (OGP_SMTP_HOST), rien d'envoyé."
    text = f"{organisation} : {Outcome(state).label}"
    if posted.accepted:
        text += f" à {posted.accepted} contact(s)"
    if posted.refused:
        text += " ; refusé pour " + ", ".join(
            f"le contact {c} ({why})" for c, why in sorted(posted.refused.items())
        )
    if posted.detail:
        text += f" ; {posted.detail}"
    return text + "."
