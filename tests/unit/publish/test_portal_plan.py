"""The pure part of ``ogp publish``: URL rules, the plan against a dataset in udata 17.18's shape,
extras merged, datasets found, udata's error bodies read."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from publish.portal import (
    LocalFile,
    _dataset_metadata,
    find_dataset,
    plan_portal_update,
    refused_urls,
    udata_reason,
    url_problem,
)

BASE = "https://ogp.example.org/datasets/plan/"
PAYLOAD: dict[str, Any] = {
    "title": "Plan",
    "description": "Un plan.",
    "acronym": None,
    "license": "lov2",
    "frequency": "punctual",
    "tags": ["ogp", "gouvernement-ouvert"],
    "temporal_coverage": {"start": "2021-01-01", "end": "2023-12-31"},
    "spatial": {"zones": ["country:fr"], "granularity": "country"},
    "private": False,
    "organization": "org1",
    "extras": {"ogp:identifiant": "https://ogp.example.org/datasets/plan", "ogp:version": "1.0.0"},
    "resources": [
        {
            "title": "actions.csv",
            "description": "Les actions.",
            "type": "main",
            "filetype": "remote",
            "url": f"{BASE}latest/actions.csv",
            "format": "csv",
            "mime": "text/csv",
            "filesize": 4,
            "checksum": {"type": "sha256", "value": "ab"},
            "schema": {"url": "https://ogp.example.org/schemas/actions.json"},
        },
        {
            "title": "actions.parquet",
            "description": "Les actions.",
            "type": "main",
            "filetype": "remote",
            "url": f"{BASE}latest/actions.parquet",
            "format": "parquet",
            "mime": "application/vnd.apache.parquet",
            "filesize": 4,
            "checksum": {"type": "sha256", "value": "cd"},
            "schema": {"url": "https://ogp.example.org/schemas/actions.json"},
        },
    ],
}


def as_udata_returns_it(payload: dict[str, Any], csv_sha1: str) -> dict[str, Any]:
    """The dataset as udata 17.18's ``GET /datasets/{id}/`` gives it back after a publish."""
    hosted, remote = payload["resources"]
    return {
        **{k: copy.deepcopy(v) for k, v in payload.items() if k not in ("resources", "organization")},
        "id": "d1",
        "deleted": None,
        "slug": "plan",
        "owner": None,
        "organization": {"id": "org1", "name": "DITP", "slug": "ditp"},
        "tags": sorted(payload["tags"]),
        "spatial": {"geom": None, "zones": ["country:fr"], "granularity": "country"},
        "extras": {**payload["extras"], "equipe:note": "à garder"},
        "resources": [
            {
                **hosted,
                "id": "r1",
                "filetype": "file",
                "url": "https://static.example.org/r/actions.csv",
                "mime": "text/plain",
                "checksum": {"type": "sha1", "value": csv_sha1},
                "schema": {"url": hosted["schema"]["url"], "name": None, "version": None},
                "extras": {},
            },
            {
                **remote,
                "id": "r2",
                "schema": {**remote["schema"], "name": None, "version": None},
                "extras": {},
            },
        ],
    }


@pytest.fixture
def files(tmp_path: Path) -> list[LocalFile]:
    (tmp_path / "actions.csv").write_bytes(b"a,b\n")
    (tmp_path / "actions.parquet").write_bytes(b"PAR1")
    return [
        LocalFile(PAYLOAD["resources"][0], tmp_path / "actions.csv"),
        LocalFile(PAYLOAD["resources"][1], tmp_path / "actions.parquet"),
    ]


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1:8000/datasets/x/", "adresse locale"),
        ("http://localhost/x", "adresse locale"),
        ("http://[::1]:8000/", "adresse locale"),
        ("http://10.1.2.3/x", "adresse privée"),
        ("http://192.168.1.10/x", "adresse privée"),
        ("http://169.254.0.1/x", "adresse privée"),
        ("http://monserveur:8000/x", "nom d'hôte sans domaine public"),
        ("http://serveur.local/x", "nom d'hôte d'un réseau privé"),
        ("file:///srv/site/x", "schéma « file » refusé"),
        ("http://[abc/x", "URL mal formée"),
        ("https://ogp.example.org/datasets/x/", None),
        ("https://www.data.gouv.fr/fr/datasets/x/", None),
        ("http://203.0.113.9/x", "adresse privée"),  # documentation range: reserved
        ("http://51.15.1.2/x", None),
    ],
)
def test_udata_url_rules(url: str, refused: str | None) -> None:
    assert url_problem(url) == refused


def test_every_url_of_a_payload_is_checked_at_any_depth() -> None:
    local = json.loads(json.dumps(PAYLOAD).replace("https://ogp.example.org/", "http://127.0.0.1:8000/"))
    found = refused_urls(local)
    assert len(found) == 5 and {why for _, why in found} == {
        "adresse locale"
    }  # 2 URLs, 2 schemas, the identifier
    assert refused_urls(PAYLOAD) == []


def test_a_dataset_as_udata_returns_it_is_unchanged(files: list[LocalFile]) -> None:
    existing = as_udata_returns_it(PAYLOAD, files[0].sha1)
    actions = plan_portal_update(PAYLOAD, files, existing, {"csv", "json"}, "plan")
    assert [(a.kind, a.title) for a in actions] == [
        ("unchanged", "actions.csv"),
        ("unchanged", "actions.parquet"),
    ]


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda d: d["spatial"].update(geom={"type": "MultiPolygon", "coordinates": []}), "spatial"),
        (lambda d: d.update(tags=["ogp"]), "tags"),
        (lambda d: d["extras"].update({"ogp:version": "0.9.0"}), "extras"),
        (lambda d: d.update(private=True), "private"),
        (lambda d: d.update(organization=None, owner={"id": "u1"}), "organization"),  # on a personal account
        (lambda d: d.update(temporal_coverage=None), "temporal_coverage"),
    ],
)
def test_what_differs_in_udata_s_shape_is_updated(files: list[LocalFile], change: Any, detail: str) -> None:
    existing = as_udata_returns_it(PAYLOAD, files[0].sha1)
    change(existing)
    (action, *_) = plan_portal_update(PAYLOAD, files, existing, {"csv"}, "plan")
    assert (action.kind, action.detail) == ("update-dataset", detail)


def test_a_changed_file_is_uploaded_again_and_udata_s_own_mime_is_left_alone(files: list[LocalFile]) -> None:
    existing = as_udata_returns_it(PAYLOAD, "0" * 40)
    actions = plan_portal_update(PAYLOAD, files, existing, {"csv"}, "plan")
    assert actions[0].kind == "reupload"
    existing = as_udata_returns_it(PAYLOAD, files[0].sha1)
    existing["resources"][0]["description"] = "Autre."
    assert plan_portal_update(PAYLOAD, files, existing, {"csv"}, "plan")[0].detail == "description"


def test_the_portal_s_extras_are_kept_under_ours(files: list[LocalFile]) -> None:
    existing = as_udata_returns_it(PAYLOAD, files[0].sha1)
    new = {**PAYLOAD, "extras": {**PAYLOAD["extras"], "ogp:version": "1.0.1"}}
    assert _dataset_metadata(new, existing)["extras"] == {
        "ogp:identifiant": "https://ogp.example.org/datasets/plan",
        "ogp:version": "1.0.1",
        "equipe:note": "à garder",
    }
    assert _dataset_metadata(new, None)["extras"] == new["extras"]


def test_a_deleted_dataset_is_reported_and_a_live_one_preferred(files: list[LocalFile]) -> None:
    live = as_udata_returns_it(PAYLOAD, files[0].sha1)
    deleted = {**live, "id": "d0", "deleted": "2026-11-30T10:00:00+00:00"}
    identifier = PAYLOAD["extras"]["ogp:identifiant"]
    assert find_dataset([deleted, live], identifier) is live
    assert find_dataset([deleted], identifier) is deleted
    assert find_dataset([], identifier) is None
    (action,) = plan_portal_update(PAYLOAD, files, deleted, {"csv"}, "plan")
    assert action.kind == "deleted" and not action.writes and "2026-11-30" in action.detail


def response(status: int, body: bytes, content_type: str = "application/json") -> requests.Response:
    answer = requests.Response()
    answer.status_code, answer._content = status, body
    answer.headers["Content-Type"] = content_type
    return answer


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'{"errors": {"url": ["URL invalide \\"http://127.0.0.1/x\\" : est une URL locale"]}}',
            'url : URL invalide "http://127.0.0.1/x" : est une URL locale',
        ),
        (
            b'{"errors": {"title": ["Ce champ est requis."]}, "message": "Validation error"}',
            "title : Ce champ est requis.",
        ),
        (
            b'{"errors": {"spatial": {"zones": ["Unknown geoid(s): country:xx"]}}}',
            "spatial.zones : Unknown geoid(s): country:xx",
        ),
        (b'{"success": false, "error": "Chunk size mismatch"}', "Chunk size mismatch"),
        (b'{"message": "Invalid API token"}', "Invalid API token"),
        (b"<html><h1>504 Gateway Time-out</h1></html>", "Fault"),
    ],
)
def test_udata_s_error_bodies_are_read(body: bytes, reason: str) -> None:
    answer = response(400, body)
    answer.reason = "Fault"
    assert udata_reason(answer) == reason
