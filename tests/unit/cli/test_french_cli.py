"""The command's own texts (those of click and typer) in French, through gettext."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tools.compile_messages import mo_bytes, parse_po

CATALOGUE = ROOT / "pipelines" / "locale" / "fr" / "LC_MESSAGES" / "messages.po"
OGP = Path(sys.executable).parent / "ogp"


def test_the_compiled_catalogue_is_the_po_file() -> None:
    assert CATALOGUE.with_suffix(".mo").read_bytes() == mo_bytes(
        parse_po(CATALOGUE.read_text(encoding="utf-8"))
    )
    entries = parse_po(CATALOGUE.read_text(encoding="utf-8"))
    assert entries["Commands"] == "Commandes" and all(entries.values())


def test_help_and_usage_errors_speak_french() -> None:
    env = {k: v for k, v in os.environ.items() if k != "LANGUAGE"} | {"LANG": "C.UTF-8", "COLUMNS": "100"}
    shown = subprocess.run([str(OGP), "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert shown.returncode == 0 and "Commandes" in shown.stdout and "Commands" not in shown.stdout
    assert "Utilisation : ogp" in shown.stdout and "Affiche cette aide et s'arrête." in shown.stdout
    assert "Usage" not in shown.stdout and "Show this message" not in shown.stdout
    missing = subprocess.run([str(OGP), "diff"], capture_output=True, text=True, env=env, timeout=60)
    assert missing.returncode == 2 and "Pour l'aide : 'ogp diff --help'" in missing.stderr
    assert "Il manque l'argument dataset." in missing.stderr and "Missing" not in missing.stderr
    unknown = subprocess.run(
        [str(OGP), "diff", "a", "b", "c", "--nope"], capture_output=True, text=True, env=env, timeout=60
    )
    assert unknown.returncode == 2 and "Option inconnue : --nope." in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr
