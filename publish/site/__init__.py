"""Publish stage, the pages people read: the site and the progress dashboard."""
