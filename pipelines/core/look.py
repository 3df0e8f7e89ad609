"""Core: the look of every page we write, one stylesheet for all of them.

The published site (``publish/site``), the campaign's status page (``etat-collecte.html``)
and the door's pages share ``site.css``: the French State design system's colours and type,
inlined in each page, so that no page loads anything from the network.
"""

from __future__ import annotations

from pathlib import Path

STYLESHEET = Path(__file__).with_name("site.css")
SITE_CSS = STYLESHEET.read_text(encoding="utf-8")
