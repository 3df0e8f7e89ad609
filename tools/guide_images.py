"""The screenshots of docs/guide-campagne.md, made by running the guide's own commands on an
invented campaign (`make guide-images`): each terminal step as an SVG of what the command
printed (rich's export, colours kept), the status page as a PNG in Debian's Chromium. Mail
goes to a relay on loopback (the tests' aiosmtpd relay, with STARTTLS and authentication);
the addresses are invented (exemple.fr).

Run from the repository root with the project venv (test extras installed):
    .venv/bin/python -m tools.guide_images
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from tests.integration.door import Campaign, DoorProcess
from tests.integration.inbox import drop
from tests.integration.smtp_relay import Relay

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
WORK = ROOT / "build" / "campagne-pgo"  # in the checkout (ignored by git), one per clone
HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
PROOF = "https://www.modernisation.gouv.fr/preuve"
CONTACTS = (
    "id_organisation;nom;courriel\r\n"
    "ditp;Élodie Ménard;elodie.menard@ditp.exemple.fr\r\n"
    "ditp;Jean-Noël Côté;jn.cote@ditp.exemple.fr\r\n"
    "meae;;pgo@diplomatie.exemple.fr\r\n"
    "mtfp;Anaïs Lefèvre;anais.lefevre@fonction-publique.exemple.fr\r\n"
)


def shot(name: str, commands: list[str], env: dict[str, str], width: int = 120) -> None:
    """Runs each command in WORK as a steward types it and saves what the terminal showed."""
    screen = Console(record=True, width=width, file=open(os.devnull, "w"))  # noqa: SIM115
    ogp = str(Path(sys.executable).parent / "ogp")
    for command in commands:
        words = shlex.split(command)
        done = subprocess.run(
            [ogp, *words[1:]],
            cwd=WORK,
            capture_output=True,
            text=True,
            env={**env, "FORCE_COLOR": "1", "COLUMNS": str(width)},
            timeout=600,
        )
        screen.print(Text(f"$ {command}", style="bold"))
        screen.print(Text.from_ansi(done.stdout + done.stderr))
    screen.save_svg(str(IMAGES / name), title=commands[0])
    print(f"{IMAGES / name}")


class _Campaign(Campaign):
    """The tests' campaign folders, at WORK, with the tool's environment."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        super().__init__(root)
        self.base = env

    @property
    def state(self) -> Path:
        return self.root / "var"

    def env(self, **more: str) -> dict[str, str]:
        return {**self.base, "OGP_STATE_DIR": str(self.state), **more}


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    inbox = WORK / "boite"
    drop(
        inbox,
        "ditp/rapport.csv",
        (HEADER + f"E1-A1-01,2026-06-30,limite,20,Cadrage fait,{PROOF}\n").encode(),
        "2026-07-01",
    )
    drop(inbox, "meae/rapport.csv", (HEADER + "E6-A1-01,2026-06-30,complet,100,,\n").encode(), "2026-07-02")
    drop(
        inbox,
        "mtfp/cibles.csv",
        b"id_cible;date_rapport;valeur_atteinte;commentaire;preuve_url\nE3-A1-01-C1;30/06/2026;45;;\n",
        "2026-07-03",
    )
    (WORK / "contacts.csv").write_text(CONTACTS, encoding="utf-8-sig")
    IMAGES.mkdir(parents=True, exist_ok=True)
    base = {
        **os.environ,
        "OGP_SUBMISSIONS_INBOX": str(inbox),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    shot("campagne-echeance.svg", ["ogp campaign deadline 2026-12-15"], base)
    shot("contacts-import.svg", ["ogp contacts import contacts.csv", "ogp contacts list --org ditp"], base)
    relay = Relay(WORK).start()
    try:
        env = {**base, **relay.env}
        shot("collecte.svg", ["ogp run --out site"], env)
        shot("ogp-status.svg", ["ogp status suivi-plan-action-pgo-2021-2023"], env, width=220)
        pages(env, before_reminders=True)
        shot("relances.svg", ["ogp remind --dry-run relances/", "ogp remind"], env, width=160)
        pages(env, before_reminders=False)
    finally:
        relay.stop()


def pages(env: dict[str, str], *, before_reminders: bool) -> None:
    """The console (on a running door) before the reminders go; the status page after."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: make browser"
    door = None
    if before_reminders:
        ogp = str(Path(sys.executable).parent / "ogp")
        granted = subprocess.run(
            [ogp, "dropoff", "grant", "--steward"],
            cwd=WORK,
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        steward = granted.stdout.strip().splitlines()[-1]
        door = DoorProcess(_Campaign(WORK, env))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        if door is not None:
            page.goto(steward.replace("http://127.0.0.1:8080/", door.url))
            page.screenshot(path=str(IMAGES / "pilotage.png"))
            page.get_by_role("link", name="Préparer les relances").click()
            page.wait_for_load_state()
            page.screenshot(path=str(IMAGES / "pilotage-relances.png"))
            door.stop()
        else:
            page.goto((WORK / "var" / "suivi-plan-action-pgo-2021-2023" / "etat-collecte.html").as_uri())
            page.screenshot(path=str(IMAGES / "etat-collecte.png"))
        browser.close()


if __name__ == "__main__":
    main()
