"""A real SMTP relay on loopback for the mail tests: aiosmtpd's controller on 127.0.0.1,
STARTTLS required on a certificate of a test CA (trustme, made by the test), AUTH required
(LOGIN/PLAIN, only over TLS), every message kept as received. A test can make it refuse
an address for good (550), answer « try later » (451) to the next messages, cut the
connection once a message is transferred, or be down (stopped, then started again on the
same port)."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER = "releve-pgo"
PASSWORD = "mot-de-passe-du-relais-9f3c"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Handler:
    refused: set[str] = field(default_factory=set)
    try_later: int = 0  # the next n messages get 451 after DATA
    cut: int = 0  # the next n messages: connection cut once transferred (message kept)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.try_later:
                self.try_later -= 1
                return "451 4.3.0 Try again later"
            message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            if self.cut:
                self.cut -= 1
                server.transport.close()
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Relay:
    """The relay; ``env`` are the ``OGP_*`` settings that send through it."""

    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA()
        self.ca_file = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(self.context)
        self.handler = Handler()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> Relay:
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=_authenticate,
            enable_SMTPUTF8=True,
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def env(self) -> dict[str, str]:
        return {
            "OGP_SMTP_HOST": "127.0.0.1",
            "OGP_SMTP_PORT": str(self.port),
            "OGP_SMTP_TLS": "starttls",
            "OGP_SMTP_USER": USER,
            "OGP_SMTP_PASSWORD": PASSWORD,
            "OGP_SMTP_CA_FILE": str(self.ca_file),
            "OGP_MAIL_FROM": "Équipe du suivi PGO <suivi-pgo@exemple.gouv.fr>",
        }


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]
