"""The steward's console on a running door (``ogp dropoff serve`` as a process, a relay on
loopback), in Debian's Chromium: the counts at the top equal what the test computes from the
archive; reminders confirmed then sent from the console reach the relay, each with a link
that opens its body's page on the door (and no longer once the access is revoked); a
withdrawal from the console is the same journal line as ``ogp withdraw``; an upload through
the door gets its receipt, whose report link opens the report; every page passes axe-core.
Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from collections.abc import Iterator

import pytest
import requests

from pipelines.core.config import DatasetConfig, Settings
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.intake.submissions import collect_submissions
from pipelines.state.campaign import dataset_for_run
from tests.conftest import PROGRESS_SLUG, ROOT
from tests.integration.campaign_oracle import glance
from tests.integration.door import Body, Campaign, DoorProcess
from tests.integration.inbox import drop
from tests.integration.smtp_relay import Relay, text_of
from tests.integration.test_mail import CONTACTS, HEADER, excel_csv

pytestmark = pytest.mark.slow

SCREENSHOTS = ROOT / "test-output" / "screenshots"
AXE_RESULTS = ROOT / "test-output" / "axe-pilotage.json"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/acces/[A-Za-z0-9_-]{40,}")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is missing: run `make browser` (Debian's chromium, as .ci/run does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


class Running:
    def __init__(self, campaign: Campaign, relay: Relay, door: DoorProcess, steward: str) -> None:
        self.campaign, self.relay, self.door, self.steward = campaign, relay, door, steward


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, progress_config: DatasetConfig) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("pilotage")
    relay = Relay(root).start()
    port = relay.port
    campaign = Campaign(root)
    drop(
        campaign.inbox,
        "ditp/rapport.csv",
        (HEADER + "E1-A1-01,2023-06-30,limite,20,,\n").encode(),
        "2023-07-01",
    )
    drop(
        campaign.inbox,
        "meae/rapport.csv",
        (HEADER + "E6-A1-01,2023-06-30,complet,100,,\n").encode(),
        "2023-07-02",
    )
    drop(
        campaign.inbox,
        "mtfp/cibles.csv",
        b"id_cible;date_rapport;valeur_atteinte;commentaire;preuve_url\nE3-A1-01-C1;30/06/2023;45;;\n",
        "2023-07-03",
    )
    settings = Settings(state_dir=campaign.state, submissions_inbox=campaign.inbox).check()
    collect_submissions(dataset_for_run(progress_config, settings), settings)
    (root / "contacts.csv").write_bytes(excel_csv(CONTACTS))
    campaign.extra_env.update(relay.env)
    campaign.ogp("contacts", "import", str(root / "contacts.csv"))
    for body in ("ditp", "dinum", "meae", "mtfp"):
        campaign.grant(body)
    steward = (
        campaign.ogp("dropoff", "grant", "--steward", "--label", "Équipe PGO").stdout.strip().splitlines()[-1]
    )
    door = DoorProcess(campaign, OGP_DROPOFF_ADDRESS_LIMIT="100000 per minute")
    steward = steward.replace("http://127.0.0.1:8080/", door.url)
    assert relay.port == port
    yield Running(campaign, relay, door, steward)
    door.stop()
    relay.stop()


def page_of(browser, running: Running):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(running.steward)
    assert page.url.endswith("/pilotage/"), page.url
    return page, requested


def axe(page, name: str, results: dict[str, int]) -> None:  # noqa: ANN001
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page)
    results[name] = found.violations_count
    assert found.violations_count == 0, (name, found.generate_report())


def test_the_console_counts_reminders_withdrawal_and_receipts(
    browser, running: Running, plan: PlanFacts
) -> None:  # noqa: ANN001, PLR0915
    campaign, relay, door = running.campaign, running.relay, running.door
    results: dict[str, int] = {}
    page, requested = page_of(browser, running)
    assert all(url.startswith(door.url) for url in requested), requested  # nothing from elsewhere
    # 1. The campaign at a glance equals the archive's.
    expected = glance(campaign.archive, plan, dt.date.today().isoformat())
    figures = page.eval_on_selector_all(".chiffres li strong", "els => els.map(e => e.textContent.trim())")
    assert figures == [
        str(expected["ont_repondu"]),
        str(expected["actions_sans_rapport"]),
        str(expected["rejets_en_attente"]),
        str(expected["cibles_echues"]),
        str(expected["a_relancer"]),
        "aucune",
    ]
    assert page.locator("h2#org-meae").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "pilotage.png"))
    axe(page, "console", results)

    # 2. Reminders: the confirmation lists who gets which mail, then one POST sends them.
    page.get_by_role("link", name="Préparer les relances").click()
    page.wait_for_load_state()
    listed = page.eval_on_selector_all("table tbody th", "els => els.map(e => e.textContent)")
    chased = sorted({c[0] for c in CONTACTS})
    assert [re.search(r"\((\w+)\)$", t).group(1) for t in listed] == chased
    axe(page, "relances (confirmation)", results)
    page.screenshot(path=str(SCREENSHOTS / "pilotage-relances.png"))
    assert not relay.received  # nothing is sent by showing the page
    page.get_by_role("button", name=f"Envoyer {len(chased)} relance(s)").click()
    page.wait_for_load_state()
    assert "/pilotage/relances/" in page.url
    axe(page, "relances (envoyées)", results)
    assert sorted(r for m in relay.received for r in m.recipients) == sorted(c[2] for c in CONTACTS)
    links = {}
    for mail in relay.received:
        body = next(c[0] for c in CONTACTS if c[2] == mail.recipients[0])
        (link,) = LINK.findall(text_of(mail.message))
        links[body] = link.replace("http://127.0.0.1:8080/", door.url)
        opened = requests.get(links[body], timeout=30)
        assert opened.status_code == 200 and opened.url.endswith("/organisme/"), (body, opened.url)
        assert f"({body})" in opened.text
        assert "/guide" in text_of(mail.message)
    campaign.ogp("dropoff", "revoke", "ditp")
    assert requests.get(links["ditp"], timeout=30).status_code in (403, 404)  # every link sent is void
    assert requests.get(links["meae"], timeout=30).status_code == 200
    guide = requests.get(door.url + "guide", timeout=30)
    assert guide.status_code == 200 and "<h1>Rendre compte" in guide.text

    # 3. A withdrawal from the console is the same journal line as `ogp withdraw`.
    before = campaign.root / "avant-retrait"
    shutil.copytree(campaign.state, before)
    meae = next(
        e for e in campaign.journal() if e.get("fichier") == "rapport.csv" and e.get("organisme") == "meae"
    )
    page.goto(running.steward)
    page.get_by_role("link", name="Retirer rapport.csv").last.click()
    page.wait_for_load_state()
    axe(page, "retrait (formulaire)", results)
    page.get_by_label("Motif du retrait").fill("Envoyé par erreur")
    page.get_by_role("button", name="Retirer ce fichier").click()
    page.wait_for_load_state()
    assert "/pilotage/" in page.url and "est retiré" in page.inner_text("main")
    from_console = campaign.journal()[-1]
    campaign.ogp(
        "withdraw", PROGRESS_SLUG, meae["sha256"], "--reason", "Envoyé par erreur", OGP_STATE_DIR=str(before)
    )
    lines = (before / PROGRESS_SLUG / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    from_command = json.loads(lines[-1])
    assert from_console["sha256"] == meae["sha256"]
    assert {k: v for k, v in from_console.items() if k != "date"} == {
        k: v for k, v in from_command.items() if k != "date"
    }
    # The same action twice is refused as the command refuses it.
    page.goto(door.url + f"pilotage/reception/{meae['n']}/retrait")
    page.get_by_label("Motif du retrait").fill("Encore")
    page.get_by_role("button", name="Retirer ce fichier").click()
    page.wait_for_load_state()
    assert "a déjà été retirée" in page.inner_text("main")
    page.goto(door.url + f"pilotage/reception/{meae['n']}/rapport")
    axe(page, "rapport", results)

    # 4. An upload through the door gets its receipt; its report link opens the report.
    sent = len(relay.received)
    body = Body(door.url, campaign.grant("dinum"))
    answer = body.upload("suivi.csv", (HEADER + "E1-A1-02,2023-06-30,fini,50,,\n").encode())
    assert answer.status_code == 200 and "REJETÉ" in answer.text
    for _ in range(100):
        if len(relay.received) > sent:
            break
        time.sleep(0.1)
    (receipt,) = relay.received[sent:]
    assert receipt.recipients == ["loic.dupre@dinum.exemple.fr"]
    text = text_of(receipt.message)
    assert "REJETÉ" in text and "suivi.csv" in text and "Que faire" in text
    report_link = (
        re.search(r"http://\S+\?suite=reception-\d+", text)
        .group(0)
        .replace("http://127.0.0.1:8080/", door.url)
    )
    opened = requests.get(report_link, timeout=30)
    assert (
        opened.status_code == 200
        and "/rapport" in opened.url
        and "Rapport de validation : suivi.csv" in opened.text
    )
    # The door's log names accesses and receptions, never an address or a token.
    log = door.output()
    assert not any(c[2] in log for c in CONTACTS) and running.steward.rsplit("/", 1)[1] not in log
    AXE_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    AXE_RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    page.context.close()
