"""``ogp publish --portal`` against a udata-like server on loopback: create, idempotent
republish, update in place, Parquet as a remote resource, retries, dry run, secret key."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from publish.portal import PortalClient, PortalError, publish_to_portal
from tests.conftest import PLAN_SLUG, ROOT
from tests.integration import fake_udata
from tests.integration.publish_once import publish_plan

KEY = "cle-secrete-0123456789abcdef"


@pytest.fixture
def portal() -> Iterator[fake_udata.Portal]:
    server, state = fake_udata.start(KEY)
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    publish_plan(ROOT / "datasets", out)
    return out


def client(portal: fake_udata.Portal) -> PortalClient:
    return PortalClient(portal.base, KEY, backoff=0.01, sleep=lambda s: None)


def test_first_publish_creates_then_republish_uploads_nothing(site: Path, portal: fake_udata.Portal) -> None:
    actions = publish_to_portal(site, [PLAN_SLUG], client(portal))
    assert [a.kind for a in actions].count("create-dataset") == 1
    assert {a.kind for a in actions if a.title.endswith(".parquet")} == {"remote"}
    assert {a.kind for a in actions if a.title.endswith((".csv", ".json"))} == {"upload"}
    (dataset,) = portal.datasets.values()
    assert dataset["license"] == "lov2" and dataset["frequency"] == "punctual"
    latest = site / "datasets" / PLAN_SLUG / "latest"
    by_title = {r["title"]: r for r in dataset["resources"]}
    assert len(by_title) == 22  # 7 tables × 3 formats + the changelog
    csv = by_title["actions.csv"]
    assert csv["checksum"]["value"] == hashlib.sha1((latest / "actions.csv").read_bytes()).hexdigest()
    assert csv["schema"]["url"].endswith("/schemas/actions.json") and csv["description"]
    parquet = by_title["actions.parquet"]
    assert parquet["filetype"] == "remote" and parquet["url"].endswith("/latest/actions.parquet")
    assert parquet["checksum"]["value"] == hashlib.sha256((latest / "actions.parquet").read_bytes()).hexdigest()
    uploads = len(portal.uploads())
    assert uploads == 14  # CSV and JSON of the 7 tables (Parquet is a remote resource)

    again = publish_to_portal(site, [PLAN_SLUG], client(portal))
    assert {a.kind for a in again} == {"unchanged"}
    assert len(portal.uploads()) == uploads
    assert all(method == "GET" for method, _ in portal.calls[-2:])


def test_a_new_version_updates_the_same_dataset_and_resources_in_place(
    site: Path, portal: fake_udata.Portal, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    shutil.copytree(site, out, symlinks=True)
    publish_to_portal(out, [PLAN_SLUG], client(portal))
    ids = {r["title"]: r["id"] for d in portal.datasets.values() for r in d["resources"]}
    datasets = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", datasets)
    reference = datasets / PLAN_SLUG / "reference" / "organisations.yaml"
    text = reference.read_text(encoding="utf-8")
    reference.write_text(text.replace("type: ministere", "type: administration_centrale", 1), encoding="utf-8")
    assert publish_plan(datasets, out).version == "1.0.1"
    actions = publish_to_portal(out, [PLAN_SLUG], client(portal))
    changed = {a.title for a in actions if a.kind in ("reupload", "update-resource")}
    assert {"organisations.csv", "organisations.json", "organisations.parquet"} <= changed
    assert "actions.csv" not in changed
    assert len(portal.datasets) == 1
    after = {r["title"]: r["id"] for d in portal.datasets.values() for r in d["resources"]}
    assert after == ids  # same resources, updated in place
    (dataset,) = portal.datasets.values()
    assert dataset["extras"]["ogp:version"] == "1.0.1"


def test_5xx_is_retried_and_a_refusal_is_a_clear_error(site: Path, portal: fake_udata.Portal) -> None:
    portal.faults[("POST", "/api/1/datasets/")] = [503, 502]
    publish_to_portal(site, [PLAN_SLUG], client(portal))
    assert len(portal.datasets) == 1
    with pytest.raises(PortalError) as caught:
        publish_to_portal(site, [PLAN_SLUG], PortalClient(portal.base, "mauvaise-cle", sleep=lambda s: None))
    assert "401" in caught.value.message and "mauvaise-cle" not in str(caught.value)


def test_dry_run_sends_nothing_and_the_key_is_never_shown(
    site: Path, portal: fake_udata.Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OGP_PORTAL_API_KEY", KEY)
    result = CliRunner().invoke(app, ["publish", "--portal", portal.base, "--out", str(site), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "create-dataset" in result.output and "remote" in result.output
    assert portal.datasets == {} and all(m == "GET" for m, _ in portal.calls)
    result = CliRunner().invoke(app, ["publish", "--portal", portal.base, "--out", str(site)])
    assert result.exit_code == 0 and len(portal.datasets) == 1
    assert KEY not in result.output
    assert all(h.get("X-API-KEY") in (KEY, None) for h in portal.headers_seen)
    for path in site.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_without_a_key_it_says_what_to_do(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OGP_PORTAL_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["publish", "--portal", "http://127.0.0.1:9", "--out", str(site)])
    assert result.exit_code == 2 and "OGP_PORTAL_API_KEY" in result.output


def test_udata_payload_earns_the_full_quality_score(site: Path) -> None:
    from publish.metadata.udata import quality_score

    payload = json.loads((site / "datasets" / PLAN_SLUG / "latest" / "udata.json").read_text(encoding="utf-8"))
    score, criteria = quality_score(payload)
    assert score == 1.0, criteria
    assert criteria == {"license": True, "temporal_coverage": True, "spatial": True,
                        "update_frequency": True, "update_fulfilled_in_time": True,
                        "dataset_description_quality": True, "has_resources": True,
                        "has_open_format": True, "all_resources_available": True,
                        "resources_documentation": True}
