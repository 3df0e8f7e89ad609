"""Intake: the personal links to the door that mails carry.

A body's link is the door's public address (``OGP_DROPOFF_URL``) and a token of its access.
Each mail gets a token of its own, minted under the body's active access with why it was
minted (a reminder, a receipt): the links sent before keep working, and revoking the access
(``ogp dropoff revoke``) invalidates them all at once. A body without an active access gets
no link; a preview (``--dry-run``) mints nothing.
"""

from __future__ import annotations

from pipelines.core.config import Settings
from pipelines.state.accesses import AccessStore, TokenPurpose
from pipelines.state.layout import ArchiveLayout

__all__ = ["AccessLinks", "personal_link"]


def personal_link(settings: Settings, token: str) -> str:
    """The link a person opens: the door's public address (``OGP_DROPOFF_URL``), then the token."""
    return f"{settings.dropoff_url.rstrip('/')}/acces/{token}"


class AccessLinks:
    """The bodies' personal links that mails carry (``intake.mail.DoorLinks``): a new token
    minted under the body's active access for each mail (``purpose`` says why), so that
    revoking the access invalidates every link sent; none when the body has no active access."""

    def __init__(self, settings: Settings, layout: ArchiveLayout, purpose: TokenPurpose) -> None:
        self.settings = settings
        self.store = AccessStore(layout, lock_timeout=settings.lock_timeout)
        self.purpose = purpose

    def link_for(self, organisation: str) -> str | None:
        access = self.store.active_of(organisation)
        if access is None:
            return None
        return personal_link(self.settings, self.store.mint(access.id, self.purpose).token)

    def preview_link(self, organisation: str) -> str | None:
        """What a preview shows instead (``--dry-run`` mints nothing)."""
        if self.store.active_of(organisation) is None:
            return None
        return personal_link(self.settings, "<lien-personnel-cree-a-l-envoi>")

    def guide_link(self) -> str:
        return f"{self.settings.dropoff_url.rstrip('/')}/guide"
