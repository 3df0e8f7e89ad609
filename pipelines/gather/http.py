"""Gather stage: fetching a submission a body publishes at a URL, politely and safely.

``fetch_url`` guarantees: a bounded wait (connect and read timeouts), retries with
exponential back-off on what can heal (timeouts, resets, 429 and 5xx, truncated bodies;
``Retry-After`` honoured up to a cap), a conditional GET (ETag / Last-Modified) so an
unchanged file is not downloaded again, a size limit enforced while streaming, and a
complete body or an error, never a silently truncated file. Credentials come from the
environment and never appear in what it returns or raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from pipelines.core.errors import PipelineError, SourceUnavailable

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
_SECRET_KEYS = ("token", "key", "secret", "password", "passwd", "signature", "sig", "auth")
USER_AGENT = "ogp-pipeline/0.1 (+https://www.modernisation.gouv.fr/)"


class ResponseTooLarge(PipelineError):
    """The body exceeds the size limit: not retried, the file is refused."""


@dataclass(frozen=True)
class HttpPolicy:
    """How ``fetch_url`` bounds a fetch: timeouts, attempts and back-off, and the largest body accepted."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    attempts: int = 4
    backoff: float = 1.0  # seconds before the 2nd attempt, doubled each time
    max_backoff: float = 30.0
    max_bytes: int = 10 * 2**20


@dataclass(frozen=True)
class Fetched:
    """``content`` is ``None`` when the server says the file has not changed (304)."""

    content: bytes | None
    etag: str | None
    last_modified: str | None
    attempts: int


def redact_url(url: str) -> str:
    """The URL as logs and reports may show it: no user info, no secret query values."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode(
        [
            (k, "***" if any(s in k.lower() for s in _SECRET_KEYS) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _retry_after(response: requests.Response, default: float, cap: float) -> float:
    value = response.headers.get("Retry-After")
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return default
    return min(max(seconds, 0.0), cap)


def _read_body(response: requests.Response, max_bytes: int, shown: str) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(
            f"Le fichier de {shown} annonce {int(declared)} octets ; la limite est de {max_bytes}.",
            hint="Demandez à l'organisme un fichier qui ne contient que son rapport d'avancement.",
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > max_bytes:
            response.close()
            raise ResponseTooLarge(
                f"Le fichier de {shown} dépasse la limite de {max_bytes} octets.",
                hint="Demandez à l'organisme un fichier qui ne contient que son rapport d'avancement.",
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    encoded = response.headers.get("Content-Encoding", "identity") not in ("", "identity")
    if declared and declared.isdigit() and not encoded and len(body) != int(declared):
        raise requests.exceptions.ChunkedEncodingError(
            f"corps tronqué : {len(body)} octets reçus sur {declared} annoncés"
        )
    return body


def fetch_url(
    url: str,
    policy: HttpPolicy = HttpPolicy(),
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    token: str | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """The body at ``url``, or ``content=None`` if unchanged since ``etag``/``last_modified``.

    Raises :class:`SourceUnavailable` when every attempt failed (saying how many and the
    last cause) or on a status no retry can fix (404, 401…), and
    :class:`ResponseTooLarge` for a body over the limit.
    """
    shown = redact_url(url)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    if token:
        headers["Authorization"] = f"Bearer {token}"
    http = session or requests.Session()
    delay = policy.backoff
    cause = ""
    for attempt in range(1, policy.attempts + 1):
        wait = delay
        try:
            with http.get(
                url,
                headers=headers,
                stream=True,
                allow_redirects=True,
                timeout=(policy.connect_timeout, policy.read_timeout),
            ) as response:
                if response.status_code == 304:
                    return Fetched(None, etag, last_modified, attempt)
                if response.status_code in RETRY_STATUSES:
                    cause = f"réponse HTTP {response.status_code}"
                    wait = _retry_after(response, delay, policy.max_backoff)
                elif response.status_code >= 400:
                    raise SourceUnavailable(
                        f"{shown} répond {response.status_code} ({response.reason}).",
                        hint="Vérifiez l'adresse déclarée dans dataset.yaml et, si elle est "
                        "protégée, le jeton d'accès (variable d'environnement token_env).",
                        url=shown,
                        status=response.status_code,
                    )
                else:
                    body = _read_body(response, policy.max_bytes, shown)
                    return Fetched(
                        body, response.headers.get("ETag"), response.headers.get("Last-Modified"), attempt
                    )
        except requests.exceptions.Timeout:
            cause = "délai d'attente dépassé"
        except requests.exceptions.ChunkedEncodingError as exc:
            cause = "corps de réponse tronqué" + (f" ({exc})" if "octets" in str(exc) else "")
        except (requests.exceptions.ConnectionError, requests.exceptions.ContentDecodingError):
            cause = "connexion impossible ou interrompue"
        if attempt < policy.attempts:
            sleep(wait)
            delay = min(delay * 2, policy.max_backoff)
    raise SourceUnavailable(
        f"{shown} n'a pas pu être lu après {policy.attempts} tentatives : {cause}.",
        hint="Le serveur de l'organisme est peut-être indisponible : relancez plus tard. "
        "Rien n'a été publié pour ce jeu de données.",
        url=shown,
        attempts=policy.attempts,
    )
