"""Publish stage: sending the served version of each dataset to a udata portal (data.gouv.fr).

``plan_portal_update`` is pure: from what is served and what the portal holds, it decides
each action (create or update the dataset, upload, re-upload or leave a file, create or
update a remote resource). ``publish_to_portal`` carries the plan out through
``PortalClient``. Guarantees:

- Idempotent: a file whose sha1 equals the one the portal computed for its copy is not
  uploaded again; metadata equal to the portal's is not sent again. A new version updates
  the same portal dataset and the same resources (matched by title) in place.
- A file type the portal refuses (its list is ``/api/1/datasets/extensions/``; udata's
  default lacks Parquet) becomes a remote resource pointing at the published URL.
- Network faults (timeouts, resets, 429, 5xx) are retried with back-off; what still fails
  stops with a :class:`PortalError` naming the call, never the API key.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import requests

from pipelines.core.errors import PublishError
from publish import versioning as v

API = "/api/1"
RETRY_STATUSES = {429, 500, 502, 503, 504}
# Dataset fields of the payload the portal stores as they are sent (compared before a PUT).
DATASET_FIELDS = ("title", "description", "license", "frequency", "tags", "temporal_coverage",
                  "spatial", "extras")
RESOURCE_FIELDS = ("title", "description", "type", "format", "mime", "schema")


class PortalError(PublishError):
    """The portal refused a call or could not be reached; what was done before stays done."""


@dataclass(frozen=True)
class Action:
    """One step of a portal update for one dataset: ``title`` names the resource, ``detail`` says why."""

    kind: str  # create-dataset, update-dataset, upload, reupload, remote, update-resource, unchanged
    dataset: str
    title: str = ""
    detail: str = ""

    def describe(self) -> str:
        """The action as one line of French for the operator: dataset, what is done, resource, reason."""
        what = {"create-dataset": "création du jeu de données",
                "update-dataset": "mise à jour des métadonnées",
                "upload": "téléversement", "reupload": "remplacement du fichier",
                "remote": "ressource distante", "update-resource": "mise à jour de la ressource",
                "unchanged": "inchangé"}[self.kind]
        return f"{self.dataset} : {what}" + (f" — {self.title}" if self.title else "") + (
            f" ({self.detail})" if self.detail else "")


@dataclass
class PortalClient:
    """The few udata API v1 calls this pipeline needs, with retries and a secret key."""

    base_url: str
    api_key: str = field(repr=False)
    timeout: tuple[float, float] = (5.0, 60.0)
    attempts: int = 4
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Sends one API call with the key; returns the decoded JSON body, or None if the body is empty.

        Connection faults, timeouts, 429 and 5xx are retried with doubling delays; any other HTTP
        error, or a fault that outlasts the attempts, raises ``PortalError`` (never showing the key)."""
        url = self.base_url.rstrip("/") + API + path
        headers = {"X-API-KEY": self.api_key, "User-Agent": "ogp-pipeline/0.1"}
        delay, cause = self.backoff, ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.timeout,
                                                **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                cause = type(exc).__name__
            else:
                if response.status_code not in RETRY_STATUSES:
                    if response.status_code >= 400:
                        raise PortalError(
                            f"Le portail refuse {method} {path} : HTTP {response.status_code} "
                            f"{_message(response)}",
                            hint="Vérifiez la clé d'API (OGP_PORTAL_API_KEY) et les droits de son "
                            "compte sur le jeu de données.",
                        )
                    return response.json() if response.content else None
                cause = f"HTTP {response.status_code}"
            if attempt < self.attempts:
                self.sleep(delay)
                delay *= 2
        raise PortalError(
            f"Le portail n'a pas répondu à {method} {path} après {self.attempts} tentatives ({cause}).",
            hint="Relancez plus tard : ce qui a déjà été envoyé reste en place et ne sera pas renvoyé.",
        )

    def allowed_extensions(self) -> set[str]:
        """Lower-cased file extensions the portal accepts; files of other types become remote resources."""
        return {str(e).lower() for e in self.call("GET", "/datasets/extensions/")}

    def my_datasets(self) -> list[dict[str, Any]]:
        """The datasets of the API key's account, where an already published dataset is looked for."""
        return list(self.call("GET", "/me/datasets/"))


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:300]
    except ValueError:
        return response.text[:300]


def sha1(content: bytes) -> str:
    """Hex sha1 of ``content``, the checksum udata computes for an uploaded file (not a security use)."""
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class LocalFile:
    """A resource of the payload and, if the portal will hold a copy, its bytes."""

    resource: dict[str, Any]
    content: bytes | None

    @property
    def filename(self) -> str:
        """The resource URL's last path segment: the file's name in the version folder and on upload."""
        return PurePosixPath(urlsplit(self.resource["url"]).path).name


def local_files(version_dir: Path, payload: dict[str, Any]) -> list[LocalFile]:
    """The payload's resources as files to send: main resources' bytes read from ``version_dir``.

    Other resources, and main ones whose file is absent, carry no content (remote resources)."""
    files = []
    for resource in payload["resources"]:
        path = version_dir / PurePosixPath(urlsplit(resource["url"]).path).name
        content = path.read_bytes() if resource["type"] == "main" and path.is_file() else None
        files.append(LocalFile(resource, content))
    return files


def _differences(ours: dict[str, Any], theirs: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    """Keys whose value differs, comparing only what we send (a portal adds its own extras,
    and returns a schema with ``name``/``version`` beside its ``url``)."""
    changed = []
    for key in keys:
        if key not in ours:
            continue
        mine, held = ours[key], theirs.get(key)
        if key == "extras":
            held = {k: (held or {}).get(k) for k in mine}
        elif key == "schema":
            mine, held = (mine or {}).get("url"), (held or {}).get("url")
        if mine != held:
            changed.append(key)
    return changed


def plan_portal_update(
    payload: dict[str, Any], files: list[LocalFile], existing: dict[str, Any] | None,
    allowed: set[str], slug: str,
) -> list[Action]:
    """What must change on the portal for it to hold ``payload`` and ``files``."""
    actions: list[Action] = []
    if existing is None:
        actions.append(Action("create-dataset", slug))
    elif changed := _differences(payload, existing, DATASET_FIELDS):
        actions.append(Action("update-dataset", slug, detail=", ".join(changed)))
    held = {r["title"]: r for r in (existing or {}).get("resources", [])}
    for file in files:
        resource, title = file.resource, file.resource["title"]
        extension = PurePosixPath(file.filename).suffix.lstrip(".").lower()
        current = held.get(title)
        if file.content is not None and extension in allowed:
            if current is None:
                actions.append(Action("upload", slug, title))
            elif (current.get("checksum") or {}).get("value") != sha1(file.content):
                actions.append(Action("reupload", slug, title, "contenu modifié"))
            elif _differences(resource, current, RESOURCE_FIELDS):
                actions.append(Action("update-resource", slug, title))
            else:
                actions.append(Action("unchanged", slug, title))
            continue
        detail = f"extension {extension} refusée par le portail" if file.content is not None else ""
        if current is None:
            actions.append(Action("remote", slug, title, detail))
        elif _differences(resource, current, (*RESOURCE_FIELDS, "url", "filesize", "checksum")):
            actions.append(Action("update-resource", slug, title))
        else:
            actions.append(Action("unchanged", slug, title))
    return actions


def _resource_metadata(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: resource[k] for k in RESOURCE_FIELDS if k in resource}


def apply_actions(client: PortalClient, payload: dict[str, Any], files: list[LocalFile],
                  existing: dict[str, Any] | None, actions: list[Action]) -> dict[str, Any]:
    """Carries out a plan; returns the portal's dataset as it ends up."""
    dataset = existing
    by_title = {f.resource["title"]: f for f in files}
    metadata = {k: payload[k] for k in DATASET_FIELDS if k in payload}
    for action in actions:
        if action.kind == "create-dataset":
            dataset = client.call("POST", "/datasets/", json=metadata)
        elif action.kind == "update-dataset":
            assert dataset is not None
            dataset = client.call("PUT", f"/datasets/{dataset['id']}/", json=metadata)
    assert dataset is not None
    held = {r["title"]: r for r in dataset.get("resources", [])}
    for action in actions:
        if action.kind in ("create-dataset", "update-dataset", "unchanged"):
            continue
        file = by_title[action.title]
        resource = file.resource
        if action.kind == "upload":
            uploaded = client.call("POST", f"/datasets/{dataset['id']}/upload/",
                                   files={"file": (file.filename, file.content)})
            client.call("PUT", f"/datasets/{dataset['id']}/resources/{uploaded['id']}/",
                        json=_resource_metadata(resource))
        elif action.kind == "reupload":
            rid = held[action.title]["id"]
            client.call("POST", f"/datasets/{dataset['id']}/resources/{rid}/upload/",
                        files={"file": (file.filename, file.content)})
            client.call("PUT", f"/datasets/{dataset['id']}/resources/{rid}/",
                        json=_resource_metadata(resource))
        elif action.kind == "remote":
            client.call("POST", f"/datasets/{dataset['id']}/resources/", json=resource)
        elif action.kind == "update-resource":
            rid = held[action.title]["id"]
            body = resource if held[action.title].get("filetype") == "remote" else _resource_metadata(resource)
            client.call("PUT", f"/datasets/{dataset['id']}/resources/{rid}/", json=body)
    return dataset


def publish_to_portal(out: Path, slugs: list[str], client: PortalClient, *, dry_run: bool = False
                      ) -> list[Action]:
    """Every served dataset of ``out`` onto the portal (or, dry run, what would be done)."""
    allowed = client.allowed_extensions()
    mine = client.my_datasets()
    done: list[Action] = []
    for slug in slugs:
        dataset_dir = out / "datasets" / slug
        log = v.read_log(dataset_dir)
        if log.served is None:
            continue
        version_dir = dataset_dir / log.served
        payload = _read_json(version_dir / "udata.json")
        identifier = payload["extras"]["ogp:identifiant"]
        existing = next((d for d in mine if (d.get("extras") or {}).get("ogp:identifiant") == identifier), None)
        files = local_files(version_dir, payload)
        actions = plan_portal_update(payload, files, existing, allowed, slug)
        if not dry_run:
            apply_actions(client, payload, files, existing, actions)
        done += actions
    return done


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise PortalError(f"{path.name} manque dans {path.parent} : publiez d'abord avec ogp run.") from exc
