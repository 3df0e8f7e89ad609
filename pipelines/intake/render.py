"""Intake: the French words and templates of what the intake writes for people: mails
(receipts, reminders) and the campaign's status page, in ``templates/``.

Dates are said as people say them (« 3 décembre 2026 », and for a time of reception « 3
décembre 2026 à 10 h 05 (heure de Paris) »); HTML is escaped (file names, cells and titles
come from people's files), text is not.
"""

from __future__ import annotations

import datetime as dt
import functools

import jinja2

from pipelines.core.times import date_fr, in_paris
from pipelines.io.template_cache import template_cache
from pipelines.state.mails import MailKind, Outcome


def time_fr(value: str) -> str:
    """« 3 décembre 2026 à 10 h 05 (heure de Paris) » from a UTC ISO time."""
    moment = in_paris(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    return f"{date_fr(moment.date())} à {moment.hour} h {moment.minute:02d} (heure de Paris)"


def kind_fr(kind: str) -> str:
    return MailKind(kind).label


def outcome_fr(outcome: str) -> str:
    return Outcome(outcome).label


@functools.cache
def environment(autoescape: bool) -> jinja2.Environment:
    """The templates of ``pipelines/intake/templates``: HTML escaped, text as it is."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipelines.intake", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=template_cache(),
    )
    env.filters.update(date_fr=date_fr, time_fr=time_fr)
    env.globals.update(kind_fr=kind_fr, outcome_fr=outcome_fr)
    return env


def render(name: str, **context: object) -> tuple[str, str]:
    """The text and HTML of a letter from ``templates/<name>.txt`` and ``<name>.html``."""
    text = environment(False).get_template(f"{name}.txt").render(**context)
    html = environment(True).get_template(f"{name}.html").render(**context)
    return text, html
