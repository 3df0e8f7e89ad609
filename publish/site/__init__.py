"""Publish stage, the pages people read: the site and the progress dashboard."""

from pathlib import Path

# The look of every page of ours, in one file: inlined by the published pages (they load
# nothing), served as a stylesheet by the bodies' door (its CSP allows no inline style).
STYLESHEET = Path(__file__).parent / "templates" / "site.css"
