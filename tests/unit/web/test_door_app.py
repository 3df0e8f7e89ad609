"""The door's application through Flask's test client, on a real campaign folder: links,
sessions, CSRF, limits, headers, escaping and the reception of an upload, as the library
gives them. (The server as a process, Chromium and the hostile cases: tests/integration.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pipelines.core.config import Settings
from pipelines.intake.dropoff import DropOff, clean_file_name
from pipelines.state.accesses import AccessKind
from pipelines.web.app import create_app
from tests.conftest import PROGRESS_SLUG

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
GOOD = (
    "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
    "E1-A1-01,2022-06-30,substantiel,60,{comment},https://www.modernisation.gouv.fr/preuve\n"
)


@pytest.fixture
def door(tmp_path: Path) -> tuple[DropOff, Settings]:
    (tmp_path / "boite").mkdir()
    settings = Settings(
        state_dir=tmp_path / "var",
        submissions_inbox=tmp_path / "boite",
        dropoff_failed_limit="3 per minute",
        dropoff_upload_limit="4 per minute",
    ).check()
    return DropOff(settings), settings


@pytest.fixture
def app(door: tuple[DropOff, Settings]) -> Flask:
    return create_app(*door)


def opened(app: Flask, door: DropOff, org: str = "ditp") -> FlaskClient:
    client = app.test_client()
    token = door.accesses.grant(org).token
    response = client.get(f"/acces/{token}")
    assert response.status_code == 303 and response.headers["Location"] == "/organisme/"
    return client


def csrf(client: FlaskClient) -> str:
    return CSRF.search(client.get("/organisme/").get_data(as_text=True)).group(1)


def upload(client: FlaskClient, name: str, content: bytes, token: str | None = None):  # noqa: ANN201
    import io

    return client.post(
        "/organisme/depot",
        data={"csrf_token": token or csrf(client), "fichier": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_every_answer_carries_the_security_headers(app: Flask) -> None:
    for path in ("/", "/sante", "/acces/inconnu", "/organisme/", "/nulle-part"):
        headers = app.test_client().get(path).headers
        assert "script-src" not in headers["Content-Security-Policy"]
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_unknown_expired_and_revoked_links_get_one_page_naming_nobody(
    app: Flask, door: tuple[DropOff, Settings]
) -> None:
    dropoff = door[0]
    revoked = dropoff.accesses.grant("ditp").token
    dropoff.accesses.revoke("ditp")
    client = app.test_client()
    pages = {client.get(f"/acces/{t}").get_data() for t in (revoked, "x" * 43)}
    assert len(pages) == 1
    page = pages.pop().decode()
    assert "Lien invalide ou expiré" in page
    assert "ditp" not in page and "transformation publique" not in page
    assert client.get("/acces/" + "y" * 43).status_code == 403
    # Failed attempts are limited per address: the fourth in a minute is refused.
    assert client.get("/acces/" + "z" * 43).status_code == 429


def test_a_revoked_access_ends_its_open_session(app: Flask, door: tuple[DropOff, Settings]) -> None:
    client = opened(app, door[0])
    assert client.get("/organisme/").status_code == 200
    door[0].accesses.revoke("ditp")
    assert client.get("/organisme/").status_code == 403


def test_an_upload_is_received_attributed_to_the_access_and_answered_at_once(
    app: Flask, door: tuple[DropOff, Settings]
) -> None:
    dropoff, _ = door
    client = opened(app, dropoff)
    response = upload(client, "../../var/rapport.csv", GOOD.format(comment="ok").encode())
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ACCEPTÉ" in page
    (reception,) = dropoff.body_page("ditp").files
    assert reception.reception.file_name == "rapport.csv"
    assert reception.reception.organisation == "ditp"
    access = dropoff.accesses.active_of("ditp")
    assert reception.reception.origin.to_json() == f"guichet:{access.id}"
    again = upload(client, "autre-nom.csv", GOOD.format(comment="ok").encode())
    assert again.headers["Location"].endswith("?deja=1")
    assert "identique" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(dropoff.body_page("ditp").files) == 1


def test_html_in_a_file_name_and_a_cell_stays_text(app: Flask, door: tuple[DropOff, Settings]) -> None:
    client = opened(app, door[0])
    content = GOOD.format(comment="<script>alert(1)</script>").replace("60", "<b>60</b>", 1).encode()
    location = upload(client, "<img src=x onerror=alert(1)>.csv", content).headers["Location"]
    for path in (location, location + "/rapport", "/organisme/"):
        page = client.get(path).get_data(as_text=True)
        assert "<img src=x" not in page and "<script>" not in page and "<b>60</b>" not in page
    assert "&lt;b&gt;60&lt;/b&gt;" in client.get(location).get_data(as_text=True)


def test_errors_are_shown_with_their_row_and_the_templates_column_label(
    app: Flask, door: tuple[DropOff, Settings]
) -> None:
    client = opened(app, door[0])
    wrong = GOOD.format(comment="").replace(",60,", ",160,").encode()
    page = client.get(upload(client, "faux.csv", wrong).headers["Location"]).get_data(as_text=True)
    assert "REJETÉ" in page
    row = re.search(r"<tr><td>Suivi</td><td>2</td><td>([^<]+)</td><td>160</td>", page)
    assert row and row.group(1) == "Avancement (%)"


def test_a_post_without_or_with_another_sessions_csrf_token_is_refused(
    app: Flask, door: tuple[DropOff, Settings]
) -> None:
    dropoff = door[0]
    client, other = opened(app, dropoff), opened(app, dropoff, "dinum")
    foreign = csrf(other)
    for token in ("", foreign):
        response = upload(client, "r.csv", GOOD.format(comment="x").encode(), token=token or "-")
        assert response.status_code == 400
        assert "Demande refusée" in response.get_data(as_text=True)
    assert dropoff.body_page("ditp").files == []


def test_uploads_are_limited_per_access_and_a_file_over_the_limit_is_refused(
    app: Flask, door: tuple[DropOff, Settings]
) -> None:
    dropoff = door[0]
    client = opened(app, dropoff)
    big = upload(client, "gros.csv", b"a" * (dropoff.max_bytes + 10))
    assert big.status_code == 413 and "Fichier trop volumineux" in big.get_data(as_text=True)
    codes = [upload(client, f"r{i}.csv", GOOD.format(comment=i).encode()).status_code for i in range(4)]
    assert codes == [303, 303, 303, 429]
    assert "Trop de demandes" in upload(client, "r.csv", b"x").get_data(as_text=True)
    assert len(dropoff.body_page("ditp").files) == 3


def test_the_template_downloaded_is_the_bodys_own(app: Flask, door: tuple[DropOff, Settings]) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    client = opened(app, door[0], "meae")
    response = client.get("/organisme/modele.xlsx")
    book = load_workbook(BytesIO(response.data))
    assert "Cibles" in book.sheetnames
    assert [c.value for c in book["_modele"][1]][:2] == ["ogp-modele-suivi", "meae"]
    assert client.get("/organisme/modele.exe").status_code == 404


def test_a_steward_link_opens_the_console_and_each_session_only_its_own_pages(
    app: Flask, door: tuple[DropOff, Settings]
) -> None:
    token = door[0].accesses.grant(None, kind=AccessKind.STEWARD).token
    steward = app.test_client()
    response = steward.get(f"/acces/{token}")
    assert response.status_code == 303 and response.headers["Location"] == "/pilotage/"
    assert steward.get("/pilotage/").status_code == 200
    assert steward.get("/organisme/").status_code == 403  # a steward deposits nothing
    body = opened(app, door[0], "ditp")
    for path in ("/pilotage/", "/pilotage/relances", "/pilotage/reception/1/rapport"):
        assert body.get(path).status_code == 403, path  # a body sees no other body
    # A receipt's report link lands on that reception's report; nothing else is followed.
    link = door[0].accesses.grant("ditp").token
    landed = app.test_client().get(f"/acces/{link}?suite=reception-7")
    assert landed.headers["Location"] == "/organisme/reception/7/rapport"
    other = app.test_client().get(f"/acces/{link}?suite=https://ailleurs.exemple/")
    assert other.headers["Location"] == "/organisme/"


def test_the_consoles_forms_need_their_csrf_field(app: Flask, door: tuple[DropOff, Settings]) -> None:
    token = door[0].accesses.grant(None, kind=AccessKind.STEWARD).token
    steward = app.test_client()
    steward.get(f"/acces/{token}")
    assert steward.post("/pilotage/relances").status_code == 400
    assert steward.post("/pilotage/reception/1/retrait", data={"motif": "x"}).status_code == 400


def test_the_bodies_guide_is_served_from_the_docs_without_raw_html(app: Flask) -> None:
    page = app.test_client().get("/guide").get_data(as_text=True)
    assert "<h1>Rendre compte de l&#39;avancement de vos actions</h1>" in page or "<h1>Rendre compte" in page
    assert "<script" not in page


def test_file_names_are_cleaned() -> None:
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("C:\\a\\b\\rapport final.xlsx") == "rapport final.xlsx"
    assert clean_file_name("\x00\x1b[31m.csv") == "[31m.csv"
    assert clean_file_name("") == "depot"
    long = clean_file_name("a" * 500 + ".xlsx")
    assert len(long) == 120 and long.endswith(".xlsx")


def test_the_door_refuses_a_sample_campaign(tmp_path: Path) -> None:
    from pipelines.core.errors import ConfigError

    with pytest.raises(ConfigError):
        DropOff(Settings(state_dir=tmp_path / "var"))


def test_the_door_uses_the_dataset_of_the_campaign(door: tuple[DropOff, Settings]) -> None:
    assert door[0].resolved.config.slug == PROGRESS_SLUG
    assert door[0].resolved.recorded
