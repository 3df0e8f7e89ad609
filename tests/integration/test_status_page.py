"""``etat-collecte.html`` in Debian's Chromium: the published site's look, the campaign at a
glance whose counts equal what the test computes from the archive, each body's history
(files, withdrawals, mails), statuses by their French labels, and 0 axe-core violations.
A screenshot goes to test-output/screenshots/."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.core.config import DatasetConfig
from pipelines.gather.submissions.plan_facts import PlanFacts
from tests.conftest import PROGRESS_SLUG, ROOT
from tests.integration.campaign_oracle import glance
from tests.integration.smtp_relay import Relay
from tests.integration.test_mail import CONTACTS, _campaign, env_of, excel_csv, state_args
from tests.unit.intake.test_progress_collection import Pipeline

pytestmark = pytest.mark.slow

SCREENSHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is missing: run `make browser` (Debian's chromium, as .ci/run does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def lived(
    tmp_path: Path, progress_config: DatasetConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    """A campaign as it is lived: files received, contacts imported, reminders sent, one
    file withdrawn (each step rewrites etat-collecte)."""
    pipeline = _campaign(tmp_path, progress_config)
    pipeline.collect()
    (tmp_path / "contacts.csv").write_bytes(excel_csv(CONTACTS))
    runner = CliRunner()
    env = env_of(pipeline)
    assert (
        runner.invoke(
            app, ["contacts", "import", str(tmp_path / "contacts.csv"), *state_args(pipeline)], env=env
        ).exit_code
        == 0
    )
    relay = Relay(tmp_path).start()
    try:
        sent = runner.invoke(app, ["remind", *state_args(pipeline)], env={**env, **relay.env})
        assert sent.exit_code == 0, sent.output
    finally:
        relay.stop()
    journal = [
        json.loads(line) for line in (pipeline.archive.root / "journal.jsonl").read_text().splitlines()
    ]
    corrected = next(e["sha256"] for e in journal if e.get("fichier") == "corrige.csv")
    withdrawn = runner.invoke(
        app,
        ["withdraw", PROGRESS_SLUG, corrected[:12], "--reason", "Envoyé par erreur", *state_args(pipeline)],
        env=env,
    )
    assert withdrawn.exit_code == 0, withdrawn.output
    yield pipeline


def test_the_status_page_shows_the_campaign_at_a_glance_and_passes_axe(
    browser, lived: Pipeline, plan: PlanFacts
) -> None:  # noqa: ANN001
    from axe_playwright_python.sync_playwright import Axe

    page_path = lived.archive.root / "etat-collecte.html"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(page_path.as_uri())
    assert all(url.startswith("file://") for url in requested), requested  # nothing from the network
    figures = page.eval_on_selector_all(".chiffres li strong", "els => els.map(e => e.textContent.trim())")
    expected = glance(lived.archive.root, plan, dt.date.today().isoformat())
    assert figures[:5] == [
        str(expected["ont_repondu"]),
        str(expected["actions_sans_rapport"]),
        str(expected["rejets_en_attente"]),
        str(expected["cibles_echues"]),
        str(expected["a_relancer"]),
    ]
    assert (
        page.locator(".chiffres li")
        .first.inner_text()
        .endswith(f"sur {expected['attendus']} ont envoyé au moins un fichier accepté")
    )
    assert expected["derniere_relance"] is not None and figures[5] != "aucune"
    # dinum: its withdrawn file with the reason, its reminder; no raw status code anywhere.
    dinum = page.locator("section", has=page.locator("h2#org-dinum"))
    text = dinum.inner_text()
    assert "corrige.csv, retiré le" in text and "Envoyé par erreur" in text
    assert "relance « Suivi du plan d'action PGO 2021-2023" in text and ": envoyé" in text
    latest = page.eval_on_selector_all(
        "table:has(caption:text-matches('^Actions de')) tbody td:last-child",
        "els => els.map(e => e.textContent)",
    )
    assert "Avancement limité, 20 % au 30 juin 2023 (rapport.csv, reçu le 10 juillet 2023)" in latest
    codes = ("non_commence", "limite", "substantiel", "complet", "abandonne", "non_evalue")
    assert not [cell for cell in latest if any(cell.startswith(code) for code in codes)]
    found = Axe().run(page)
    assert found.violations_count == 0, found.generate_report()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "etat-collecte.png"), full_page=False)
    context.close()
