"""Intake: an « accusé de réception » for every reception, to the body's contacts, once.

Whatever the door (the inbox folder, a URL, the bodies' web door), each reception of an
attributed, real file gets one receipt: the file's name, when it was received, the verdict,
the rows accepted, the first errors with what to do, its report (attached, and linked on
the door when the body has one) and the door's link to send a corrected file. The receipt's
key is the reception's line in the journal (``accuse:<n>``): a rerun, which receives
nothing new, sends nothing; a receipt the relay could not take is sent again at the next
collection. The invented samples and files nobody can attribute get none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipelines.core.problems import Problem
from pipelines.intake.mail import (
    NO_CONTACT,
    NOT_CONFIGURED,
    Attachment,
    DoorLinks,
    Letter,
    Postbox,
    Posted,
    posted_line,
)
from pipelines.intake.render import render
from pipelines.state.archive import SubmissionArchive
from pipelines.state.journal import Reception
from pipelines.state.mails import MailKind, Outcome
from pipelines.validate.report import where_of

FIRST_ERRORS = 5


def receipt_key(reception: Reception) -> str:
    return f"{MailKind.RECEIPT.value}:{reception.n}"


def receipt_letter(
    reception: Reception,
    report: dict[str, Any],
    report_html: bytes,
    body_name: str,
    links: DoorLinks,
) -> Letter:
    """The receipt of one reception, from its archived report."""
    organisation = str(reception.organisation)
    errors = [Problem.from_dict(p) for p in report.get("erreurs", [])]
    accepted = reception.accepted
    subject = f"Accusé de réception : {reception.file_name} — " + (
        "accepté" if accepted else "rejeté, à corriger et renvoyer"
    )
    door_link = links.link_for(organisation)
    context = {
        "body": body_name,
        "file_name": reception.file_name,
        "received_at": reception.received_at,
        "door": reception.origin.door.label,
        "accepted": accepted,
        "verdict": report.get("resume", ""),
        "rows": report.get("lignes_acceptees", 0),
        "target_rows": report.get("valeurs_de_cibles_acceptees", 0),
        "errors": [{"where": where_of(p), "message": p.message, "fix": p.fix} for p in errors[:FIRST_ERRORS]],
        "more_errors": max(0, len(errors) - FIRST_ERRORS),
        "report_name": f"rapport-{reception.file_name}.html",
        "door_link": door_link,
        "report_link": f"{door_link}?suite=reception-{reception.n}" if door_link else None,
        "guide_link": links.guide_link(),
    }
    text, html = render("accuse", **context)
    return Letter(
        receipt_key(reception),
        MailKind.RECEIPT,
        organisation,
        subject,
        text,
        html,
        (Attachment(str(context["report_name"]), report_html, "text", "html"),),
    )


@dataclass
class ReceiptsSent:
    """What the receipts of a collection became, for the run to say once."""

    posted: list[Posted] = field(default_factory=list)
    not_configured: int = 0  # receptions that would have had a receipt
    broken: str = ""  # the relay's configuration error, if any

    @property
    def sent(self) -> int:
        return sum(p.sent for p in self.posted)

    def lines(self) -> list[str]:
        """French lines for the run's output: counts and bodies, never an address."""
        found: list[str] = []
        if self.not_configured:
            found.append(
                f"Courriel non configuré (OGP_SMTP_HOST) : aucun accusé de réception envoyé "
                f"({self.not_configured} réception(s))."
            )
        if self.sent:
            found.append(f"Accusés de réception envoyés : {self.sent}.")
        without = sorted({p.letter.organisation for p in self.posted if p.state == NO_CONTACT})
        if without:
            found.append(
                f"Sans contact, donc sans accusé de réception : {', '.join(without)} (ogp contacts import)."
            )
        if self.broken:
            failed = sum(p.state == Outcome.FAILED.value for p in self.posted)
            found.append(
                f"Relais de courriel : {self.broken} {failed} accusé(s) de réception seront renvoyés "
                "à la prochaine collecte."
            )
        found += [
            posted_line(p.letter.organisation, p)
            for p in self.posted
            if p.state in (Outcome.REFUSED.value, Outcome.UNCERTAIN.value)
            or (p.state == Outcome.FAILED.value and not self.broken)
            or (p.sent and p.refused)
        ]
        return found


def send_receipts(
    postbox: Postbox,
    archive: SubmissionArchive,
    receptions: Iterable[Reception],
    names: dict[str, str],
    links: DoorLinks,
) -> ReceiptsSent:
    """Sends the receipts of ``receptions`` (those of one collection or one upload), after
    those of earlier collections the relay did not take. ``names``: bodies' names by id."""
    sent = ReceiptsSent()
    owed = [r for r in receptions if not r.sample and r.organisation in names]
    if not postbox.configured:
        sent.not_configured = len(owed)
        return sent
    sent.posted += postbox.retry_failed(MailKind.RECEIPT)
    for reception in owed:
        key = receipt_key(reception)
        organisation = str(reception.organisation)
        earlier = postbox.sent_before(key)
        if earlier is not None and earlier.outcome is not Outcome.FAILED:
            continue  # already sent (by the door, or a collection): nothing minted
        if not postbox.contacts.of(organisation):
            sent.posted.append(Posted(Letter(key, MailKind.RECEIPT, organisation, "", "", ""), NO_CONTACT))
            continue
        report = archive.report(reception)
        report_html = archive.layout.report(reception, "html").read_bytes()
        letter = receipt_letter(reception, report, report_html, names[str(reception.organisation)], links)
        posted = postbox.post(letter)
        if posted.state != NOT_CONFIGURED:
            sent.posted.append(posted)
    if postbox.broken is not None:
        sent.broken = postbox.broken.message
    return sent
