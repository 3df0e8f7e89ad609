"""Publish stage, the pages people read: the site and the progress dashboard."""

# The look of every page of ours, in one file (``pipelines/core/site.css``): inlined by the
# published pages (they load nothing), served as a stylesheet by the bodies' door (its CSP
# allows no inline style).
from pipelines.core.look import STYLESHEET

__all__ = ["STYLESHEET"]
