"""State: the people each body's mail goes to, kept in the campaign's state folder only.

Contacts are personal data. They are read from a CSV the steward keeps (``ogp contacts
import``) and written to ``contacts.json`` beside the journal; nothing else holds an
address: the journal of mails names a body and a contact's ``id`` (a short hash), never the
address, and no published file, report or log line ever carries one.

The CSV is read as a spreadsheet saves it: UTF-8 with or without its BOM (else
Windows-1252, what « CSV (séparateur : point-virgule) » of French Excel writes), ``,`` or
``;``, the columns ``id_organisation``, ``nom``, ``courriel`` in any order and spelling of
case and accents, empty lines skipped. Every problem is reported with its line (the header
is line 1), and then nothing is imported: an import replaces the whole list or nothing.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
from collections.abc import Collection
from dataclasses import dataclass
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from pathlib import Path
from typing import Any

from pipelines.core.errors import ConfigError
from pipelines.core.text import match_key
from pipelines.io.atomic import write_atomically

CONTACTS_FORMAT = 1
COLUMNS = ("id_organisation", "nom", "courriel")
MAX_BYTES = 2 * 2**20


@dataclass(frozen=True, order=True)
class Contact:
    """One person (or a shared address) a body's mail goes to. ``name`` may be empty."""

    organisation: str
    email: str
    name: str = ""

    @property
    def id(self) -> str:
        """A stable short name of the contact, for journals and messages: never the address."""
        digest = hashlib.sha256(f"{self.organisation}\n{self.email.lower()}".encode()).hexdigest()
        return f"c-{digest[:8]}"

    def address(self) -> Address:
        """The contact as a mail header holds it: the name (accents encoded by the ``email``
        package), the domain in its ASCII form (IDNA)."""
        local, _, domain = self.email.rpartition("@")
        return Address(self.name, local, _ascii_domain(domain))

    @property
    def envelope(self) -> str:
        """The address as the relay is given it (ASCII domain)."""
        local, _, domain = self.email.rpartition("@")
        return f"{local}@{_ascii_domain(domain)}"

    def to_json(self) -> dict[str, Any]:
        return {"id_organisation": self.organisation, "nom": self.name, "courriel": self.email}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Contact:
        return cls(str(document["id_organisation"]), str(document["courriel"]), str(document.get("nom", "")))


def _ascii_domain(domain: str) -> str:
    return domain if domain.isascii() else domain.encode("idna").decode("ascii")


class ContactsInvalid(ConfigError):
    """A contacts file with problems: ``problems`` are ``(line, message)``, every one found."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        shown = "; ".join(f"ligne {line} : {text}" if line else text for line, text in problems[:20])
        more = f" ; … et {len(problems) - 20} autre(s)" if len(problems) > 20 else ""
        super().__init__(
            f"{path} : {len(problems)} problème(s), rien n'a été importé. {shown}{more}.",
            hint="Corrigez le fichier (une ligne par contact : id_organisation, nom, courriel) et "
            "importez-le de nouveau.",
        )
        self.problems = problems


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def _check_address(text: str) -> str | None:
    """Why ``text`` is not an address a relay takes, in French; ``None`` when it is one."""
    if not text:
        return "le courriel est vide"
    if "@" not in text or text.count("@") != 1:
        return f"« {text} » n'est pas une adresse de courriel (une seule @)"
    local, _, domain = text.partition("@")
    if not local.isascii():
        return f"« {text} » : les accents avant @ ne sont pas pris en charge par les relais ; écrivez-la sans accent"
    if "." not in domain or domain.startswith(".") or domain.endswith("."):
        return f"« {text} » : le domaine après @ est incomplet"
    try:
        Address(addr_spec=f"{local}@{_ascii_domain(domain)}")
    except (HeaderParseError, MessageDefect, ValueError, IndexError, UnicodeError):
        return f"« {text} » n'est pas une adresse de courriel valide"
    return None


def parse_contacts(content: bytes, known: Collection[str], *, path: str = "contacts.csv") -> list[Contact]:
    """The contacts of a CSV, in file order; raises :class:`ContactsInvalid` naming every
    problem (unknown body, malformed or missing address, the same address twice for a body,
    a missing column) with its line."""
    if len(content) > MAX_BYTES:
        raise ContactsInvalid(path, [(0, f"fichier de plus de {MAX_BYTES // 2**20} Mio")])
    text = _decode(content)
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    wanted = {match_key(c): c for c in COLUMNS}
    positions = {
        wanted[match_key(h)]: i for i, h in reversed(list(enumerate(header))) if match_key(h) in wanted
    }
    missing = [c for c in COLUMNS if c not in positions]
    if missing:
        raise ContactsInvalid(
            path,
            [(1, "colonne(s) manquante(s) : " + ", ".join(missing) + f" (en-tête lu : {', '.join(header)})")],
        )
    problems: list[tuple[int, str]] = []
    contacts: list[Contact] = []
    seen: dict[tuple[str, str], int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(column: str, cells: list[str] = cells) -> str:
            position = positions[column]
            return cells[position].strip() if position < len(cells) else ""

        body, name, email = cell("id_organisation"), cell("nom"), cell("courriel")
        if not body:
            problems.append((line, "id_organisation est vide"))
        elif body not in known:
            close = difflib.get_close_matches(body.lower(), sorted(known), n=3)
            problems.append(
                (
                    line,
                    f"organisme inconnu « {body} »"
                    + (f" (vouliez-vous dire : {', '.join(close)} ?)" if close else "")
                    + " ; utilisez l'identifiant de la table organisations du plan",
                )
            )
        reason = _check_address(email)
        if reason:
            problems.append((line, reason))
        if not body or body not in known or reason:
            continue
        key = (body, email.lower())
        if key in seen:
            problems.append((line, f"« {email} » figure déjà pour {body} à la ligne {seen[key]}"))
            continue
        seen[key] = line
        contacts.append(Contact(body, email, name))
    if problems:
        raise ContactsInvalid(path, problems)
    return contacts


class ContactBook:
    """The contacts of one campaign (``contacts.json`` of its state folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[Contact]:
        if not self.path.exists():
            return []
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            return [Contact.from_json(c) for c in document["contacts"]]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"La liste des contacts est illisible : {self.path} ({type(exc).__name__}).",
                hint="Importez de nouveau le fichier des contacts : ogp contacts import FICHIER.csv",
            ) from exc

    def of(self, organisation: str) -> list[Contact]:
        return [c for c in self.read() if c.organisation == organisation]

    def counts(self) -> dict[str, int]:
        """The number of contacts of each body that has some."""
        found: dict[str, int] = {}
        for contact in self.read():
            found[contact.organisation] = found.get(contact.organisation, 0) + 1
        return found

    def replace(self, contacts: list[Contact]) -> None:
        """Writes the whole list at once (never half a list)."""
        document = {"format": CONTACTS_FORMAT, "contacts": [c.to_json() for c in contacts]}
        write_atomically(
            self.path,
            (json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"),
        )
        self.path.chmod(0o600)  # personal data: the steward's account only
