"""Command: ``ogp``, what data stewards type. Errors print as French sentences, never tracebacks.

An adapter only: each command reads its options, calls the library and says the outcome
in French. ``app`` (the one error handler, shared options, settings, exit codes) and
``output`` (tables on a terminal and off one) are shared; the commands are grouped by what
they work on: ``publishing`` (run, publish, serve), ``versions`` (versions, diff,
rollback), ``campaign`` (status, withdraw, template, validate), ``checking`` (check), ``dropoff`` (the bodies' door and the steward's console), ``mail`` (contacts, deadline, reminders), ``watching`` (the scheduled runs' alerts).
"""

from __future__ import annotations

# isort: off
from pipelines.cli import french  # noqa: F401 - before typer, which reads its texts at import

# isort: on
# Registers the commands, in the order ``ogp --help`` lists them.
from pipelines.cli import publishing, versions, campaign, checking, dropoff, mail, watching  # noqa: F401, I001
from pipelines.cli.app import app

__all__ = ["app"]
