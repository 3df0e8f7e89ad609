"""Core: times as people read them, in France's time, with its offset; data keeps UTC.

Everything recorded (journals, published tables, ``versions.json``) holds UTC. What a
person reads (reports, the door's pages, the campaign's status, the names of scheduled
runs) is said in Europe/Paris time, the campaign's calendar, with the offset from UTC
written out (« UTC+1 » in winter, « UTC+2 » in summer), so that nobody has to guess
which clock a time is on, and a time copied elsewhere stays exact.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def parse_moment(text: str) -> dt.datetime | None:
    """An ISO 8601 time of a journal (``…Z``, ``…+00:00``; UTC when it names no zone),
    aware; ``None`` when it does not read."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def in_paris(moment: dt.datetime) -> dt.datetime:
    """The same instant on France's clock (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(PARIS)


def offset_fr(moment: dt.datetime) -> str:
    """The offset of a Paris time from UTC: « UTC+1 », « UTC+2 »."""
    offset = in_paris(moment).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def day_fr(day: dt.date) -> str:
    """« 1er décembre 2026 »."""
    return f"{day.day}{'er' if day.day == 1 else ''} {_MONTHS[day.month - 1]} {day.year}"


def date_fr(value: str | dt.date) -> str:
    """« 3 décembre 2026 » from a date or an ISO text starting with one (a Jinja filter of
    the site, the mails and the status page)."""
    return day_fr(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10]))


def moment_fr(moment: dt.datetime | str) -> str:
    """« 1er décembre 2026 à 08:23 (heure de Paris, UTC+1) »; a text that does not read as a
    time is given back as it is."""
    if isinstance(moment, str):
        parsed = parse_moment(moment)
        if parsed is None:
            return moment
        moment = parsed
    local = in_paris(moment)
    return f"{day_fr(local.date())} à {local:%H:%M} (heure de Paris, {offset_fr(local)})"


def paris_day(moment: str) -> str:
    """The day (ISO) of a journal's UTC time on France's calendar: a file received at 23:30
    UTC on 1 December was received on 2 December in Paris. A text that does not read as a
    time gives its first ten characters."""
    parsed = parse_moment(moment)
    return in_paris(parsed).date().isoformat() if parsed else moment[:10]


def today_in_paris() -> dt.date:
    return dt.datetime.now(PARIS).date()
