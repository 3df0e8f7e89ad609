"""The pages, in a real browser (Debian's Chromium, headless, driven by Playwright): links
resolve, nothing comes from the network, every page passes axe-core with no violation, the
dashboard shows the published numbers, the filters work and the page works without
JavaScript, each dataset page shows the first rows of each table as its CSV holds them, and
the feeds each page names read in feedparser. Screenshots go to test-output/."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
import requests

from publish.serve import make_server
from tests.conftest import PLAN_SLUG, PROGRESS_SLUG, ROOT

pytestmark = pytest.mark.slow

SCREENSHOTS = ROOT / "test-output" / "screenshots"
STATUSES = ["complet", "substantiel", "limite", "non_commence", "abandonne", "non_evalue", "sans_rapport"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("pages") / "site"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ogp"),
            "run",
            "--out",
            str(out),
            "--state-dir",
            str(out.parent / "var"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    # Built on the default (loopback) address: said once, with how to set a public one.
    assert result.stderr.count("OGP_BASE_URL=") == 1, result.stderr
    server = make_server(out, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is missing: run `make browser` (Debian's chromium, as .ci/run does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def published(site: str, slug: str, table: str) -> list[dict]:
    return requests.get(f"{site}datasets/{slug}/latest/{table}.json", timeout=10).json()


def open_page(browser, url: str, javascript: bool = True):  # noqa: ANN001, ANN201
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url, wait_until="networkidle")
    return page, requested


@pytest.mark.parametrize(
    "path",
    [
        "index.html",
        "organismes.html",
        f"datasets/{PLAN_SLUG}/index.html",
        f"datasets/{PROGRESS_SLUG}/index.html",
        "schemas/suivi.html",
        "schemas/suivi_cibles.html",
        "schemas/cibles.html",
    ],
)
def test_pages_load_nothing_from_the_network_and_every_local_link_resolves(
    browser, site: str, path: str
) -> None:  # noqa: ANN001
    page, requested = open_page(browser, site + path)
    assert requested and all(url.startswith(site) for url in requested), requested
    assert page.evaluate("document.documentElement.lang") == "fr"
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    local = [urljoin(site + path, href) for href in links if not urlsplit(href).scheme]
    assert local
    for url in sorted(set(local)):
        assert requests.get(url, timeout=10).status_code == 200, url
    levels = page.eval_on_selector_all("h1, h2, h3, h4", "els => els.map(e => Number(e.tagName[1]))")
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    assert page.eval_on_selector_all(
        "table", "ts => ts.every(t => t.querySelector('th') && t.querySelector('caption'))"
    )
    assert page.eval_on_selector_all(
        "svg", "ss => ss.every(s => s.getAttribute('role') === 'img' && s.querySelector('title'))"
    )
    page.context.close()


def test_dashboard_numbers_equal_the_published_data(browser, site: str) -> None:  # noqa: ANN001
    actions = published(site, PLAN_SLUG, "actions")
    suivi = published(site, PROGRESS_SLUG, "suivi")
    latest = {}
    for row in sorted(suivi, key=lambda r: (r["id_action"], r["date_rapport"])):
        latest[row["id_action"]] = row["statut"]
    expected = {}
    for action in actions:
        status = latest.get(action["id_action"], "sans_rapport")
        expected.setdefault(action["id_engagement"], Counter())[status] += 1
    page, _ = open_page(browser, site + "index.html")
    shown = page.eval_on_selector_all(
        "#table-engagements tbody tr",
        "rows => rows.map(r => [r.dataset.groupe, Array.from(r.querySelectorAll('td[data-statut]')).map(td => [td.dataset.statut, Number(td.textContent)])])",
    )
    assert {group: {s: n for s, n in cells if n} for group, cells in shown} == {
        group: dict(counts) for group, counts in expected.items()
    }
    assert page.inner_text("#total-actions") == str(len(actions)) == "58"
    assert page.inner_text("#actions-avec-rapport") == str(len(latest))
    # Each bar of the chart says the same numbers as the table.
    bars = page.eval_on_selector_all("#graphique-engagements-titre ~ rect", "rs => rs.length")
    assert bars == sum(1 for counts in expected.values() for n in counts.values() if n)
    # Progress over time: the last date's counts are the latest statuses.
    last = page.eval_on_selector_all(
        "#table-evolution tbody tr:last-child td",
        "tds => tds.map(td => [td.dataset.statut, Number(td.textContent)])",
    )
    totals = Counter(latest.get(a["id_action"], "sans_rapport") for a in actions)
    assert {s: n for s, n in last if n} == dict(totals)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "accueil.png"), full_page=True)
    page.context.close()


def test_targets_on_the_dashboard_equal_the_published_data_without_javascript(browser, site: str) -> None:  # noqa: ANN001
    targets = published(site, PLAN_SLUG, "cibles")
    values = published(site, PROGRESS_SLUG, "suivi_cibles")
    log = requests.get(f"{site}datasets/{PROGRESS_SLUG}/versions.json", timeout=10).json()
    as_of = next(v["date"] for v in log["versions"] if v["version"] == log["latest"])[:10]
    latest = {}
    for row in sorted(values, key=lambda r: (r["id_cible"], r["date_rapport"])):
        latest[row["id_cible"]] = row["valeur_atteinte"]
    assert len(targets) == 26 and latest  # the samples report on some targets
    expected = {}
    for t in targets:
        value = latest.get(t["id_cible"])
        start = t["valeur_initiale"] or 0
        if t["nature"] == "jalon":
            share = None if value is None else 100 if value >= 1 else 0
        elif value is None:  # reached when the plan was published, or not known
            share = 100 if t["valeur_initiale"] is not None and start >= t["valeur"] else None
        elif t["valeur"] == start:
            share = 100 if value >= start else 0
        else:
            share = int((value - start) / (t["valeur"] - start) * 100 + 0.5)
        late = bool(t["echeance"]) and t["echeance"] < as_of
        state = (
            "atteinte"
            if share is not None and share >= 100
            else "echeance_depassee"
            if late
            else "en_cours"
            if value is not None
            else "sans_rapport"
        )
        expected[t["id_cible"]] = (state, "—" if share is None else f"{share}\u00a0%")
    page, _ = open_page(browser, site + "index.html", javascript=False)
    shown = page.eval_on_selector_all(
        "#table-cibles tbody tr",
        "rows => rows.map(r => [r.dataset.cible, r.dataset.etat, r.cells[6].textContent])",
    )
    assert {c: (state, share) for c, state, share in shown} == expected
    overdue = page.eval_on_selector_all(
        "#table-cibles-en-retard tbody tr", "rows => rows.map(r => r.dataset.cible)"
    )
    assert sorted(overdue) == sorted(c for c, (state, _) in expected.items() if state == "echeance_depassee")
    assert page.inner_text("#cibles-en-retard") == str(len(overdue))
    assert page.inner_text("#total-cibles") == "26"
    by_engagement = page.eval_on_selector_all(
        "#table-cibles-engagements tbody tr",
        "rows => rows.map(r => [r.dataset.groupe, Array.from(r.querySelectorAll('td[data-etat]')).map(td => [td.dataset.etat, Number(td.textContent)])])",
    )
    counts: dict[str, Counter] = {}
    for t in targets:
        counts.setdefault(t["id_cible"].split("-")[0], Counter())[expected[t["id_cible"]][0]] += 1
    assert {g: {s: n for s, n in cells if n} for g, cells in by_engagement} == {
        g: dict(c) for g, c in counts.items()
    }
    # The chart repeats the table: one bar segment per non-zero count, with a title.
    segments = page.eval_on_selector_all("#graphique-cibles-titre ~ rect", "rs => rs.length")
    assert segments == sum(1 for c in counts.values() for n in c.values() if n)
    page.locator("#cibles").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "cibles.png"), full_page=True)
    page.context.close()


def test_the_per_body_view_equals_the_published_data_without_javascript(browser, site: str) -> None:  # noqa: ANN001
    responsables = published(site, PLAN_SLUG, "responsables")
    suivi = published(site, PROGRESS_SLUG, "suivi")
    latest: dict[str, dict] = {}
    for row in sorted(suivi, key=lambda r: (r["id_action"], r["date_rapport"])):
        latest[row["id_action"]] = row
    expected: dict[str, dict[str, tuple[str, str]]] = {}
    for row in responsables:
        report = latest.get(row["id_action"])
        expected.setdefault(row["id_organisation"], {})[row["id_action"]] = (
            report["statut"] if report else "sans_rapport",
            (report or {}).get("id_organisation") or "",
        )
    page, requested = open_page(browser, site + "organismes.html", javascript=False)
    assert all(url.startswith(site) for url in requested)
    shown = page.eval_on_selector_all(
        "table.organisme",
        "ts => ts.map(t => [t.dataset.organisme, Array.from(t.querySelectorAll('tbody tr')).map("
        "r => [r.dataset.action, r.dataset.statut, r.dataset.auteur])])",
    )
    assert {body: {a: (s, w) for a, s, w in rows} for body, rows in shown} == expected
    without = {
        body: sum(1 for s, _ in actions.values() if s == "sans_rapport") for body, actions in expected.items()
    }
    captions = page.eval_on_selector_all(
        "table.organisme", "ts => ts.map(t => [t.dataset.organisme, t.caption.textContent])"
    )
    assert all(caption.endswith(f"dont {without[body]} sans rapport") for body, caption in captions)
    authors = {w for actions in expected.values() for _, w in actions.values() if w}
    assert authors and authors <= {
        r["id_organisation"] for r in responsables
    }  # every author a body of the plan
    # Each body's targets: those of its actions, each with the state of the home page.
    targets = published(site, PLAN_SLUG, "cibles")
    own = {
        body: sorted(t["id_cible"] for t in targets if t["id_action"] in actions)
        for body, actions in expected.items()
    }
    listed = page.eval_on_selector_all(
        "table.cibles-organisme",
        "ts => ts.map(t => [t.dataset.organisme, Array.from(t.querySelectorAll('tbody tr')).map(r => r.dataset.cible)])",
    )
    assert {body: sorted(ids) for body, ids in listed} == {body: ids for body, ids in own.items() if ids}
    home, _ = open_page(browser, site + "index.html", javascript=False)
    state = dict(
        home.eval_on_selector_all(
            "#table-cibles tbody tr", "rows => rows.map(r => [r.dataset.cible, r.dataset.etat])"
        )
    )
    home.context.close()
    states = page.eval_on_selector_all(
        "table.cibles-organisme tbody tr", "rows => rows.map(r => [r.dataset.cible, r.dataset.etat])"
    )
    assert states and all(state[target] == shown_state for target, shown_state in states)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "organismes.png"), full_page=False)
    page.context.close()


def test_filters_narrow_the_table_and_the_page_works_without_javascript(browser, site: str) -> None:  # noqa: ANN001
    actions = published(site, PLAN_SLUG, "actions")
    page, _ = open_page(browser, site + "index.html")
    page.select_option("#filtre-engagement", "E6")
    visible = page.eval_on_selector_all("#table-actions tbody tr:not([hidden])", "rs => rs.length")
    assert visible == sum(1 for a in actions if a["id_engagement"] == "E6")
    page.select_option("#filtre-engagement", "")
    page.select_option("#filtre-statut", "complet")
    complet = page.eval_on_selector_all(
        "#table-actions tbody tr:not([hidden])", "rs => rs.map(r => r.dataset.statut)"
    )
    assert complet and set(complet) == {"complet"}
    page.select_option("#filtre-statut", "")
    page.select_option("#filtre-organisme", "meae")
    rows = page.eval_on_selector_all(
        "#table-actions tbody tr:not([hidden]) th", "hs => hs.map(h => h.textContent)"
    )
    responsables = published(site, PLAN_SLUG, "responsables")
    assert rows == sorted(r["id_action"] for r in responsables if r["id_organisation"] == "meae")
    page.keyboard.press("Tab")  # the controls are reachable from the keyboard
    page.context.close()

    static, _ = open_page(browser, site + "index.html", javascript=False)
    assert static.eval_on_selector_all("#table-actions tbody tr:not([hidden])", "rs => rs.length") == 58
    assert not static.is_visible("#filtres")
    static.context.close()


def test_dataset_page_shows_files_versions_schemas_and_json_ld(browser, site: str) -> None:  # noqa: ANN001
    page, _ = open_page(browser, site + f"datasets/{PLAN_SLUG}/index.html")
    descriptor = requests.get(f"{site}datasets/{PLAN_SLUG}/latest/datapackage.json", timeout=10).json()
    files = page.eval_on_selector_all(
        "#table-fichiers tbody tr", "rs => rs.map(r => Array.from(r.children).map(c => c.textContent.trim()))"
    )
    hashes = {row[0]: row[3] for row in files}
    for resource in descriptor["resources"]:
        assert hashes[resource["path"]] == resource["hash"].removeprefix("sha256:")
    assert page.eval_on_selector_all("table.champs", "ts => ts.length") == 7  # one per table
    ld = json.loads(page.inner_text("script[type='application/ld+json']"))
    assert ld["@type"] == "Dataset" and ld["version"] == "1.0.0"
    assert len(ld["distribution"]) == len(descriptor["resources"])
    assert "MAJEURE" in page.inner_text("main")  # the version rule is written on the page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "jeu-de-donnees.png"), full_page=True)
    page.context.close()


def every_page(site: str) -> list[str]:
    """Every page of the site: the two at the root, one per dataset, one per table schema."""
    catalogue = requests.get(f"{site}catalog.jsonld", timeout=10).json()
    # Identifiers carry the address the site was built for, not this server's port.
    datasets = sorted(
        "datasets/" + node["@id"].rsplit("/datasets/", 1)[1]
        for node in catalogue["@graph"]
        if node.get("@type") == "dcat:Dataset"
    )
    tables = sorted(
        r["name"]
        for d in datasets
        for r in requests.get(f"{site}{d}/latest/datapackage.json", timeout=10).json()["resources"]
        if "schema" in r
    )
    return [
        "index.html",
        "organismes.html",
        *[f"{d}/index.html" for d in datasets],
        *[f"schemas/{t}.html" for t in tables],
    ]


def test_every_page_passes_axe_core_with_no_violation_and_names_the_feed(browser, site: str) -> None:  # noqa: ANN001
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()  # axe-core as the package bundles it: nothing is fetched
    pages = every_page(site)
    assert len(pages) >= 2 + 2 + 9  # at least the nine tables of the two datasets
    found = {}
    for path in pages:
        page, requested = open_page(browser, site + path)
        results = axe.run(page)
        found[path] = [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]]
        assert results.response["passes"]  # the rules did run on the page
        feeds = page.eval_on_selector_all(
            "link[rel=alternate][type='application/atom+xml']", "ls => ls.map(l => l.href)"
        )
        assert f"{site}versions.atom" in feeds, path
        if path.startswith("datasets/"):
            assert site + path.replace("index.html", "versions.atom") in feeds
        assert all(url.startswith(site) for url in requested)
        (SCREENSHOTS / "axe").mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / "axe" / (path.replace("/", "_").removesuffix(".html") + ".png"))
        )
        page.context.close()
    assert found == {path: [] for path in pages}


def test_the_feeds_read_in_feedparser_one_entry_per_version(site: str) -> None:
    entries = 0
    for slug in (PLAN_SLUG, PROGRESS_SLUG):
        answer = requests.get(f"{site}datasets/{slug}/versions.atom", timeout=10)
        assert answer.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        feed = feedparser.parse(answer.content)
        log = requests.get(f"{site}datasets/{slug}/versions.json", timeout=10).json()
        assert not feed.bozo and len(feed.entries) == len(log["versions"]) == 1
        (entry,) = feed.entries
        assert entry.id == f"http://127.0.0.1:8000/datasets/{slug}/1.0.0/"  # built on the default address
        entries += len(feed.entries)
    catalogue = feedparser.parse(requests.get(f"{site}versions.atom", timeout=10).content)
    assert not catalogue.bozo and len(catalogue.entries) == entries == 2


def test_each_table_of_a_dataset_page_shows_its_first_rows_as_the_csv_holds_them(browser, site: str) -> None:  # noqa: ANN001
    for slug in (PLAN_SLUG, PROGRESS_SLUG):
        page, _ = open_page(browser, f"{site}datasets/{slug}/index.html", javascript=False)
        descriptor = requests.get(f"{site}datasets/{slug}/latest/datapackage.json", timeout=10).json()
        for resource in (r for r in descriptor["resources"] if "schema" in r):
            name = resource["name"]
            text = requests.get(f"{site}datasets/{slug}/latest/{resource['path']}", timeout=10).text
            rows = list(csv.reader(io.StringIO(text, newline="")))
            shown = page.eval_on_selector_all(
                f"#table-apercu-{name} tr", "rs => rs.map(r => Array.from(r.cells).map(c => c.textContent))"
            )
            expected = [[c if len(c) <= 200 else c[:200] + "…" for c in row] for row in rows[:21]]
            assert shown == expected, name
            links = page.eval_on_selector_all(
                f"#table-{name} ~ ul.liens-table a", "as => as.map(a => a.getAttribute('href'))"
            )
            assert f"../../schemas/{name}.html" in links and "latest/report.json" in links
            assert "versions.atom" in links
        # The identifier of a site built on the loopback address is not called stable.
        assert "adresse locale, non publique" in page.inner_text("#identifiant")
        page.context.close()
    # The progress dataset's page links the plan it refers to.
    page, _ = open_page(browser, f"{site}datasets/{PROGRESS_SLUG}/index.html", javascript=False)
    assert page.get_attribute("#jeu-lie", "href") == f"../../datasets/{PLAN_SLUG}/index.html"
    page.context.close()


def test_schema_pages_link_back_and_say_examples_and_patterns_as_reusers_read_them(
    browser, site: str
) -> None:  # noqa: ANN001
    page, _ = open_page(browser, f"{site}schemas/organisations.html", javascript=False)
    assert (
        page.get_attribute("#jeu-de-donnees", "href")
        == f"../datasets/{PLAN_SLUG}/index.html#table-organisations"
    )
    rows = page.eval_on_selector_all(
        "table.champs tbody tr", "rs => rs.map(r => Array.from(r.cells).map(c => c.textContent))"
    )
    cells = {row[0]: row for row in rows}
    organisations = published(site, PLAN_SLUG, "organisations")
    text = requests.get(f"{site}datasets/{PLAN_SLUG}/latest/organisations.csv", timeout=10).text
    alias_cells = [row[4] for row in csv.reader(io.StringIO(text, newline=""))][1:]
    assert alias_cells and all(
        json.loads(c) == o["alias"] for c, o in zip(alias_cells, organisations, strict=True)
    )
    example = cells["alias"][4]
    assert json.loads(example) and example.startswith('["')  # JSON as in the CSV, not a Python list
    constraints = cells["id_organisation"][3]
    assert constraints.index("de la forme") < constraints.index("^[a-z][a-z0-9-]*$")
    # Field names are never broken inside a word.
    assert page.eval_on_selector_all(
        "table.champs code.nom", "cs => cs.every(c => getComputedStyle(c).whiteSpace === 'nowrap')"
    )
    heights = page.eval_on_selector_all(
        "table.champs code.nom", "cs => cs.map(c => c.getClientRects().length)"
    )
    assert set(heights) == {1}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "schema-organisations.png"), full_page=True)
    page.context.close()
