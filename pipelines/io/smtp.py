"""I/O: one message handed to an SMTP relay, with TLS, authentication and retries.

What is guaranteed, whatever the relay does:

- a recipient is handed the message in at most one accepted transaction: an attempt is
  retried (with back-off) only for the recipients the relay has not accepted yet, and only
  when the failure says the message was not taken (no connection, a ``4xx`` reply, a
  connection lost before the message was sent);
- a connection lost *while* the message was being transferred is not retried: the relay
  may have taken it. The delivery says so (``uncertain``) and the caller never sends that
  message again on its own;
- a recipient the relay refuses for good (``5xx``) is reported apart; the others still get
  the message;
- what cannot work by retrying (the relay refuses the credentials, offers no STARTTLS, its
  certificate does not verify, refuses the sender) is a :class:`MailConfigError`;
- nothing here writes an address, a password or the message to a log: the relay's words are
  kept with every address replaced (``redact``).

The caller journals the message (its Message-ID) before calling :func:`deliver` and the
outcome after: that is what makes a rerun send nothing twice (``pipelines.intake.mail``).
"""

from __future__ import annotations

import email.policy
import io
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from pipelines.core.config import Settings
from pipelines.core.errors import ConfigError

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


def redact(text: str) -> str:
    """A relay's reply with every address replaced: what may be shown and journalled."""
    return _ADDRESS.sub("<adresse>", text).strip()


@dataclass(frozen=True)
class SmtpServer:
    """A relay and how to talk to it. ``password`` is never shown by ``repr``."""

    host: str
    port: int
    tls: str  # starttls | ssl | none
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpServer | None:
        """The relay of ``OGP_SMTP_*``; ``None`` when mail is not configured."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port or DEFAULT_PORTS[settings.smtp_tls],
            tls=settings.smtp_tls,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            ca_file=settings.smtp_ca_file,
            timeout=settings.smtp_timeout,
        )

    @property
    def shown(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts at one message, and the waits between them (doubling, capped)."""

    attempts: int = 4
    first_delay: float = 2.0
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """The wait before attempt ``attempt`` (1 for the first retry)."""
        return float(min(self.max_delay, self.first_delay * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class RecipientRefused:
    """One recipient the relay did not take: its reply code and words (addresses redacted)."""

    recipient: str
    code: int
    reason: str


@dataclass
class Delivery:
    """What became of one message. ``accepted``: recipients the relay took; ``refused``: for
    good (``5xx``); ``pending``: still not taken after every attempt (transient), to try again
    later; ``uncertain``: recipients of a transfer cut before the relay's answer (perhaps
    delivered: never sent again automatically). ``error``: the last transient failure."""

    accepted: list[str] = field(default_factory=list)
    refused: list[RecipientRefused] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    attempts: int = 0
    error: str = ""
    connected: bool = False  # a session with the relay was opened at least once


class MailConfigError(ConfigError):
    """The relay cannot take mail from us as configured: retrying will not help."""


class _Transient(Exception):
    """Nothing of this attempt was taken by the relay: it may be attempted again."""


class _Uncertain(Exception):
    """The connection was lost while the message was transferred: perhaps taken by the
    relay for ``recipients``."""

    def __init__(self, recipients: list[str]) -> None:
        super().__init__("transfert interrompu")
        self.recipients = recipients


def _payload(message: EmailMessage, sender: str, recipients: Sequence[str]) -> tuple[bytes, bool]:
    """The message's bytes as sent (CRLF), and whether it needs SMTPUTF8: only when an
    envelope address is not ASCII (names with accents are encoded in the headers)."""
    international = not all(a.isascii() for a in (sender, *recipients))
    buffer = io.BytesIO()
    policy = email.policy.SMTPUTF8 if international else email.policy.SMTP
    BytesGenerator(buffer, policy=policy).flatten(message, linesep="\r\n")
    return buffer.getvalue(), international


def _connect(server: SmtpServer) -> smtplib.SMTP:
    context = ssl.create_default_context(cafile=str(server.ca_file) if server.ca_file else None)
    try:
        if server.tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        try:
            smtp.ehlo()
            if server.tls == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailConfigError(
                        f"Le relais {server.shown} ne propose pas STARTTLS.",
                        hint="Vérifiez OGP_SMTP_HOST et OGP_SMTP_PORT, ou OGP_SMTP_TLS=ssl pour un relais "
                        "en TLS direct (port 465).",
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if server.user:
                smtp.login(server.user, server.password or "")
        except BaseException:
            smtp.close()
            raise
    except ssl.SSLCertVerificationError as exc:
        raise MailConfigError(
            f"Le certificat du relais {server.shown} n'est pas vérifiable ({exc.verify_message}).",
            hint="Vérifiez le nom du relais, ou indiquez son autorité de certification dans OGP_SMTP_CA_FILE.",
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise MailConfigError(
            f"Le relais {server.shown} refuse l'identifiant et le mot de passe ({exc.smtp_code}).",
            hint="Vérifiez OGP_SMTP_USER et OGP_SMTP_PASSWORD.",
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailConfigError(
            f"Le relais {server.shown} ne permet pas cela : {redact(str(exc))}.",
            hint="Vérifiez OGP_SMTP_TLS et, pour l'authentification, OGP_SMTP_USER.",
        ) from None
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise _Transient(f"{exc.smtp_code} {redact(_text(exc.smtp_error))}") from None
        raise MailConfigError(
            f"Le relais {server.shown} refuse la connexion : {exc.smtp_code} {redact(_text(exc.smtp_error))}.",
            hint="Vérifiez OGP_SMTP_HOST, OGP_SMTP_PORT et OGP_SMTP_TLS.",
        ) from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timeout, name unknown
        raise _Transient(_os_reason(exc)) from None
    return smtp


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return "nom du relais inconnu"
    if isinstance(exc, ConnectionRefusedError):
        return "connexion refusée"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "délai dépassé"
    return redact(str(exc)) or type(exc).__name__


@dataclass
class _Attempt:
    accepted: list[str] = field(default_factory=list)
    refused: list[RecipientRefused] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)
    error: str = ""


def _transaction(
    smtp: smtplib.SMTP, server: SmtpServer, sender: str, recipients: Sequence[str], payload: bytes, utf8: bool
) -> _Attempt:
    attempt = _Attempt()
    options = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else []
    if utf8 and not smtp.has_extn("smtputf8"):
        raise MailConfigError(
            f"Le relais {server.shown} n'accepte pas les adresses accentuées (SMTPUTF8).",
            hint="Écrivez l'adresse de l'expéditeur sans accent (OGP_MAIL_FROM).",
        )
    try:
        code, reply = smtp.mail(sender, options)
        if code != 250:
            if 400 <= code < 500:
                raise _Transient(f"{code} {redact(_text(reply))}")
            raise MailConfigError(
                f"Le relais {server.shown} refuse l'expéditeur : {code} {redact(_text(reply))}.",
                hint="Vérifiez OGP_MAIL_FROM : le relais doit l'autoriser pour ce compte.",
            )
        taken: list[str] = []
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code in (250, 251):
                taken.append(recipient)
            elif 400 <= code < 500:
                attempt.temporary.append(recipient)
                attempt.error = f"{code} {redact(_text(reply))}"
            else:
                attempt.refused.append(RecipientRefused(recipient, code, redact(_text(reply))))
        if not taken:
            smtp.rset()
            return attempt
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise _Transient(_os_reason(exc)) from None
    reply_to_data: bytes | str
    try:
        code, reply_to_data = smtp.data(payload)
    except smtplib.SMTPDataError as exc:  # the relay answered DATA itself: nothing was sent
        code, reply_to_data = exc.smtp_code, exc.smtp_error
    except (smtplib.SMTPServerDisconnected, OSError):
        raise _Uncertain(taken) from None
    reply = _text(reply_to_data).encode()
    if code == 250:
        attempt.accepted = taken
    elif 400 <= code < 500:
        attempt.temporary += taken
        attempt.error = f"{code} {redact(_text(reply))}"
    else:
        attempt.refused += [RecipientRefused(r, code, redact(_text(reply))) for r in taken]
    return attempt


def deliver(
    server: SmtpServer,
    message: EmailMessage,
    recipients: Sequence[str],
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Hands ``message`` to the relay for ``recipients`` (envelope addresses, ASCII domains),
    from the envelope sender of its ``From``; retries what was not taken (see the module).

    Raises :class:`MailConfigError` when the relay cannot take mail as configured."""
    policy = policy or RetryPolicy()
    sender = _envelope_sender(message)
    payload, utf8 = _payload(message, sender, recipients)
    delivery = Delivery()
    remaining = list(dict.fromkeys(recipients))
    for number in range(policy.attempts):
        if not remaining:
            break
        if number:
            sleep(policy.delay(number))
        delivery.attempts += 1
        try:
            smtp = _connect(server)
            delivery.connected = True
            try:
                attempt = _transaction(smtp, server, sender, remaining, payload, utf8)
            finally:
                _quit(smtp)
        except _Transient as exc:
            delivery.error = str(exc)
            continue
        except _Uncertain as exc:
            delivery.uncertain = exc.recipients
            remaining = [r for r in remaining if r not in delivery.uncertain]
            break
        delivery.accepted += attempt.accepted
        delivery.refused += attempt.refused
        remaining = attempt.temporary
        if attempt.error:
            delivery.error = attempt.error
    delivery.pending = remaining
    return delivery


def _envelope_sender(message: EmailMessage) -> str:
    addresses: tuple[Address, ...] = tuple(getattr(message["From"], "addresses", ()))
    if len(addresses) != 1:
        raise ConfigError("Un courriel doit avoir un seul expéditeur (OGP_MAIL_FROM).")
    return str(addresses[0].addr_spec)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
