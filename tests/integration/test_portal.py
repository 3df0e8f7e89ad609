"""``ogp publish --portal`` against udata 17.18's own application on loopback (production URL
rules, mongomock, seeded like data.gouv.fr): create under the organisation, private sample data,
no write on an unchanged republish, foreign extras kept, update in place, deleted datasets and
refused keys said in French, local URLs refused before any request, idempotent retried creates,
udata's error bodies read, chunked upload, withdrawal of a half-made dataset."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from publish.portal import LocalFile, PortalClient, PortalError, publish_to_portal
from tests.conftest import PLAN_SLUG, PROGRESS_SLUG, ROOT
from tests.integration.publish_once import publish_plan
from tests.integration.udata_portal import UdataPortal, start_udata

pytestmark = pytest.mark.slow

OGP = Path(sys.executable).parent / "ogp"
BASE_URL = "https://ogp.example.org/"
SLUGS = [PLAN_SLUG, PROGRESS_SLUG]
ENV = {
    **os.environ,
    "SOURCE_DATE_EPOCH": "1700000000",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "OGP_TASK_RETRIES": "0",
}


@pytest.fixture(scope="module")
def udata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UdataPortal]:
    portal = start_udata(tmp_path_factory.mktemp("udata"))
    yield portal
    portal.stop()


@pytest.fixture
def portal(udata: UdataPortal) -> UdataPortal:
    """The module's udata with no dataset, as seeded."""
    udata.reset()
    return udata


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both datasets built by ``ogp run`` with a public base URL (the progress one from samples)."""
    out = tmp_path_factory.mktemp("site") / "site"
    result = subprocess.run(
        [str(OGP), "run", "--out", str(out), "--state-dir", str(out.parent / "var")],
        capture_output=True,
        text=True,
        env={**ENV, "OGP_BASE_URL": BASE_URL},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return out


def ogp_publish(
    portal: UdataPortal, site: Path, *args: str, key: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OGP), "publish", "--portal", portal.base, "--out", str(site), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **ENV,
            "OGP_PORTAL_API_KEY": key or portal.key,
            "OGP_PORTAL_ORGANISATION": portal.organization,
            **env,
        },
    )


def client(portal: UdataPortal, **options: object) -> PortalClient:
    """A client with short back-offs; its sleeps are real, so a wait udata needs (a retried upload
    waits for the next second) happens as it would on a portal."""
    return PortalClient(portal.base, portal.key, backoff=0.01, sleep=time.sleep, **options)  # type: ignore[arg-type]


def by_identifier(portal: UdataPortal) -> dict[str, dict]:
    return {d["extras"]["ogp:identifiant"]: d for d in portal.datasets() if not d["deleted"]}


def test_first_publish_creates_both_under_the_organisation_and_a_republish_writes_nothing(
    site: Path, portal: UdataPortal
) -> None:
    mark = portal.mark()
    result = ogp_publish(portal, site)
    assert result.returncode == 0, result.stderr
    first = portal.writes(mark)
    assert first and all(status in (200, 201) for _, _, status in first)
    assert sum(1 for method, path, _ in first if (method, path) == ("POST", "/api/1/datasets/")) == 2
    datasets = by_identifier(portal)
    plan, progress = (
        datasets[f"{BASE_URL}datasets/{PLAN_SLUG}"],
        datasets[f"{BASE_URL}datasets/{PROGRESS_SLUG}"],
    )
    for dataset in (plan, progress):
        assert dataset["organization"]["id"] == portal.organization and dataset["owner"] is None
        assert dataset["license"] == "lov2"
        assert dataset["spatial"] == {"geom": None, "zones": ["country:fr"], "granularity": "country"}
    assert plan["private"] is False and progress["private"] is True  # sample submissions
    assert progress["title"].startswith("[Données d'exemple]")
    # 5 tables in 3 formats, the workbook, the changelog
    assert len(plan["resources"]) == 22 and len(progress["resources"]) == 17
    for slug, dataset in ((PLAN_SLUG, plan), (PROGRESS_SLUG, progress)):
        latest = site / "datasets" / slug / "latest"
        for resource in dataset["resources"]:
            if resource["type"] != "main":
                continue
            content = (latest / resource["title"]).read_bytes()
            algorithm = {"file": "sha1", "remote": "sha256"}[resource["filetype"]]
            assert resource["checksum"] == {
                "type": algorithm,
                "value": hashlib.new(algorithm, content).hexdigest(),
            }
            if resource["title"].endswith(".xlsx"):  # the workbook holds several tables: no schema
                assert not (resource.get("schema") or {}).get("url"), resource
            else:
                assert resource["schema"]["url"].startswith(f"{BASE_URL}schemas/")
            assert resource["description"]
    assert {r["filetype"] for r in plan["resources"] if r["title"].endswith(".parquet")} == {"remote"}

    mark = portal.mark()
    again = ogp_publish(portal, site)
    assert again.returncode == 0, again.stderr
    assert portal.writes(mark) == []
    assert "update" not in again.stdout and "create" not in again.stdout


def test_a_foreign_extra_survives_a_republish_and_a_new_version_updating_in_place(
    site: Path, portal: UdataPortal, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    shutil.copytree(site, out, symlinks=True)
    publish_to_portal(out, SLUGS, client(portal), organisations={PLAN_SLUG: portal.organization})
    plan = by_identifier(portal)[f"{BASE_URL}datasets/{PLAN_SLUG}"]
    # The portal team adds an extra through the API, the way its admin does: the whole dataset sent back.
    body = {
        k: plan[k]
        for k in (
            "title",
            "description",
            "license",
            "frequency",
            "tags",
            "temporal_coverage",
            "spatial",
            "private",
        )
    }
    portal.api(
        "PUT",
        f"/datasets/{plan['id']}/",
        json={**body, "extras": {**plan["extras"], "equipe:note": "à garder"}},
    )
    ids = {r["title"]: r["id"] for r in portal.api("GET", f"/datasets/{plan['id']}/")["resources"]}

    mark = portal.mark()
    actions = publish_to_portal(out, SLUGS, client(portal), organisations={PLAN_SLUG: portal.organization})
    assert {a.kind for a in actions} == {"unchanged"} and portal.writes(mark) == []

    datasets = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", datasets)
    reference = datasets / PLAN_SLUG / "reference" / "organisations.yaml"
    text = reference.read_text(encoding="utf-8")
    reference.write_text(
        text.replace("type: ministere", "type: administration_centrale", 1), encoding="utf-8"
    )
    assert publish_plan(datasets, out, base_url=BASE_URL).version == "1.0.1"
    actions = publish_to_portal(out, SLUGS, client(portal), organisations={PLAN_SLUG: portal.organization})
    changed = {a.title for a in actions if a.kind in ("reupload", "update-resource")}
    assert {"organisations.csv", "organisations.json", "organisations.parquet"} <= changed
    assert "actions.csv" not in changed
    assert [a.detail for a in actions if a.kind == "update-dataset"] == ["extras"]
    after = portal.api("GET", f"/datasets/{plan['id']}/")
    assert after["extras"] == {**plan["extras"], "equipe:note": "à garder", "ogp:version": "1.0.1"}
    assert {r["title"]: r["id"] for r in after["resources"]} == ids  # same resources, updated in place
    csv = next(r for r in after["resources"] if r["title"] == "organisations.csv")
    latest = out / "datasets" / PLAN_SLUG / "latest" / "organisations.csv"
    assert csv["checksum"]["value"] == hashlib.sha1(latest.read_bytes()).hexdigest()
    assert len(by_identifier(portal)) == 2


def test_a_dataset_published_on_the_personal_account_is_moved_to_the_organisation_not_duplicated(
    site: Path, portal: UdataPortal
) -> None:
    publish_to_portal(site, SLUGS, client(portal))
    assert {d["owner"]["id"] if d["owner"] else None for d in by_identifier(portal).values()} != {None}
    assert all(d["organization"] is None for d in by_identifier(portal).values())
    actions = publish_to_portal(
        site, SLUGS, client(portal), organisations=dict.fromkeys(SLUGS, portal.organization)
    )
    assert [a.detail for a in actions if a.kind == "update-dataset"] == ["organization"] * 2
    moved = by_identifier(portal)
    assert len(portal.datasets()) == 2
    assert {d["organization"]["id"] for d in moved.values()} == {portal.organization}


def test_the_organisation_may_come_from_dataset_yaml(
    site: Path, portal: UdataPortal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", datasets)
    definition = datasets / PLAN_SLUG / "dataset.yaml"
    definition.write_text(
        definition.read_text(encoding="utf-8") + f"portal_organisation: {portal.organization}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OGP_PORTAL_API_KEY", portal.key)
    monkeypatch.delenv("OGP_PORTAL_ORGANISATION", raising=False)
    result = CliRunner().invoke(
        app, ["publish", "--portal", portal.base, "--out", str(site), "--datasets-dir", str(datasets)]
    )
    assert result.exit_code == 0, result.output
    datasets_found = by_identifier(portal)
    assert datasets_found[f"{BASE_URL}datasets/{PLAN_SLUG}"]["organization"]["id"] == portal.organization
    assert datasets_found[f"{BASE_URL}datasets/{PROGRESS_SLUG}"]["organization"] is None


def test_a_deleted_dataset_is_skipped_with_a_message_and_never_recreated(
    site: Path, portal: UdataPortal
) -> None:
    assert ogp_publish(portal, site).returncode == 0
    plan = by_identifier(portal)[f"{BASE_URL}datasets/{PLAN_SLUG}"]
    portal.api("DELETE", f"/datasets/{plan['id']}/")
    mark = portal.mark()
    result = ogp_publish(portal, site)
    assert result.returncode == 2
    assert "supprimé sur le portail" in result.stderr.lower() and PLAN_SLUG in result.stderr
    assert "Traceback" not in result.stderr
    assert portal.writes(mark) == []
    assert all(r["status"] != 410 for r in portal.requests(mark))
    assert (
        len(
            [
                d
                for d in portal.datasets()
                if d["extras"].get("ogp:identifiant") == f"{BASE_URL}datasets/{PLAN_SLUG}"
            ]
        )
        == 1
    )


def test_a_wrong_key_or_organisation_is_said_before_any_write(site: Path, portal: UdataPortal) -> None:
    mark = portal.mark()
    wrong = "udata_pas-la-bonne-cle-0123456789"
    result = ogp_publish(portal, site, key=wrong)
    assert result.returncode == 2
    assert "refuse la clé d'API (HTTP 401 : Invalid API token)" in result.stderr
    assert "OGP_PORTAL_API_KEY" in result.stderr
    assert wrong not in result.stdout + result.stderr and portal.key not in result.stdout + result.stderr
    # The other seeded user is no member of the organisation.
    result = ogp_publish(portal, site, key=portal.other_key)
    assert result.returncode == 2 and "organisation" in result.stderr
    with pytest.raises(PortalError) as caught:
        publish_to_portal(site, SLUGS, client(portal), organisations={PLAN_SLUG: "pas-mon-organisation"})
    assert caught.value.code == "organisation-inconnue"
    assert portal.writes(mark) == []


def test_a_local_base_url_is_refused_before_any_request(portal: UdataPortal, tmp_path: Path) -> None:
    local = tmp_path / "site"
    publish_plan(ROOT / "datasets", local)  # the default OGP_BASE_URL, http://127.0.0.1:8000/
    mark = portal.mark()
    result = ogp_publish(portal, local)
    assert result.returncode == 2
    assert (
        "OGP_BASE_URL" in result.stderr and "ogp run" in result.stderr and "adresse locale" in result.stderr
    )
    assert portal.requests(mark) == []
    with pytest.raises(PortalError) as caught:
        publish_to_portal(local, SLUGS, client(portal))
    assert caught.value.code == "url-locale"


def test_sample_data_is_never_made_public(site: Path, portal: UdataPortal) -> None:
    mark = portal.mark()
    result = ogp_publish(portal, site, "--public")
    assert (
        result.returncode == 2
        and "Données d'exemple" in result.stderr
        and "demo.data.gouv.fr" in result.stderr
    )
    assert portal.requests(mark) == []
    publish_to_portal(site, SLUGS, client(portal), private=True)
    assert {d["private"] for d in by_identifier(portal).values()} == {True}


def test_a_create_or_upload_processed_before_a_timeout_is_not_made_twice(
    site: Path, portal: UdataPortal
) -> None:
    portal.fault("POST", path="/api/1/datasets/", status=504, after=True)
    portal.fault("POST", path="/api/1/datasets/", reset=True, after=True)  # the second create: a reset
    portal.fault("POST", suffix="/upload/", status=504, after=True)
    portal.fault("POST", suffix="/resources/", status=502, after=True)
    portal.fault("PUT", suffix="/", status=503, after=False)  # the first PUT, not processed
    publish_to_portal(site, SLUGS, client(portal))
    faults = [r for r in portal.requests() if r.get("fault")]
    assert len(faults) == 5
    datasets = by_identifier(portal)
    assert len(portal.datasets()) == 2
    assert len(datasets[f"{BASE_URL}datasets/{PLAN_SLUG}"]["resources"]) == 22
    assert len(datasets[f"{BASE_URL}datasets/{PROGRESS_SLUG}"]["resources"]) == 17
    assert {a.kind for a in publish_to_portal(site, SLUGS, client(portal))} == {"unchanged"}


def test_a_file_uploaded_again_within_the_same_second_is_retried_in_the_next(
    site: Path, portal: UdataPortal, tmp_path: Path
) -> None:
    # udata stores an upload as <slug>/<YYYYMMDD-HHMMSS>/<name> and never overwrites: the same
    # file name uploaded to one dataset twice in one second answers 500 (FileExists).
    publish_to_portal(site, [PLAN_SLUG], client(portal), organisations={PLAN_SLUG: portal.organization})
    dataset = by_identifier(portal)[f"{BASE_URL}datasets/{PLAN_SLUG}"]
    resource = next(r for r in dataset["resources"] if r["title"] == "organisations.csv")
    files = []
    for number in (1, 2):
        path = tmp_path / str(number) / "organisations.csv"
        path.parent.mkdir()
        path.write_text(f"id_organisation\nversion-{number}\n", encoding="utf-8")
        files.append(LocalFile({"url": f"{BASE_URL}datasets/{PLAN_SLUG}/latest/organisations.csv"}, path))
    time.sleep(1 - time.time() % 1)  # at the start of a second: both uploads begin within it
    mark = portal.mark()
    first = client(portal).upload(dataset["id"], files[0], resource["id"])
    held = client(portal).upload(dataset["id"], files[1], resource["id"])
    assert first["checksum"]["value"] == files[0].sha1 and held["checksum"]["value"] == files[1].sha1
    assert [status for _, _, status in portal.writes(mark)] == [200, 500, 200]
    now = portal.api("GET", f"/datasets/{dataset['id']}/")
    assert (
        next(r for r in now["resources"] if r["id"] == resource["id"])["checksum"]["value"] == files[1].sha1
    )


def test_udata_error_bodies_are_read(portal: UdataPortal) -> None:
    c = client(portal)
    with pytest.raises(PortalError) as caught:  # {"errors": {...}, "message": "Validation error"}
        c.call("POST", "/datasets/", json={"title": "", "description": "x"})
    assert caught.value.status == 400 and caught.value.reason.startswith("title : ")
    dataset = c.call("POST", "/datasets/", json={"title": "Essai", "description": "Essai", "private": True})
    with pytest.raises(PortalError) as caught:  # local URL refused by udata's own rules
        c.call(
            "POST",
            f"/datasets/{dataset['id']}/resources/",
            json={"title": "a", "url": "http://127.0.0.1:8000/a.csv", "filetype": "remote", "type": "main"},
        )
    assert "URL locale" in caught.value.reason
    with pytest.raises(PortalError) as caught:  # {"success": false, "error": ...}
        c.call(
            "POST",
            f"/datasets/{dataset['id']}/upload/",
            files={"file": ("a.csv", b"a,b\n")},
            data={
                "uuid": "0f0e0d0c-0b0a-4908-8706-050403020100",
                "filename": "a.csv",
                "partindex": 0,
                "totalparts": 2,
                "chunksize": 99,
            },
        )
    assert caught.value.reason == "Chunk size mismatch"
    with pytest.raises(PortalError) as caught:  # {"message": ...} from api.abort
        c.call("POST", f"/datasets/{dataset['id']}/upload/", files={"file": ("a.exe", b"MZ")})
    assert "This file type is not allowed" in caught.value.reason


def test_files_over_the_request_limit_go_in_parts_and_a_failed_publish_is_withdrawn(
    site: Path, tmp_path: Path
) -> None:
    small = start_udata(tmp_path / "udata", "--max-request-bytes", "30000")
    try:
        mark = small.mark()
        whole = ogp_publish(small, site, OGP_PORTAL_CHUNK_SIZE="100000000")
        assert whole.returncode == 2 and "HTTP 413" in whole.stderr
        assert "retiré du portail" in whole.stderr and "OGP_PORTAL_CHUNK_SIZE" in whole.stderr
        assert not by_identifier(small) and small.writes(mark)
        assert all(not d["extras"] for d in small.datasets())  # withdrawn: no identifier left to find

        # A part stored by udata before a 504: udata refuses it again (FileExists), so the file is resent whole.
        assert (
            site / "datasets" / PLAN_SLUG / "latest" / "engagements.csv"
        ).stat().st_size > 4000  # first upload: in parts
        small.fault("POST", suffix="/upload/", status=504, after=True)
        result = ogp_publish(small, site, OGP_PORTAL_CHUNK_SIZE="4000")
        assert result.returncode == 0, result.stderr
        assert [r for r in small.requests() if r.get("fault")]
        plan = by_identifier(small)[f"{BASE_URL}datasets/{PLAN_SLUG}"]
        actions_json = next(r for r in plan["resources"] if r["title"] == "actions.json")
        content = (site / "datasets" / PLAN_SLUG / "latest" / "actions.json").read_bytes()
        assert len(content) > 2 * 4000
        assert len(by_identifier(small)) == 2
        assert actions_json["checksum"]["value"] == hashlib.sha1(content).hexdigest()
        assert actions_json["filesize"] == len(content) and actions_json["filetype"] == "file"
        mark = small.mark()
        assert ogp_publish(small, site, OGP_PORTAL_CHUNK_SIZE="4000").returncode == 0
        assert small.writes(mark) == []
    finally:
        small.stop()


def test_dry_run_sends_nothing_and_the_key_is_never_shown(
    site: Path, portal: UdataPortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OGP_PORTAL_API_KEY", portal.key)
    monkeypatch.setenv("OGP_PORTAL_ORGANISATION", portal.organization)
    mark = portal.mark()
    result = CliRunner().invoke(app, ["publish", "--portal", portal.base, "--out", str(site), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "create-dataset" in result.output and "remote" in result.output
    assert portal.writes(mark) == [] and portal.datasets() == []
    result = CliRunner().invoke(app, ["publish", "--portal", portal.base, "--out", str(site)])
    assert result.exit_code == 0 and len(by_identifier(portal)) == 2
    assert portal.key not in result.output
    for path in site.rglob("*"):
        if path.is_file():
            assert portal.key.encode() not in path.read_bytes(), path


def test_without_a_key_it_says_what_to_do(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OGP_PORTAL_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["publish", "--portal", "http://127.0.0.1:9", "--out", str(site)])
    assert result.exit_code == 2 and "OGP_PORTAL_API_KEY" in result.output


def test_udata_payload_earns_the_full_quality_score(site: Path) -> None:
    from publish.metadata.udata import quality_score

    payload = json.loads(
        (site / "datasets" / PLAN_SLUG / "latest" / "udata.json").read_text(encoding="utf-8")
    )
    score, criteria = quality_score(payload)
    assert score == 1.0, criteria
    assert criteria == {
        "license": True,
        "temporal_coverage": True,
        "spatial": True,
        "update_frequency": True,
        "update_fulfilled_in_time": True,
        "dataset_description_quality": True,
        "has_resources": True,
        "has_open_format": True,
        "all_resources_available": True,
        "resources_documentation": True,
    }
