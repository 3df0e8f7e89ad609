"""Publish stage: sending the served version of each dataset to a udata portal (data.gouv.fr).

``plan_portal_update`` is pure: from what is served and what the portal holds (in the shape
udata 17.18 returns it), it decides each action (create or update the dataset, upload,
re-upload or leave a file, create or update a remote resource). ``publish_to_portal``
checks everything it can before the first write, then carries the plan out through
``PortalClient``. Guarantees:

- Nothing is sent while a URL of a payload is local or private (udata refuses them), the key
  is refused, the organisation is not one of the key owner's, the licence is unknown to the
  portal, or sample data would be made public: those are found before the first write.
- Idempotent: metadata equal to the portal's, compared in the shape udata returns it (its
  ``spatial`` with ``geom``, its own extras beside ours), is not sent again; a file whose sha1
  equals the one the portal computed is not uploaded again. An unchanged republish sends no
  write request. A new version updates the same dataset and resources (matched by title).
- The portal's extras are kept: udata replaces ``extras`` whole on a PUT, so ours are merged
  into the ones it holds.
- Datasets are found among the key owner's and their organisations' (``/me/org_datasets/``)
  by the ``ogp:identifiant`` extra; created under the configured organisation. A deleted one
  is skipped and reported, never updated (udata answers 410) nor duplicated.
- Sample data is always ``private``; asking for it to be public is refused.
- A create that met a network fault is retried only after looking the portal up again, so a
  request processed before a timeout or a 504 does not make a duplicate. A dataset created
  by a run that then fails is withdrawn (its identifier removed, then deleted).
- Files above ``PortalClient.chunk_size`` go through udata's chunked upload; a part is never
  sent twice under one upload id (udata refuses a part it stored): after a fault the file is
  sent again under a new one.
- Errors are :class:`PortalError` with a stable ``code``, the HTTP status and udata's own
  reason (``message``, ``error`` or the field ``errors``); never the API key.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import requests

from pipelines.core.errors import PublishError
from publish import versioning as v

API = "/api/1"
RETRY_STATUSES = {429, 500, 502, 503, 504}
# udata stores an upload as <dataset slug>/<YYYYMMDD-HHMMSS>/<file name> and never overwrites
# (core/dataset/api.py, UploadMixin): the same file uploaded to the same dataset twice in one
# second answers 500 (FileExists). A retried upload waits for the next second at least.
UPLOAD_RETRY_DELAY = 1.0
# Dataset fields of the payload compared with the portal's and sent on a create or update.
DATASET_FIELDS = (
    "title",
    "description",
    "acronym",
    "license",
    "frequency",
    "tags",
    "temporal_coverage",
    "spatial",
    "extras",
    "private",
    "organization",
)
RESOURCE_FIELDS = ("title", "description", "type", "format", "mime", "schema")
# What udata computes for a file it hosts and keeps whatever a PUT says (HOSTED_RESOURCE_PROTECTED_FIELDS).
HOSTED_FIELDS = ("title", "description", "type", "schema")
# Files above this go in parts (udata's chunked upload): below what a portal's front server
# takes in one request, the size data.gouv.fr's own upload form sends.
CHUNK_SIZE = 2_000_000
READ_BLOCK = 1 << 20
URL_SCHEMES = ("http", "https", "ftp", "ftps")
PRIVATE_SUFFIXES = (".local", ".localdomain", ".internal", ".lan", ".home.arpa", ".intranet")

HINTS = {
    "cle-refusee": "Vérifiez OGP_PORTAL_API_KEY : une clé d'API du compte sur ce portail (profil → « Clé d'API »). "
    "Une clé de demo.data.gouv.fr ne vaut pas sur www.data.gouv.fr.",
    "droits-insuffisants": "Le compte de la clé doit être administrateur ou éditeur de l'organisation du jeu de données.",
    "jeu-supprime": "Restaurez le jeu de données sur le portail (administration), ou retirez son extra "
    "ogp:identifiant pour qu'un nouveau soit créé.",
    "fichier-trop-gros": "Abaissez la taille des parties du téléversement (OGP_PORTAL_CHUNK_SIZE).",
    "refus-portail": "Corrigez ce que le portail signale, puis relancez ogp publish : ce qui a déjà été envoyé "
    "reste en place et ne sera pas renvoyé.",
    "introuvable": "Vérifiez l'adresse du portail (--portal) et l'identifiant de l'organisation.",
}


class PortalError(PublishError):
    """The portal refused a call, could not be reached, or a check before the first write failed.

    ``code`` is stable (``cle-refusee``, ``url-locale``, ``organisation-inconnue``,
    ``jeu-supprime``, ``donnees-exemple-publiques``, ``licence-inconnue``, ``refus-portail``,
    ``portail-injoignable``...); ``status`` is the HTTP status when there was one, ``reason``
    what udata said. What was done before stays done, unless the message says it was withdrawn."""

    def __init__(
        self, message: str, *, code: str, status: int | None = None, reason: str = "", hint: str = ""
    ) -> None:
        super().__init__(message, hint=hint or HINTS.get(code, ""), code=code, status=status)
        self.code = code
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Action:
    """One step of a portal update for one dataset: ``title`` names the resource, ``detail`` says why."""

    kind: str  # create-dataset, update-dataset, upload, reupload, remote, update-resource, unchanged, deleted
    dataset: str
    title: str = ""
    detail: str = ""

    @property
    def writes(self) -> bool:
        """Whether carrying the action out sends anything to the portal."""
        return self.kind not in ("unchanged", "deleted")

    def describe(self) -> str:
        """The action as one line of French for the operator: dataset, what is done, resource, reason."""
        what = {
            "create-dataset": "création du jeu de données",
            "update-dataset": "mise à jour des métadonnées",
            "upload": "téléversement",
            "reupload": "remplacement du fichier",
            "remote": "ressource distante",
            "update-resource": "mise à jour de la ressource",
            "unchanged": "inchangé",
            "deleted": "supprimé sur le portail : rien n'est envoyé",
        }[self.kind]
        return (
            f"{self.dataset} : {what}"
            + (f" — {self.title}" if self.title else "")
            + (f" ({self.detail})" if self.detail else "")
        )


def udata_reason(response: requests.Response) -> str:
    """What udata says in an error body, as one line: ``errors`` per field (form validation),
    ``error`` (uploads: ``{"success": false, "error": ...}``), ``message`` (``api.abort``)."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return (text[:300] if text and not text.startswith("<") else "") or (response.reason or "")
    if not isinstance(body, dict):
        return str(body)[:300]
    parts: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{name} : {message}" for name, message in _flatten(errors)]
    elif isinstance(errors, list):
        parts += [str(e) for e in errors]
    for key in ("error", "message"):
        if body.get(key) and not (key == "message" and parts and body[key] == "Validation error"):
            parts.append(str(body[key]))
    return " ; ".join(parts)[:600]


def _flatten(errors: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(errors, list):
        for value in errors:
            yield from _flatten(value, prefix)
    else:
        yield prefix, str(errors)


def _refusal(method: str, path: str, response: requests.Response) -> PortalError:
    status = response.status_code
    code = {
        401: "cle-refusee",
        403: "droits-insuffisants",
        404: "introuvable",
        410: "jeu-supprime",
        413: "fichier-trop-gros",
    }.get(status, "refus-portail")
    reason = udata_reason(response)
    return PortalError(
        f"Le portail refuse {method} {path} (HTTP {status})" + (f" : {reason}" if reason else "."),
        code=code,
        status=status,
        reason=reason,
    )


@dataclass
class PortalClient:
    """The few udata API v1 calls this pipeline needs, with retries and a secret key."""

    base_url: str
    api_key: str = field(repr=False)
    timeout: tuple[float, float] = (5.0, 60.0)
    attempts: int = 4
    backoff: float = 1.0
    chunk_size: int = CHUNK_SIZE
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def call(
        self,
        method: str,
        path: str,
        *,
        lookup: Callable[[], Any] | None = None,
        attempts: int | None = None,
        min_delay: float = 0.0,
        **kwargs: Any,
    ) -> Any:
        """Sends one API call with the key; returns the decoded JSON body, or None if the body is empty.

        Connection faults, timeouts, 429 and 5xx are retried with doubling delays; before each retry,
        ``lookup`` (given for a POST that creates something) looks for what the lost attempt may have
        created, and its answer, if not None, is returned instead of sending again. Any other HTTP
        error, or a fault that outlasts the attempts (``attempts``, default the client's), raises
        ``PortalError`` (never showing the key). ``min_delay``: the shortest wait before a retry."""
        url = self.base_url.rstrip("/") + API + path
        headers = {"X-API-KEY": self.api_key, "User-Agent": "ogp-pipeline/0.1", "Accept": "application/json"}
        delay, cause = self.backoff, ""
        attempts = attempts or self.attempts
        for attempt in range(1, attempts + 1):
            if attempt > 1 and lookup is not None and (found := lookup()) is not None:
                return found
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                cause = type(exc).__name__
            else:
                if response.status_code not in RETRY_STATUSES:
                    if response.status_code >= 400:
                        raise _refusal(method, path, response)
                    return response.json() if response.content else None
                cause = f"HTTP {response.status_code}"
            if attempt < attempts:
                self.sleep(max(delay, min_delay))
                delay *= 2
        raise PortalError(
            f"Le portail n'a pas répondu à {method} {path} après {attempts} tentative(s) ({cause}).",
            code="portail-injoignable",
            hint="Relancez plus tard : ce qui a déjà été envoyé reste en place et ne sera pas renvoyé.",
        )

    def me(self) -> dict[str, Any]:
        """The key owner's account with their organisations; a refused key raises ``cle-refusee``."""
        try:
            return dict(self.call("GET", "/me/"))
        except PortalError as exc:
            if exc.code != "cle-refusee":
                raise
            raise PortalError(
                f"Le portail {self.base_url} refuse la clé d'API (HTTP {exc.status} : "
                f"{exc.reason or 'sans raison donnée'}) ; rien n'a été envoyé.",
                code=exc.code,
                status=exc.status,
                reason=exc.reason,
            ) from None

    def allowed_extensions(self) -> set[str]:
        """Lower-cased file extensions the portal accepts; files of other types become remote resources."""
        return {str(e).lower() for e in self.call("GET", "/datasets/extensions/")}

    def licences(self) -> set[str]:
        """Identifiers of the portal's licences."""
        return {str(licence["id"]) for licence in self.call("GET", "/datasets/licenses/")}

    def candidate_datasets(self) -> list[dict[str, Any]]:
        """The datasets of the key owner and of their organisations, deleted ones included."""
        return list(self.call("GET", "/me/org_datasets/"))

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        """The portal's dataset as it is now."""
        return dict(self.call("GET", f"/datasets/{dataset_id}/"))

    def upload(self, dataset_id: str, file: LocalFile, rid: str | None = None) -> dict[str, Any]:
        """Uploads ``file`` as a new resource (``rid`` None) or as the file of resource ``rid``;
        returns the resource as the portal holds it. Above ``chunk_size`` the file goes in parts,
        read one at a time, then a last request assembles them (udata's chunked upload); a fault on
        a part sends the file again under a new upload id. A retried single or last request first
        looks for a resource already holding this file (same title and sha1)."""
        assert file.path is not None
        path = (
            f"/datasets/{dataset_id}/upload/"
            if rid is None
            else f"/datasets/{dataset_id}/resources/{rid}/upload/"
        )
        filename, size = file.filename, file.path.stat().st_size

        def already_there() -> dict[str, Any] | None:
            for resource in self.dataset(dataset_id).get("resources", []):
                if (resource["id"] == rid or (rid is None and resource["title"] == filename)) and (
                    resource.get("checksum") or {}
                ).get("value") == file.sha1:
                    return dict(resource)
            return None

        if size <= self.chunk_size:
            return dict(
                self.call(
                    "POST",
                    path,
                    files={"file": (filename, file.path.read_bytes())},
                    lookup=already_there,
                    min_delay=UPLOAD_RETRY_DELAY,
                )
            )
        parts = math.ceil(size / self.chunk_size)
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            upload_id = str(uuid.uuid4())
            try:
                self._send_parts(path, file, upload_id, parts)
                break
            except PortalError as exc:
                # udata refuses a part it already stored (FileExists, a 500 at every retry): after a
                # fault, the whole file is sent again under a new upload id, never a part twice.
                if exc.code != "portail-injoignable" or attempt == self.attempts:
                    raise
                self.sleep(delay)
                delay *= 2
        return dict(
            self.call(
                "POST",
                path,
                data={"uuid": upload_id, "filename": filename, "totalparts": parts},
                lookup=already_there,
                min_delay=UPLOAD_RETRY_DELAY,
            )
        )

    def _send_parts(self, path: str, file: LocalFile, upload_id: str, parts: int) -> None:
        """Sends each part of ``file`` once under ``upload_id``, read one at a time from disk."""
        assert file.path is not None
        with file.path.open("rb") as stream:
            for index in range(parts):
                part = stream.read(self.chunk_size)
                answer = self.call(
                    "POST",
                    path,
                    files={"file": (file.filename, part)},
                    attempts=1,
                    data={
                        "uuid": upload_id,
                        "filename": file.filename,
                        "partindex": index,
                        "totalparts": parts,
                        "chunksize": len(part),
                    },
                )
                if not (answer or {}).get("success"):
                    error = str((answer or {}).get("error") or "")
                    raise PortalError(
                        f"Le portail refuse la partie {index + 1}/{parts} de {file.filename} : "
                        f"{error or 'sans raison donnée'}.",
                        code="refus-portail",
                        reason=error,
                    )


def url_problem(url: str) -> str | None:
    """Why udata's production URL rules (``URLS_ALLOW_LOCAL``/``URLS_ALLOW_PRIVATE`` off) refuse
    ``url``, in French; None if they accept it. Hostnames are not resolved."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return "URL mal formée"
    if parts.scheme.lower() not in URL_SCHEMES:
        return f"schéma « {parts.scheme} » refusé"
    if not host:
        return "sans nom d'hôte"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
            return "adresse locale"
        if "." not in host:
            return "nom d'hôte sans domaine public"
        if host.endswith(PRIVATE_SUFFIXES):
            return "nom d'hôte d'un réseau privé"
        return None
    if address.is_loopback:
        return "adresse locale"
    if (
        address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    ):
        return "adresse privée"
    return None


def refused_urls(payload: Any) -> list[tuple[str, str]]:
    """Every URL the payload carries (at any depth) that the portal would refuse, with why."""
    found: list[tuple[str, str]] = []
    if isinstance(payload, dict):
        for value in payload.values():
            found += refused_urls(value)
    elif isinstance(payload, list):
        for value in payload:
            found += refused_urls(value)
    elif isinstance(payload, str) and payload.lower().startswith(tuple(f"{s}://" for s in URL_SCHEMES)):
        if (problem := url_problem(payload)) is not None:
            found.append((payload, problem))
    return found


@dataclass(frozen=True)
class LocalFile:
    """A resource of the payload and, if the portal will hold a copy, the file to send (``path``).

    The file is read in blocks, for its checksum and for each part sent: a file of a million
    rows is never held in memory whole."""

    resource: dict[str, Any]
    path: Path | None

    @property
    def filename(self) -> str:
        """The resource URL's last path segment: the file's name in the version folder and on upload."""
        return PurePosixPath(urlsplit(self.resource["url"]).path).name

    @cached_property
    def sha1(self) -> str:
        """The file's sha1, as udata computes it for an uploaded file."""
        assert self.path is not None
        digest = hashlib.sha1(usedforsecurity=False)
        with self.path.open("rb") as stream:
            while block := stream.read(READ_BLOCK):
                digest.update(block)
        return digest.hexdigest()


def local_files(version_dir: Path, payload: dict[str, Any]) -> list[LocalFile]:
    """The payload's resources as files to send: main resources' files in ``version_dir``.

    Other resources, and main ones whose file is absent, have no file (remote resources)."""
    files = []
    for resource in payload["resources"]:
        path = version_dir / PurePosixPath(urlsplit(resource["url"]).path).name
        files.append(LocalFile(resource, path if resource["type"] == "main" and path.is_file() else None))
    return files


def _comparable(key: str, value: Any, ours: Any) -> Any:
    """A field's value in one shape, whether ours or as udata 17.18 returns it."""
    if key == "spatial":
        value = value or {}
        return {
            "zones": sorted(value.get("zones") or []),
            "granularity": value.get("granularity") or "other",
            "geom": value.get("geom"),
        }
    if key == "tags":
        return sorted(value or [])
    if key == "temporal_coverage":
        return {k: str(v)[:10] for k, v in (value or {}).items() if k in ("start", "end") and v} or None
    if key == "extras":
        return {k: (value or {}).get(k) for k in ours}
    if key == "organization":
        return value.get("id") if isinstance(value, dict) else value
    if key == "private":
        return bool(value)
    if key == "schema":
        return (value or {}).get("url")
    if key == "description":
        return (value or "").strip()
    if key == "checksum":
        return {"type": (value or {}).get("type"), "value": (value or {}).get("value")} if value else None
    return value


def _differences(ours: dict[str, Any], theirs: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    """Keys whose value differs, comparing only what we send, each in udata's shape (a portal adds
    its own extras, returns ``spatial`` with ``geom``, a schema with ``name``/``version``...)."""
    return [
        key
        for key in keys
        if key in ours
        and _comparable(key, ours[key], ours[key]) != _comparable(key, theirs.get(key), ours[key])
    ]


def plan_portal_update(
    payload: dict[str, Any],
    files: list[LocalFile],
    existing: dict[str, Any] | None,
    allowed: set[str],
    slug: str,
) -> list[Action]:
    """What must change on the portal for it to hold ``payload`` and ``files``.

    ``existing`` is the portal's dataset as udata returns it; a deleted one gives a single
    ``deleted`` action (nothing is sent)."""
    if existing is not None and existing.get("deleted"):
        return [
            Action(
                "deleted",
                slug,
                detail=f"supprimé le {str(existing['deleted'])[:10]}, identifiant portail {existing['id']}",
            )
        ]
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
        if (
            file.path is not None
            and extension in allowed
            and (current is None or current.get("filetype") == "file")
        ):
            if current is None:
                actions.append(Action("upload", slug, title))
            elif (current.get("checksum") or {}).get("value") != file.sha1:
                actions.append(Action("reupload", slug, title, "contenu modifié"))
            elif changed := _differences(resource, current, HOSTED_FIELDS):
                actions.append(Action("update-resource", slug, title, ", ".join(changed)))
            else:
                actions.append(Action("unchanged", slug, title))
            continue
        detail = (
            f"extension {extension} refusée par le portail"
            if file.path is not None and extension not in allowed
            else ""
        )
        if current is None:
            actions.append(Action("remote", slug, title, detail))
        elif changed := _differences(resource, current, (*RESOURCE_FIELDS, "url", "filesize", "checksum")):
            actions.append(Action("update-resource", slug, title, ", ".join(changed)))
        else:
            actions.append(Action("unchanged", slug, title))
    return actions


def _resource_metadata(resource: dict[str, Any], hosted: bool) -> dict[str, Any]:
    return {k: resource[k] for k in (HOSTED_FIELDS if hosted else RESOURCE_FIELDS) if k in resource}


def _dataset_metadata(payload: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
    """The dataset fields to send; the portal's extras kept, ours over them (udata replaces extras whole)."""
    metadata = {k: payload[k] for k in DATASET_FIELDS if k in payload}
    if existing is not None:
        metadata["extras"] = {**(existing.get("extras") or {}), **payload.get("extras", {})}
    return metadata


def find_dataset(candidates: list[dict[str, Any]], identifier: str) -> dict[str, Any] | None:
    """The portal's dataset carrying ``identifier`` in its ``ogp:identifiant`` extra: a live one
    if there is one, else a deleted one (to be reported), else None."""
    matches = [d for d in candidates if (d.get("extras") or {}).get("ogp:identifiant") == identifier]
    return next((d for d in matches if not d.get("deleted")), matches[0] if matches else None)


def apply_actions(
    client: PortalClient,
    payload: dict[str, Any],
    files: list[LocalFile],
    existing: dict[str, Any] | None,
    actions: list[Action],
) -> dict[str, Any]:
    """Carries out a plan; returns the portal's dataset as the plan started from it: ``existing``,
    or udata's answer to its creation (its id; no GET is spent on re-reading it)."""
    if not any(a.writes for a in actions):
        assert existing is not None
        return existing
    dataset = existing
    by_title = {f.resource["title"]: f for f in files}
    identifier = payload["extras"]["ogp:identifiant"]
    for action in actions:
        if action.kind == "create-dataset":
            dataset = client.call(
                "POST",
                "/datasets/",
                json=_dataset_metadata(payload, None),
                lookup=lambda: find_live(client, identifier),
            )
        elif action.kind == "update-dataset":
            assert dataset is not None
            dataset = client.call(
                "PUT", f"/datasets/{dataset['id']}/", json=_dataset_metadata(payload, dataset)
            )
    assert dataset is not None
    dataset_id = dataset["id"]
    held = {r["title"]: r for r in dataset.get("resources", [])}
    for action in actions:
        if action.kind in ("create-dataset", "update-dataset", "unchanged"):
            continue
        file = by_title[action.title]
        resource = file.resource
        if action.kind in ("upload", "reupload"):
            rid = held[action.title]["id"] if action.kind == "reupload" else None
            uploaded = client.upload(dataset_id, file, rid)
            if _differences(resource, uploaded, HOSTED_FIELDS):
                client.call(
                    "PUT",
                    f"/datasets/{dataset_id}/resources/{uploaded['id']}/",
                    json=_resource_metadata(resource, hosted=True),
                )
        elif action.kind == "remote":
            client.call(
                "POST",
                f"/datasets/{dataset_id}/resources/",
                json=resource,
                lookup=_titled(client, dataset_id, resource["title"]),
            )
        elif action.kind == "update-resource":
            current = held[action.title]
            hosted = current.get("filetype") == "file"
            client.call(
                "PUT",
                f"/datasets/{dataset_id}/resources/{current['id']}/",
                json=_resource_metadata(resource, hosted) if hosted else resource,
            )
    assert dataset is not None
    return dataset


def _titled(client: PortalClient, dataset_id: str, title: str) -> Callable[[], dict[str, Any] | None]:
    """A lookup for a lost resource create: the dataset's resource of that title, if it is there."""

    def lookup() -> dict[str, Any] | None:
        return next((r for r in client.dataset(dataset_id).get("resources", []) if r["title"] == title), None)

    return lookup


def find_live(client: PortalClient, identifier: str) -> dict[str, Any] | None:
    """The live portal dataset carrying ``identifier``, asked again (after a lost create)."""
    found = find_dataset(client.candidate_datasets(), identifier)
    return found if found is not None and not found.get("deleted") else None


def _withdraw(client: PortalClient, dataset_id: str) -> bool:
    """Removes a dataset this run created: its identifier first (a deleted dataset stays listed,
    and would be taken for the steward's deletion), then the dataset. True if both were done."""
    try:
        client.call("PUT", f"/datasets/{dataset_id}/", json={"extras": {}})
        client.call("DELETE", f"/datasets/{dataset_id}/")
    except PortalError:
        return False
    return True


@dataclass(frozen=True)
class Prepared:
    """One dataset ready to be published: its payload (with portal-only fields), files and copy."""

    slug: str
    payload: dict[str, Any]
    files: list[LocalFile]
    existing: dict[str, Any] | None


def _organisation(me: dict[str, Any], wanted: str) -> dict[str, Any]:
    for org in me.get("organizations") or []:
        if wanted in (org.get("id"), org.get("slug")):
            return dict(org)
    names = ", ".join(
        f"{o.get('name')} ({o.get('slug')}, {o.get('id')})" for o in me.get("organizations") or []
    )
    raise PortalError(
        f"Le compte de la clé d'API n'est membre d'aucune organisation « {wanted} » sur ce portail.",
        code="organisation-inconnue",
        hint="Donnez l'identifiant ou le slug d'une organisation dont le compte est membre "
        f"(OGP_PORTAL_ORGANISATION ou --organisation) : {names or 'ce compte n’en a aucune'}.",
    )


def publish_to_portal(
    out: Path,
    slugs: list[str],
    client: PortalClient,
    *,
    dry_run: bool = False,
    organisations: Mapping[str, str | None] | None = None,
    private: bool | None = None,
) -> list[Action]:
    """Every served dataset of ``out`` onto the portal (or, dry run, what would be done).

    ``organisations`` gives, per slug, the organisation (id or slug) a dataset is created under
    (None: the key owner's account). ``private``: None publishes real data publicly and sample
    data privately; True publishes everything privately; False asks for everything public and
    is refused for sample data. All checks run before the first write; a dataset created here
    whose publication then fails is withdrawn before the error is raised."""
    organisations = organisations or {}
    served: list[tuple[str, Path, dict[str, Any], bool]] = []
    for slug in slugs:
        dataset_dir = out / "datasets" / slug
        log = v.read_log(dataset_dir)
        if log.served is None:
            continue
        entry = log.entry(log.served)
        version_dir = dataset_dir / log.served
        served.append(
            (
                slug,
                version_dir,
                _read_json(version_dir / "udata.json"),
                entry is not None and v.version_is_sample(dataset_dir, entry),
            )
        )
    refused = [(slug, url, why) for slug, _, payload, _ in served for url, why in refused_urls(payload)]
    if refused:
        slug, url, why = refused[0]
        raise PortalError(
            f"Le portail refuserait {len(refused)} URL des métadonnées publiées, dont {url} ({why}, jeu {slug}) : "
            "rien n'a été envoyé.",
            code="url-locale",
            reason=why,
            hint="Ces URL viennent d'OGP_BASE_URL au moment d'ogp run : relancez ogp run avec "
            "OGP_BASE_URL=https://votre-domaine/ (l'adresse publique où le dossier de publication est "
            "servi), puis ogp publish.",
        )
    samples = [slug for slug, _, _, sample in served if sample]
    if private is False and samples:
        raise PortalError(
            f"Données d'exemple : {', '.join(samples)} ne sera pas rendu public ; rien n'a été envoyé.",
            code="donnees-exemple-publiques",
            hint="Les données d'exemple sont toujours publiées en privé. Publiez de vraies soumissions "
            "(OGP_SUBMISSIONS_INBOX, puis ogp run) avant de rendre le jeu public ; pour un essai, "
            "utilisez https://demo.data.gouv.fr.",
        )
    me = client.me()
    orgs = {slug: _organisation(me, wanted)["id"] for slug, wanted in organisations.items() if wanted}
    allowed = client.allowed_extensions()
    licences = client.licences()
    unknown = sorted({str(p.get("license")) for _, _, p, _ in served if p.get("license") not in licences})
    if unknown:
        raise PortalError(
            f"Licence inconnue du portail : {', '.join(unknown)} ; rien n'a été envoyé.",
            code="licence-inconnue",
            hint="Le portail doit connaître la licence (liste : "
            "/api/1/datasets/licenses/) ; vérifiez l'adresse du portail.",
        )
    candidates = client.candidate_datasets()
    prepared = []
    for slug, version_dir, payload, sample in served:
        payload = {**payload, "private": True if sample else bool(private)}
        if slug in orgs:
            payload["organization"] = orgs[slug]
        existing = find_dataset(candidates, payload["extras"]["ogp:identifiant"])
        prepared.append(Prepared(slug, payload, local_files(version_dir, payload), existing))
    done: list[Action] = []
    for item in prepared:
        actions = plan_portal_update(item.payload, item.files, item.existing, allowed, item.slug)
        if not dry_run:
            _carry_out(client, item, actions)
        done += actions
    return done


def _carry_out(client: PortalClient, item: Prepared, actions: list[Action]) -> None:
    created: list[str] = []
    try:
        if any(a.kind == "create-dataset" for a in actions):
            # Created first alone, so that its id is known if what follows fails.
            dataset = apply_actions(client, item.payload, [], None, [Action("create-dataset", item.slug)])
            created.append(dataset["id"])
            rest = [a for a in actions if a.kind != "create-dataset"]
            apply_actions(client, item.payload, item.files, dataset, rest)
        else:
            apply_actions(client, item.payload, item.files, item.existing, actions)
    except PortalError as exc:
        if created and _withdraw(client, created[0]):
            exc.message += f" Le jeu de données {item.slug} créé par cette exécution a été retiré du portail."
            # The usual hints say that what was sent stays: not so here.
            kept = (
                exc.hint if exc.code not in ("portail-injoignable", "refus-portail") else "Corrigez la cause."
            )
            exc.hint = f"{kept} Au prochain ogp publish, le jeu de données sera créé à nouveau."
        raise


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise PortalError(
            f"{path.name} manque dans {path.parent} : publiez d'abord avec ogp run.", code="udata-json-absent"
        ) from exc
