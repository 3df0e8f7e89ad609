"""Adapter for the command: the texts click and typer write themselves (help, usage,
errors on arguments) in French, through gettext, their own translation mechanism.

Imported by ``pipelines.cli`` before typer: typer reads its panel titles at import. The
catalogue is ``pipelines/locale/fr/LC_MESSAGES/messages.po`` (compiled to ``.mo``). A
person who has chosen a language (``LANGUAGE``) keeps it.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"

os.environ.setdefault("LANGUAGE", "fr")
gettext.bindtextdomain("messages", str(LOCALE_DIR))
