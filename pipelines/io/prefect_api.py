"""I/O: the runs of a Prefect server, read through its REST API (``PREFECT_API_URL``).

Only what watching the scheduled runs needs (``pipelines.intake.alerts``): the flow runs of
the project's deployments since a moment, each with its deployment's name, its state
(type, name, message), its tags and the time it was expected to start. Read with
``requests`` rather than Prefect's client, so that a watch does not import Prefect.

A server that does not answer, or answers with an error, is a :class:`SourceUnavailable`
naming the address (never a token: ``PREFECT_API_KEY`` is not used, a local server has none).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import requests

from pipelines.core.errors import SourceUnavailable

DEFAULT_API = "http://127.0.0.1:4200/api"
PAGE = 200
# Every deployment of prefect.yaml has the first tag; a run that rejected a file gets the
# second (pipelines.deployments), so that the watch and the UI's filters tell it apart.
PROJECT_TAG = "ogp"
REJECTED_TAG = "fichiers-rejetes"


@dataclass(frozen=True)
class RunSeen:
    """One flow run as the server reports it. ``deployment`` is « flux/déploiement »
    (empty for a run started without a deployment); ``state_name`` is Prefect's (« Late »,
    « Failed ») or ours (« Partiellement accepté »)."""

    id: str
    name: str
    deployment: str
    state_type: str
    state_name: str
    message: str
    tags: tuple[str, ...]
    expected_start: dt.datetime | None
    parameters: dict[str, Any] = field(default_factory=dict, compare=False)


def ui_address(api: str) -> str:
    """The UI's address of a server's API (``…/api`` → ``…``), for links in mails."""
    return api.rstrip("/").removesuffix("/api")


def _moment(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class PrefectApi:
    """A Prefect server's REST API at ``api`` (``http://127.0.0.1:4200/api``)."""

    def __init__(self, api: str, *, timeout: float = 15.0) -> None:
        self.api = api.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            response = self.session.post(f"{self.api}{path}", json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SourceUnavailable(
                f"Le serveur Prefect ne répond pas à {self.api} ({type(exc).__name__}).",
                hint="Vérifiez qu'il tourne (systemctl status ogp-prefect-server, ou make server) et "
                "PREFECT_API_URL.",
                url=self.api,
            ) from None
        if response.status_code != 200:
            raise SourceUnavailable(
                f"Le serveur Prefect {self.api} répond {response.status_code} à {path}.",
                hint="Vérifiez PREFECT_API_URL (l'adresse de l'API finit par /api) et le journal du serveur.",
                url=self.api,
                status=response.status_code,
            )
        return response.json()

    def deployments(self) -> dict[str, str]:
        """Each deployment's id and « flux/déploiement » name."""
        flows = {f["id"]: f["name"] for f in self._post("/flows/filter", {})}
        return {
            d["id"]: f"{flows.get(d['flow_id'], '?')}/{d['name']}"
            for d in self._post("/deployments/filter", {})
        }

    def runs(self, since: dt.datetime, *, tag: str) -> list[RunSeen]:
        """The runs of deployments tagged ``tag`` expected to start after ``since``, oldest
        first."""
        names = self.deployments()
        found: list[RunSeen] = []
        while True:
            page = self._post(
                "/flow_runs/filter",
                {
                    "flow_runs": {
                        "tags": {"all_": [tag]},
                        "deployment_id": {"is_null_": False},
                        "expected_start_time": {"after_": since.astimezone(dt.UTC).isoformat()},
                    },
                    "sort": "EXPECTED_START_TIME_ASC",
                    "limit": PAGE,
                    "offset": len(found),
                },
            )
            for run in page:
                state = run.get("state") or {}
                found.append(
                    RunSeen(
                        id=str(run["id"]),
                        name=str(run["name"]),
                        deployment=names.get(str(run.get("deployment_id")), ""),
                        state_type=str(state.get("type", "")),
                        state_name=str(state.get("name", "")),
                        message=str(state.get("message") or ""),
                        tags=tuple(run.get("tags") or ()),
                        expected_start=_moment(run.get("expected_start_time")),
                        parameters=dict(run.get("parameters") or {}),
                    )
                )
            if len(page) < PAGE:
                return found
