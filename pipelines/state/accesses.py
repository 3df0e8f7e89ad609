"""State: who may open the door of a campaign, each access with its links' hashes.

An access belongs to one body of the plan (or to a steward, for the console): it has a
short random id, safe to log and to show (``ogp dropoff list``, the journal's origin
``guichet:<id>``), a creation time, an optional last day, a revocation, a last use, and one
or more tokens. A token is the secret part of a personal link: printed once when it is
minted (by ``ogp dropoff grant``; later by a reminder or a receipt, which mint a new link
under the body's access since a printed token cannot be shown again), stored only as its
SHA-256 with when and why it was minted, and compared in constant time. Revoking an
access invalidates every link ever sent under it.

``acces.json`` (``state.layout``) is one document rewritten atomically under its own lock
(``.acces.lock``): a grant or a revocation from the command while the door serves is seen
at the door's next request (the store reads the file again when it changed). Each record
has one reader and one writer; nothing else spells its keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from pipelines.core.errors import ConfigError
from pipelines.core.times import PARIS
from pipelines.io.atomic import write_atomically
from pipelines.io.lock import exclusive
from pipelines.state.layout import ArchiveLayout

ACCESSES_FORMAT = 1
LOCK_NAME = ".acces.lock"
TOKEN_BYTES = 32  # 256 bits of randomness, 43 characters in a URL
ID_BYTES = 4  # 8 hexadecimal characters: tells accesses apart, proves nothing
# Last use is written at most this often per access: a page view is not a write.
TOUCH_EVERY = dt.timedelta(minutes=1)
# Expiry dates are the campaign's calendar days, in France.
CAMPAIGN_TZ = PARIS


class AccessKind(StrEnum):
    """Whose access it is: a body's door, or the steward's console."""

    BODY = "organisme"
    STEWARD = "pilotage"


class TokenPurpose(StrEnum):
    """Why a link was minted: the steward's grant, a reminder (« relance ») or a receipt
    (« accusé de réception »)."""

    GRANT = "attribution"
    REMINDER = "relance"
    RECEIPT = "accuse"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def today_in_france() -> dt.date:
    return dt.datetime.now(CAMPAIGN_TZ).date()


@dataclass(frozen=True)
class Token:
    """One link of an access: the SHA-256 of its secret, when and why it was minted."""

    sha256: str
    minted_at: str
    purpose: TokenPurpose

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "cree_le": self.minted_at, "motif": self.purpose.value}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Token:
        return cls(str(document["sha256"]), str(document["cree_le"]), TokenPurpose(document["motif"]))


@dataclass(frozen=True)
class Access:
    """One access to the door. ``organisation`` is the body's id (``None`` for a steward's);
    ``expires`` the last day its links work (ISO date, the campaign's calendar), ``None``:
    no end; ``label`` says whose it is when no body does (a steward's name)."""

    id: str
    kind: AccessKind
    organisation: str | None
    created_at: str
    tokens: tuple[Token, ...]
    expires: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None
    label: str = ""

    def state(self, today: dt.date) -> str:
        """« active », « expiree » or « revoquee » (a revoked access says so even once expired)."""
        if self.revoked_at is not None:
            return "revoquee"
        if self.expires is not None and today > dt.date.fromisoformat(self.expires):
            return "expiree"
        return "active"

    def active(self, today: dt.date) -> bool:
        return self.state(today) == "active"

    def opens_with(self, token: str) -> bool:
        """Whether ``token`` is one of this access's links: every stored hash is compared in
        constant time, none skipped, so the time taken tells nothing about the token."""
        digest = token_hash(token)
        found = False
        for stored in self.tokens:
            found |= hmac.compare_digest(stored.sha256, digest)
        return found

    @property
    def who(self) -> str:
        """The body's id, or « pilotage (label) » for a steward: what a list shows."""
        if self.kind is AccessKind.STEWARD:
            return f"pilotage ({self.label})" if self.label else "pilotage"
        return self.organisation or ""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "type": self.kind.value,
            "organisme": self.organisation,
            "cree_le": self.created_at,
            "expire_le": self.expires,
            "revoque_le": self.revoked_at,
            "dernier_usage": self.last_used_at,
            "jetons": [t.to_json() for t in self.tokens],
        }
        if self.label:
            document["libelle"] = self.label
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Access:
        return cls(
            id=str(document["id"]),
            kind=AccessKind(document.get("type", AccessKind.BODY.value)),
            organisation=document.get("organisme"),
            created_at=str(document["cree_le"]),
            tokens=tuple(Token.from_json(t) for t in document.get("jetons", ())),
            expires=document.get("expire_le"),
            revoked_at=document.get("revoque_le"),
            last_used_at=document.get("dernier_usage"),
            label=str(document.get("libelle", "")),
        )


@dataclass(frozen=True)
class Minted:
    """An access and the secret of the link just minted under it: the only moment the
    token exists outside the person's link. ``renewed``: the access existed already (a new
    link for a body whose access is active; the earlier links still work)."""

    access: Access
    token: str
    renewed: bool = False


def _read(layout: ArchiveLayout) -> list[Access]:
    path = layout.accesses
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return [Access.from_json(a) for a in document.get("acces", [])]
    except (json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"Le fichier des accès du guichet est illisible : {path} ({exc}).",
            hint="Restaurez-le depuis une sauvegarde ; sinon supprimez-le et attribuez de nouveau les "
            "accès (ogp dropoff grant) : les anciens liens ne fonctionneront plus.",
        ) from exc


def _write(layout: ArchiveLayout, accesses: list[Access]) -> None:
    document = {"format": ACCESSES_FORMAT, "acces": [a.to_json() for a in accesses]}
    write_atomically(
        layout.accesses,
        (json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"),
    )


def parse_expiry(text: str | None, today: dt.date) -> str | None:
    """``--expires AAAA-MM-JJ`` checked: a real date, today or later."""
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"Date d'expiration illisible : « {text} ».",
            hint="Écrivez-la AAAA-MM-JJ, par exemple --expires 2026-03-31 (dernier jour où le lien fonctionne).",
        ) from None
    if day < today:
        raise ConfigError(
            f"La date d'expiration {text} est déjà passée.",
            hint="Donnez le dernier jour où le lien doit fonctionner, aujourd'hui ou plus tard.",
        )
    return day.isoformat()


class AccessStore:
    """The accesses of one campaign's state folder.

    Reads are cached while the file is unchanged (its size, modification time and inode);
    every change is made under the accesses' lock from a fresh read, then written
    atomically, so the command and the door can change it at the same time."""

    def __init__(
        self,
        layout: ArchiveLayout,
        *,
        lock_timeout: float = 600.0,
        clock: Callable[[], str] = now_utc,
        today: Callable[[], dt.date] = today_in_france,
    ) -> None:
        self.layout = layout
        self.lock_timeout = lock_timeout
        self.clock = clock
        self.today = today
        self._cache: tuple[tuple[int, int, int], list[Access]] | None = None

    def _stamp(self) -> tuple[int, int, int]:
        try:
            stat = self.layout.accesses.stat()
        except FileNotFoundError:
            return (0, 0, 0)
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def all(self) -> list[Access]:
        """Every access ever granted, in the order of creation."""
        stamp = self._stamp()
        if self._cache is None or self._cache[0] != stamp:
            self._cache = (stamp, _read(self.layout))
        return list(self._cache[1])

    def get(self, access_id: str) -> Access | None:
        return next((a for a in self.all() if a.id == access_id), None)

    def open(self, token: str) -> Access | None:
        """The active access a link's token opens, or ``None`` (unknown, expired or revoked:
        the caller says the same thing for all three). Every access is compared."""
        found: Access | None = None
        for access in self.all():
            if access.opens_with(token):
                found = access
        if found is None or not found.active(self.today()):
            return None
        return found

    def active_of(self, organisation: str) -> Access | None:
        """A body's active access, if it has one (it has one at most)."""
        today = self.today()
        return next(
            (
                a
                for a in self.all()
                if a.kind is AccessKind.BODY and a.organisation == organisation and a.active(today)
            ),
            None,
        )

    @contextmanager
    def _changing(self) -> Iterator[list[Access]]:
        """The accesses as on disk, to change in place; written back when the block ends."""
        with exclusive(self.layout.root, timeout=self.lock_timeout, what="Accès du guichet", name=LOCK_NAME):
            accesses = _read(self.layout)
            yield accesses
            _write(self.layout, accesses)
            self._cache = None

    def _new_id(self, taken: set[str]) -> str:
        while True:
            candidate = secrets.token_hex(ID_BYTES)
            if candidate not in taken:
                return candidate

    def grant(
        self,
        organisation: str | None,
        *,
        kind: AccessKind = AccessKind.BODY,
        expires: str | None = None,
        label: str = "",
    ) -> Minted:
        """A new link for a body (or a steward). A body has one active access at most: if it
        has one, the link is minted under it (``renewed``; ``expires``, when given, replaces
        its last day) and the links sent before keep working until it is revoked."""
        if (kind is AccessKind.BODY) != (organisation is not None):
            raise ValueError("a body's access names its body; a steward's names none")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        minted = Token(token_hash(token), self.clock(), TokenPurpose.GRANT)
        today = self.today()
        with self._changing() as accesses:
            for i, access in enumerate(accesses):
                if kind is AccessKind.BODY and access.organisation == organisation and access.active(today):
                    renewed = replace(
                        access, tokens=(*access.tokens, minted), expires=expires or access.expires
                    )
                    accesses[i] = renewed
                    return Minted(renewed, token, renewed=True)
            access = Access(
                id=self._new_id({a.id for a in accesses}),
                kind=kind,
                organisation=organisation,
                created_at=minted.minted_at,
                tokens=(minted,),
                expires=expires,
                label=label,
            )
            accesses.append(access)
        return Minted(access, token)

    def mint(self, access_id: str, purpose: TokenPurpose) -> Minted:
        """One more link under an active access (a reminder's, a receipt's): the links sent
        before keep working; revoking the access ends them all."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        minted = Token(token_hash(token), self.clock(), purpose)
        today = self.today()
        with self._changing() as accesses:
            for i, access in enumerate(accesses):
                if access.id == access_id:
                    if not access.active(today):
                        raise ConfigError(
                            f"L'accès {access_id} n'est plus actif ({access.state(today)}) : aucun lien "
                            "n'y est ajouté.",
                            hint="Attribuez un nouvel accès : ogp dropoff grant --org ORGANISME.",
                        )
                    accesses[i] = replace(access, tokens=(*access.tokens, minted))
                    return Minted(accesses[i], token)
        raise ConfigError(f"Aucun accès n'a l'identifiant {access_id}.", hint="Voir ogp dropoff list.")

    def revoke(self, reference: str) -> list[Access]:
        """Revokes the active access named by its id, or every active access of the body
        named: each link ever sent under it stops working at once. Returns what was revoked;
        a reference that names no active access is an error saying what exists."""
        today = self.today()
        when = self.clock()
        revoked: list[Access] = []
        with self._changing() as accesses:
            for i, access in enumerate(accesses):
                if reference in (access.id, access.organisation) and access.active(today):
                    accesses[i] = replace(access, revoked_at=when)
                    revoked.append(accesses[i])
            if not revoked:
                known = [a for a in accesses if reference in (a.id, a.organisation)]
                raise ConfigError(
                    f"« {reference} » ne désigne aucun accès actif"
                    + (
                        f" (accès {', '.join(f'{a.id} : {a.state(today)}' for a in known)})."
                        if known
                        else "."
                    ),
                    hint="Donnez l'identifiant d'un organisme ou d'un accès, tel que ogp dropoff list les montre.",
                )
        return revoked

    def touch(self, access_id: str) -> None:
        """Records the access's last use, at most once a minute (a page view is not a write)."""
        access = self.get(access_id)
        now = self.clock()
        if access is None or (
            access.last_used_at is not None and _parse(now) - _parse(access.last_used_at) < TOUCH_EVERY
        ):
            return
        with self._changing() as accesses:
            for i, found in enumerate(accesses):
                if found.id == access_id:
                    accesses[i] = replace(found, last_used_at=now)


def _parse(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
