"""The bodies' door as a process on loopback (``ogp dropoff serve``, waitress), driven by
Debian's Chromium (Playwright, JavaScript off then on) and by plain HTTP clients: a body
uploads its filled template and reads the verdict, ``ogp run`` publishes exactly its rows
with the door as origin; every page passes axe-core; and the hostile cases: wrong,
expired and revoked links, CSRF, a 1 GiB body, a zip bomb, HTML everywhere, 50 uploads at
once, and the server killed with SIGKILL in the middle of an upload."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import socket
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook

from pipelines.state.accesses import AccessStore
from pipelines.state.layout import ArchiveLayout
from tests.conftest import PROGRESS_SLUG, ROOT
from tests.integration.door import Body, Campaign, DoorProcess, fill_template

pytestmark = pytest.mark.slow

SCREENSHOTS = ROOT / "test-output" / "screenshots"
AXE_RESULTS = ROOT / "test-output" / "axe-guichet.json"
PROOF = "https://www.modernisation.gouv.fr/preuve"
# Limits raised for the tests that send many requests from the one loopback address.
BUSY = {"OGP_DROPOFF_ADDRESS_LIMIT": "100000 per minute", "OGP_DROPOFF_UPLOAD_LIMIT": "1000 per minute"}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is missing: run `make browser` (Debian's chromium, as .ci/run does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    return Campaign(tmp_path_factory.mktemp("guichet"))


@pytest.fixture(scope="module")
def door(campaign: Campaign) -> Iterator[DoorProcess]:
    server = DoorProcess(campaign, **BUSY)
    yield server
    server.stop()


def actions_of(template: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(template))["Suivi"]
    return [sheet.cell(r, 1).value for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value][:20]


def reports_for(actions: list[str], count: int, seed: int = 0) -> list:
    """``count`` reports over the body's actions, one date each (a template-sized file)."""
    return [
        (
            actions[i % len(actions)],
            dt.date(2022, 1, 3) + dt.timedelta(days=30 * (i // len(actions)) + seed % 20),
            "Avancement substantiel",
            40 + i // len(actions),
            f"Réunion d'étape {seed}",
            PROOF,
        )
        for i in range(count)
    ]


def archive_files(campaign: Campaign) -> set[Path]:
    return {p for p in campaign.archive.rglob("*") if p.is_file() and p.name != ".lock"}


# --- a body, in Chromium ------------------------------------------------------------------


def test_a_body_uploads_its_filled_template_in_chromium_and_ogp_run_publishes_its_rows(
    browser, campaign: Campaign, door: DoorProcess, tmp_path: Path
) -> None:  # noqa: ANN001
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    token = campaign.grant("ditp", "--expires", "2099-12-31")
    accepted: dict[str, list] = {}
    for javascript in (False, True):
        context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda r, seen=requested: seen.append(r.url))
        page.goto(f"{door.url}acces/{token}")
        assert page.url == f"{door.url}organisme/"  # the token left the address bar
        assert page.locator("h1").inner_text() == (
            "Guichet de dépôt : Direction interministérielle de la transformation publique"
        )
        with page.expect_download() as download:
            page.get_by_role("link", name="Télécharger le modèle au format Excel (.xlsx, recommandé)").click()
        template = Path(download.value.path()).read_bytes()
        actions = actions_of(template)
        suffix = "js" if javascript else "sans-js"
        # First a file with two mistakes: each shown with its row and column.
        wrong = reports_for(actions, 6, seed=1 + javascript)
        wrong[1] = (*wrong[1][:3], 140, *wrong[1][4:])
        wrong[4] = (wrong[4][0], dt.date(2031, 1, 1), *wrong[4][2:])
        path = tmp_path / f"rapport-faux-{suffix}.xlsx"
        path.write_bytes(fill_template(template, wrong))
        page.set_input_files("#fichier", str(path))
        page.get_by_role("button", name="Déposer le fichier").click()
        page.wait_for_load_state()
        assert page.locator(".verdict").inner_text().startswith("REJETÉ")
        cells = page.eval_on_selector_all(
            "#erreurs ~ table tbody tr",
            "rows => rows.map(r => [...r.querySelectorAll('td')].slice(0, 4).map(c => c.innerText))",
        )
        assert ["Suivi", "3", "Avancement (%)", "140"] in cells
        assert any(c[:3] == ["Suivi", "6", "Date du rapport"] for c in cells)
        page.screenshot(path=str(SCREENSHOTS / f"guichet-rejete-{suffix}.png"), full_page=True)
        # Then the corrected file, 60 rows: accepted.
        reports = reports_for(actions, 60, seed=3 + javascript)
        path = tmp_path / f"rapport-{suffix}.xlsx"
        path.write_bytes(fill_template(template, reports))
        page.goto(f"{door.url}organisme/")
        page.set_input_files("#fichier", str(path))
        page.get_by_role("button", name="Déposer le fichier").click()  # its time: make bench-full
        page.wait_for_load_state()
        assert page.locator(".verdict").inner_text().startswith("ACCEPTÉ : 60 lignes de suivi")
        page.screenshot(path=str(SCREENSHOTS / f"guichet-accepte-{suffix}.png"), full_page=True)
        accepted[hashlib.sha256(path.read_bytes()).hexdigest()] = reports
        page.goto(f"{door.url}organisme/")
        if not javascript:
            page.screenshot(path=str(SCREENSHOTS / "guichet-organisme.png"), full_page=True)
        assert all(url.startswith(door.url) for url in requested), requested
        context.close()

    journal = campaign.journal()
    access = AccessStore(ArchiveLayout(campaign.archive)).active_of("ditp")
    mine = [e for e in journal if e.get("organisme") == "ditp"]
    assert {e["origine"] for e in mine} == {f"guichet:{access.id}"}
    assert [e["verdict"] for e in mine] == ["rejete", "accepte", "rejete", "accepte"]
    assert {e["sha256"] for e in mine if e["verdict"] == "accepte"} == set(accepted)

    result = campaign.ogp("run", "--out", str(campaign.out), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    suivi = json.loads((campaign.out / "datasets" / PROGRESS_SLUG / "latest" / "suivi.json").read_text())
    by_key = {(r["id_action"], r["date_rapport"]): r for r in suivi if r["id_organisation"] == "ditp"}
    expected = {}
    for sha, reports in accepted.items():  # in upload order: the later file wins a key
        for action, date, _, pct, comment, _ in reports:
            expected[(action, date.isoformat())] = (sha, pct, comment)
    assert {
        k: (r["id_soumission"], r["avancement_pct"], r["commentaire"]) for k, r in by_key.items()
    } == expected
    status = json.loads(campaign.ogp("status", PROGRESS_SLUG, "--json").stdout)
    ditp = next(b for b in status["organismes"] if b["id_organisation"] == "ditp")
    assert {f["porte"] for f in ditp["fichiers"]} == {"guichet en ligne"}
    assert "guichet en ligne" in (campaign.archive / "etat-collecte.html").read_text(encoding="utf-8")
    assert access.id in door.output() and token not in door.output()


def test_every_page_of_the_door_passes_axe_core(browser, campaign: Campaign, door: DoorProcess) -> None:  # noqa: ANN001
    from axe_playwright_python.sync_playwright import Axe

    token = campaign.grant("dinum")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    body = Body(door.url, token)
    done = body.upload("suivi.csv", b"id_action,date_rapport,statut\nE9-A9-99,2022-01-01,complet\n")
    rejected = done.url
    template = body.template()
    accepted = body.upload("suivi.xlsx", fill_template(template, reports_for(actions_of(template), 4, 7))).url
    page.context.add_cookies(
        [{"name": "ogp_guichet", "value": body.session.cookies["ogp_guichet"], "url": door.url}]
    )
    pages = {
        "accueil": door.url,
        "lien invalide": f"{door.url}acces/{'x' * 43}",
        "page introuvable": f"{door.url}organisme/reception/999999",
        "page de l'organisme": f"{door.url}organisme/",
        "verdict (rejeté)": rejected,
        "verdict (accepté)": accepted,
        "rapport": rejected + "/rapport",
    }
    results = {}
    for name, url in pages.items():
        page.goto(url)
        found = Axe().run(page)
        results[name] = {"url": url, "violations": found.violations_count}
        assert found.violations_count == 0, (name, found.generate_report())
    # The form's own error, without a file (the browser's check set aside).
    page.goto(f"{door.url}organisme/")
    page.eval_on_selector("#fichier", "e => e.removeAttribute('required')")
    page.get_by_role("button", name="Déposer le fichier").click()
    page.wait_for_load_state()
    assert page.locator(".erreur").inner_text() == "Choisissez le fichier à déposer."
    found = Axe().run(page)
    results["formulaire sans fichier"] = {"url": page.url, "violations": found.violations_count}
    assert found.violations_count == 0, found.generate_report()
    AXE_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    AXE_RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    context.close()


def test_html_in_a_file_name_a_sheet_name_and_a_cell_stays_text_in_chromium(
    browser, campaign: Campaign, door: DoorProcess, tmp_path: Path
) -> None:  # noqa: ANN001
    token = campaign.grant("dinum")
    body = Body(door.url, token)
    book = load_workbook(io.BytesIO(body.template()))
    book["Suivi"].title = "<img src=x onerror=alert(4)>"
    sheet = book["<img src=x onerror=alert(4)>"]
    sheet.cell(2, 3, dt.date(2022, 5, 2))
    sheet.cell(2, 4, "<img src=x onerror=alert(1)>")
    sheet.cell(2, 6, "<script>alert(2)</script>")
    buffer = io.BytesIO()
    book.save(buffer)
    name = '<img src=x onerror=alert(3)>".xlsx'
    answer = body.upload(name, buffer.getvalue())
    assert answer.status_code == 200
    context = browser.new_context()
    context.add_cookies(
        [{"name": "ogp_guichet", "value": body.session.cookies["ogp_guichet"], "url": door.url}]
    )
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for url in (answer.url, answer.url + "/rapport", f"{door.url}organisme/"):
        page.goto(url)
        assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
        assert "<img src=x onerror=alert(" in page.locator("main").inner_text()
    assert dialogs == []
    context.close()


# --- hostile ------------------------------------------------------------------------------


def test_wrong_expired_and_revoked_links_get_one_page_naming_no_body(
    campaign: Campaign, door: DoorProcess
) -> None:
    revoked = campaign.grant("meae")
    campaign.ogp("dropoff", "revoke", "meae")
    store = AccessStore(ArchiveLayout(campaign.archive), today=lambda: dt.date(2020, 1, 1))
    expired = store.grant("dila", expires="2020-01-02").token  # its last day is past
    answers = [requests.get(f"{door.url}acces/{t}", timeout=10) for t in (revoked, expired, "A" * 43, "x")]
    assert {a.status_code for a in answers} == {403}
    assert len({a.content for a in answers}) == 1
    text = answers[0].text
    assert "Lien invalide ou expiré" in text and answers[0].headers["Content-Type"].startswith("text/html")
    for body in ("meae", "dila", "Europe", "Direction de l'information légale"):
        assert body not in text
    listed = campaign.ogp("dropoff", "list").stdout
    assert "révoqué" in listed and "expiré" in listed and revoked not in listed


def test_a_post_without_a_csrf_token_or_with_another_sessions_is_refused(
    campaign: Campaign, door: DoorProcess
) -> None:
    first, second = Body(door.url, campaign.grant("ditp")), Body(door.url, campaign.grant("dinum"))
    before = len(campaign.journal())
    content = b"id_action,date_rapport,statut\nE1-A1-01,2022-01-01,limite\n"
    for token in ("", second.csrf()):
        answer = first.upload("r.csv", content, csrf=token)
        assert answer.status_code == 400 and "Demande refusée" in answer.text
    no_session = requests.post(
        door.url + "organisme/depot", files={"fichier": ("r.csv", content)}, timeout=10
    )
    assert no_session.status_code in (400, 403)
    assert len(campaign.journal()) == before


def _raw_upload(url: str, declared: int | None, send: int, chunk: int = 1 << 20) -> tuple[bytes, int]:
    """A multipart POST written on a socket: ``declared`` as Content-Length (``None``:
    chunked), ``send`` bytes of body at most; returns the answer's first bytes and how
    much was sent before the server closed."""
    host, port = url.split("//")[1].strip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        head = f"POST /organisme/depot HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        head += (
            f"Content-Length: {declared}\r\n" if declared is not None else "Transfer-Encoding: chunked\r\n"
        )
        connection.sendall((head + "\r\n").encode())
        sent = 0
        block = b"0" * chunk
        try:
            while sent < send:
                if declared is None:
                    connection.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                else:
                    connection.sendall(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        connection.settimeout(30)
        try:
            answer = connection.recv(65536)
        except ConnectionResetError:
            answer = b""
        return answer, sent


def test_a_1_gib_upload_is_refused_before_it_is_read_and_memory_stays_flat(
    campaign: Campaign, door: DoorProcess
) -> None:
    files = archive_files(campaign)
    before = door.rss_kib()
    answer, sent = _raw_upload(door.url, 1 << 30, 1 << 30)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"Fichier trop volumineux" in answer and b"Content-Security-Policy" in answer
    assert sent < 1 << 30  # the server closed the connection long before
    chunked, sent_chunked = _raw_upload(door.url, None, 1 << 30)
    assert chunked.startswith(b"HTTP/1.1 413"), chunked[:200]
    assert sent_chunked < 1 << 30
    after = door.rss_kib()
    print(
        f"RSS du guichet : {before} Kio avant, {after} Kio après 2 envois de 1 Gio ({sent}, {sent_chunked} octets envoyés)"
    )
    assert after - before < 50 * 1024
    assert archive_files(campaign) == files
    assert requests.get(door.url + "sante", timeout=10).status_code == 200


def test_a_zip_bomb_is_refused_as_ogp_run_refuses_it(campaign: Campaign, door: DoorProcess) -> None:
    body = Body(door.url, campaign.grant("dinum"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("[Content_Types].xml", "<Types/>")
        bomb.writestr("xl/workbook.xml", "<workbook/>")
        bomb.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 * 2**20))
    assert len(buffer.getvalue()) < 2**20
    before = door.rss_kib()
    answer = body.upload("bombe.xlsx", buffer.getvalue())
    assert answer.status_code == 200 and "REJETÉ" in answer.text
    reception = campaign.journal()[-1]
    report = json.loads((campaign.archive / reception["rapport"] / "rapport.json").read_text())
    assert [e["code"] for e in report["erreurs"]] == ["xlsx-trop-volumineux"]
    assert door.rss_kib() - before < 100 * 1024


def test_50_uploads_at_once_from_5_bodies_are_each_received_exactly_once(
    campaign: Campaign, door: DoorProcess
) -> None:
    bodies = ["ditp", "dinum", "meae", "cour-des-comptes", "hatvp"]
    clients = {org: Body(door.url, campaign.grant(org)) for org in bodies}
    templates = {org: clients[org].template() for org in bodies}
    files = [
        (
            org,
            f"lot-{org}-{i}.xlsx",
            fill_template(templates[org], reports_for(actions_of(templates[org]), 12, 100 + i)),
        )
        for org in bodies
        for i in range(10)
    ]
    before = Counter(e.get("organisme") for e in campaign.journal() if "verdict" in e)

    def send(item: tuple[str, str, bytes]) -> tuple[str, int, float]:
        org, name, content = item
        client = Body(door.url, campaign_tokens[org])
        started = time.perf_counter()
        answer = client.upload(name, content)
        return answer.url, answer.status_code, time.perf_counter() - started

    campaign_tokens = {org: campaign.grant(org) for org in bodies}
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(send, files))
    assert [code for _, code, _ in answers] == [200] * 50
    journal = [e for e in campaign.journal() if "verdict" in e]
    shas = {hashlib.sha256(content).hexdigest() for _, _, content in files}
    received = Counter(e["sha256"] for e in journal if e["sha256"] in shas)
    assert received == Counter({sha: 1 for sha in shas})
    assert all(e["verdict"] == "accepte" for e in journal if e["sha256"] in shas)
    after = Counter(e.get("organisme") for e in journal)
    assert {org: after[org] - before[org] for org in bodies} == dict.fromkeys(bodies, 10)
    status = json.loads(campaign.ogp("status", PROGRESS_SLUG, "--json").stdout)
    counts = {
        b["id_organisation"]: len(b["fichiers"])
        for b in status["organismes"]
        if b["id_organisation"] in bodies
    }
    assert counts == {org: after[org] for org in bodies}
    longest = max(s for _, _, s in answers)
    print(
        f"50 dépôts simultanés : {len(received)} reçus une fois chacun ; par organisme {counts} ; le plus long {longest:.1f} s"
    )


# --- killed -------------------------------------------------------------------------------


def _archive_is_whole(campaign: Campaign) -> None:
    """Every archived original is whole (its bytes hash to its folder's name) and every
    journal line reads; temporary files are what the next start removes."""
    for original in campaign.archive.glob("soumissions/*/original.*"):
        assert hashlib.sha256(original.read_bytes()).hexdigest() == original.parent.name
    for line in (campaign.archive / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line)


def _never_touched(campaign: Campaign) -> None:
    """Sets every access's last use in the future: the server then never rewrites the
    accesses file, so the failpoints a run reaches are its upload's only, in a fixed order."""
    path = campaign.archive / "acces.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    for access in document["acces"]:
        access["dernier_usage"] = "2999-01-01T00:00:00Z"
    path.write_text(json.dumps(document), encoding="utf-8")


def test_the_server_killed_during_an_upload_leaves_no_partial_file_and_serves_again(
    tmp_path: Path,
) -> None:
    campaign = Campaign(tmp_path)
    token = campaign.grant("ditp")
    _never_touched(campaign)
    learn = tmp_path / "points.log"
    server = DoorProcess(campaign, OGP_FAILPOINT_LOG=str(learn))
    body = Body(server.url, token)
    template = body.template()
    actions = actions_of(template)
    assert "ACCEPTÉ" in body.upload("premier.xlsx", fill_template(template, reports_for(actions, 10, 1))).text
    points = [line.split(" ", 1)[1] for line in learn.read_text().splitlines()]
    assert len(points) >= 10 and not any("acces.json" in p for p in points), points
    # Killed while a body is still being sent: nothing of it is received.
    host, port = server.url.split("//")[1].strip("/").split(":")
    files = archive_files(campaign)
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            b"POST /organisme/depot HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            + f"Content-Length: {4 * 2**20}\r\n\r\n".encode()
            + b"0" * 2**20
        )
        server.kill()
    assert archive_files(campaign) == files
    # Then killed at each point where an upload writes: a new file each time.
    sent = {}
    for k in range(1, len(points) + 1):
        content = fill_template(template, reports_for(actions, 10, 10 + k))
        sent[hashlib.sha256(content).hexdigest()] = content
        server = DoorProcess(campaign, OGP_FAILPOINT_KILL=str(k))
        try:
            Body(server.url, token).upload(f"tue-{k}.xlsx", content)
        except requests.ConnectionError:
            pass
        assert server.process.wait(timeout=120) == -9, points[k - 1]
        _archive_is_whole(campaign)
    # The next start removes what killed writes left, serves normally, and each file sent
    # during a kill is received exactly once when sent again.
    server = DoorProcess(campaign, **BUSY)
    assert not list(campaign.archive.rglob(".*.tmp-*"))
    body = Body(server.url, token)
    for k, content in enumerate(sent.values(), start=1):
        answer = body.upload(f"tue-{k}.xlsx", content)
        assert answer.status_code == 200 and "ACCEPTÉ" in answer.text
    server.stop()
    receptions = Counter(e["sha256"] for e in campaign.journal() if "verdict" in e)
    assert all(receptions[sha] == 1 for sha in sent)
    assert files <= archive_files(campaign)
    _archive_is_whole(campaign)
