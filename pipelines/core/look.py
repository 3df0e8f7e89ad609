"""Core: the look of every page we write, one stylesheet for all of them.

The published site (``publish/site``), the campaign's status page (``etat-collecte.html``)
and the door's pages share ``site.css``: the French State design system's colours and type,
inlined in each page, so that no page loads anything from the network.
"""

from __future__ import annotations

from pathlib import Path

SITE_CSS = (Path(__file__).with_name("site.css")).read_text(encoding="utf-8")
