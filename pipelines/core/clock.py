"""Core: the date a version is published under, the one clock of what is published.

``SOURCE_DATE_EPOCH`` (reproducible builds) fixes it; otherwise it is today in UTC. The
version log records it, and the flat tables compare the targets' deadlines with it, so
the same inputs under the same date give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os


def publication_date() -> str:
    """Today (UTC), or the day of ``SOURCE_DATE_EPOCH`` for reproducible rebuilds (ISO date)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.date().isoformat()
