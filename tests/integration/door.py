"""The bodies' door as the tests drive it: ``ogp dropoff serve`` as a process on loopback
(its memory read from /proc), a body's browser-less client (requests: its link, the CSRF
field, an upload), and a template filled as a person fills it (openpyxl)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from openpyxl import load_workbook

from tests.conftest import PROGRESS_SLUG, ROOT

OGP = str(Path(sys.executable).parent / "ogp")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Campaign:
    """A real campaign's folders: an (empty) inbox, a state folder, an output."""

    root: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)

    @property
    def inbox(self) -> Path:
        return self.root / "boite"

    @property
    def state(self) -> Path:
        return self.root / "var"

    @property
    def out(self) -> Path:
        return self.root / "site"

    @property
    def archive(self) -> Path:
        return self.state / PROGRESS_SLUG

    def env(self, **more: str) -> dict[str, str]:
        return {
            **os.environ,
            "OGP_SUBMISSIONS_INBOX": str(self.inbox),
            "OGP_STATE_DIR": str(self.state),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            **self.extra_env,
            **more,
        }

    def ogp(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [OGP, *args], capture_output=True, text=True, env=self.env(**env), cwd=ROOT, timeout=600
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def grant(self, org: str, *extra: str) -> str:
        """The token of a new link for ``org`` (the last line of the command's output)."""
        link = self.ogp("dropoff", "grant", "--org", org, *extra).stdout.strip().splitlines()[-1]
        assert link.startswith("http://127.0.0.1:8080/acces/"), link
        return link.rsplit("/", 1)[1]

    def journal(self) -> list[dict]:
        import json

        path = self.archive / "journal.jsonl"
        return (
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            if path.exists()
            else []
        )


class DoorProcess:
    """``ogp dropoff serve`` on a free loopback port, until ``stop``."""

    def __init__(self, campaign: Campaign, **env: str) -> None:
        self.campaign = campaign
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = campaign.root / f"guichet-{self.port}.log"
        started = time.perf_counter()
        with open(self.log, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [OGP, "dropoff", "serve", "--port", str(self.port)],
                env=campaign.env(**env),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for _ in range(600):
            try:
                if requests.get(self.url + "sante", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert self.process.poll() is None, self.log.read_text(encoding="utf-8")
            time.sleep(0.1)
        else:
            raise AssertionError("le guichet ne répond pas")
        self.start_seconds = time.perf_counter() - started

    def rss_kib(self) -> int:
        """The server process's resident memory, from /proc (KiB)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))

    def cpu_seconds(self) -> float:
        """User and system CPU time the server process has used (from /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class Body:
    """A body's client: its link opens a session, the page gives the CSRF field."""

    def __init__(self, door_url: str, token: str) -> None:
        self.url = door_url
        self.session = requests.Session()
        self.opened = self.session.get(f"{door_url}acces/{token}", timeout=30)

    def csrf(self) -> str:
        page = self.session.get(self.url + "organisme/", timeout=30)
        assert page.status_code == 200, page.status_code
        return CSRF.search(page.text).group(1)

    def upload(self, name: str, content: bytes, csrf: str | None = None) -> requests.Response:
        """The form's POST, then its 303 followed: the answer page."""
        token = self.csrf() if csrf is None else csrf
        return self.session.post(
            self.url + "organisme/depot",
            data={"csrf_token": token},
            files={"fichier": (name, content)},
            timeout=120,
        )

    def template(self) -> bytes:
        response = self.session.get(self.url + "organisme/modele.xlsx", timeout=30)
        assert response.status_code == 200
        return response.content


# (id_action, report date, status label as the drop-down offers it, percentage, comment, proof)
Report = tuple[str, dt.date, str, int | None, str, str]


def fill_template(template: bytes, reports: list[Report]) -> bytes:
    """The body's template with ``reports`` typed into its « Suivi » sheet: the prefilled
    row of the action first, then free rows (a second date of the same action)."""
    book = load_workbook(io.BytesIO(template))
    sheet = book["Suivi"]
    header = [c.value for c in sheet[1]]
    columns = {
        name: header.index(title) + 1
        for name, title in (
            ("date", "Date du rapport"),
            ("statut", "Statut"),
            ("pct", "Avancement (%)"),
            ("commentaire", "Commentaire"),
            ("preuve", "Lien vers une preuve"),
        )
    }
    prefilled = {sheet.cell(r, 1).value: r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value}
    free = max(prefilled.values()) + 1
    used: set[int] = set()
    for action, date, status, pct, comment, proof in reports:
        row = prefilled.get(action)
        if row is None or row in used:
            row = free
            free += 1
            sheet.cell(row, 1, action)
        used.add(row)
        sheet.cell(row, columns["date"], date)
        sheet.cell(row, columns["statut"], status)
        if pct is not None:
            sheet.cell(row, columns["pct"], pct)
        sheet.cell(row, columns["commentaire"], comment)
        sheet.cell(row, columns["preuve"], proof)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
