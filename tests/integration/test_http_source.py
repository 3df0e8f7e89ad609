"""HTTP sources against a real server on 127.0.0.1: timeouts, 5xx, truncated bodies,
conditional GET, size limits and secrets (no patching of requests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.core.config import DatasetConfig, HttpSubmissionSource, Settings
from pipelines.core.errors import SourceUnavailable
from pipelines.gather.http import HttpPolicy, ResponseTooLarge, fetch_url, redact_url
from pipelines.intake.submissions import collect_submissions
from pipelines.state.campaign import dataset_for_run
from tests.conftest import TODAY

BODY = (
    "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
    "E1-A1-01,2022-12-31,limite,20,Été,\n"
).encode()
FAST = HttpPolicy(connect_timeout=2, read_timeout=0.5, attempts=3, backoff=0.01, max_backoff=0.05)

# One step per request: ("ok"|"status N"|"slow"|"truncate"|"reset"|"big"|"chunked-big"|"304-aware").
Script = list[str]


@dataclass
class Server:
    url: str
    script: Script
    requests: list[dict[str, str]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, *args: object) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        state: Server = self.server.state  # type: ignore[attr-defined]
        state.requests.append({k.lower(): v for k, v in self.headers.items()})
        step = state.script.pop(0) if len(state.script) > 1 else state.script[0]
        if step.startswith("status "):
            code = int(step.split()[1])
            self.send_response(code)
            if code == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif step == "slow":
            time.sleep(1.5)
            self._send(BODY)
        elif step == "truncate":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY) + 500))
            self.end_headers()
            self.wfile.write(BODY)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        elif step == "reset":
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.close()
        elif step == "big":
            self.send_response(200)
            self.send_header("Content-Length", str(50 * 2**20))
            self.end_headers()
        elif step == "chunked-big":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            for _ in range(40):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif step == "conditional":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
            else:
                self._send(BODY, {"ETag": '"v1"', "Last-Modified": "Wed, 01 Feb 2023 10:00:00 GMT"})
        elif step == "needs-token":
            if self.headers.get("Authorization") == "Bearer s3cret-t0ken":
                self._send(BODY)
            else:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
        else:
            self._send(BODY)

    def _send(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[ThreadingHTTPServer] = []

    def start(*script: str, path: str = "/suivi.csv") -> Server:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        state = Server(f"http://127.0.0.1:{httpd.server_address[1]}{path}", list(script))
        httpd.state = state  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return state

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_500_twice_then_200_is_retried_with_back_off(serve: Callable[..., Server]) -> None:
    server = serve("status 500", "status 500", "ok")
    waits: list[float] = []
    fetched = fetch_url(server.url, FAST, sleep=waits.append)
    assert fetched.content == BODY and fetched.attempts == 3
    assert waits == [0.01, 0.02]
    assert len(server.requests) == 3


def test_429_honours_retry_after(serve: Callable[..., Server]) -> None:
    server = serve("status 429", "ok")
    waits: list[float] = []
    assert fetch_url(server.url, FAST, sleep=waits.append).content == BODY
    assert waits == [0.0]


def test_a_server_that_never_answers_in_time_gives_up_with_a_clear_error(
    serve: Callable[..., Server],
) -> None:
    server = serve("slow")
    with pytest.raises(SourceUnavailable) as caught:
        fetch_url(server.url, FAST, sleep=lambda s: None)
    assert "après 3 tentatives" in caught.value.message and "délai" in caught.value.message
    assert caught.value.retryable


def test_a_timeout_then_an_answer_succeeds(serve: Callable[..., Server]) -> None:
    server = serve("slow", "ok")
    assert fetch_url(server.url, FAST, sleep=lambda s: None).content == BODY


def test_a_truncated_body_is_retried_and_never_returned(serve: Callable[..., Server]) -> None:
    server = serve("truncate", "ok")
    assert fetch_url(server.url, FAST, sleep=lambda s: None).content == BODY
    always = serve("truncate")
    with pytest.raises(SourceUnavailable) as caught:
        fetch_url(always.url, FAST, sleep=lambda s: None)
    assert "tronqué" in caught.value.message


def test_a_reset_connection_is_retried(serve: Callable[..., Server]) -> None:
    server = serve("reset", "ok")
    assert fetch_url(server.url, FAST, sleep=lambda s: None).content == BODY


def test_conditional_get_does_not_download_an_unchanged_file(serve: Callable[..., Server]) -> None:
    server = serve("conditional")
    first = fetch_url(server.url, FAST)
    assert first.content == BODY and first.etag == '"v1"'
    second = fetch_url(server.url, FAST, etag=first.etag, last_modified=first.last_modified)
    assert second.content is None
    assert server.requests[1]["if-none-match"] == '"v1"'
    assert server.requests[1]["if-modified-since"] == "Wed, 01 Feb 2023 10:00:00 GMT"


def test_size_limit_is_enforced_before_and_while_downloading(serve: Callable[..., Server]) -> None:
    with pytest.raises(ResponseTooLarge):
        fetch_url(serve("big").url, FAST)
    with pytest.raises(ResponseTooLarge):
        fetch_url(serve("chunked-big").url, HttpPolicy(max_bytes=2**20, read_timeout=2))


def test_404_is_not_retried(serve: Callable[..., Server]) -> None:
    server = serve("status 404")
    with pytest.raises(SourceUnavailable) as caught:
        fetch_url(server.url, FAST, sleep=lambda s: None)
    assert len(server.requests) == 1 and "404" in caught.value.message


def test_secrets_never_appear_in_errors_or_redacted_urls(serve: Callable[..., Server]) -> None:
    server = serve("needs-token")
    assert fetch_url(server.url, FAST, token="s3cret-t0ken").content == BODY
    with pytest.raises(SourceUnavailable) as caught:
        fetch_url(server.url + "?access_token=s3cret-t0ken&v=2", FAST, token="wrong")
    assert "s3cret" not in str(caught.value) and "wrong" not in str(caught.value)
    assert (
        redact_url("https://user:pw@example.org/a.csv?api_key=k&v=2")
        == "https://example.org/a.csv?api_key=***&v=2"
    )


def test_collecting_from_urls_archives_reports_and_remembers_validators(
    serve: Callable[..., Server],
    tmp_path: Path,
    progress_config: DatasetConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OGP_TEST_TOKEN", "s3cret-t0ken")
    good = serve("conditional", path="/ditp/suivi.csv")
    private = serve("needs-token", path="/meae/suivi.csv")
    down = serve("status 503")
    (tmp_path / "boite").mkdir()
    settings = Settings(state_dir=tmp_path / "var", submissions_inbox=tmp_path / "boite").check()
    source = progress_config.source.model_copy(
        update={
            "urls": (
                HttpSubmissionSource(url=good.url, organisation="ditp"),
                HttpSubmissionSource(
                    url=private.url + "?token=s3cret-t0ken", organisation="meae", token_env="OGP_TEST_TOKEN"
                ),
                HttpSubmissionSource(url=down.url, organisation="dinum"),
            ),
            "reporters": {"E1-A1-01": ("meae",)},
        }
    )  # both report on ditp's E1-A1-01: meae as declared reporter
    config = dataset_for_run(progress_config.model_copy(update={"source": source}), settings)
    policy = HttpPolicy(read_timeout=2, attempts=2, backoff=0.01)
    summary = collect_submissions(config, settings, today=TODAY, policy=policy)
    assert [r.organisation for r in summary.accepted] == ["ditp", "meae"]
    assert len(summary.failures) == 1 and "503" in summary.failures[0]
    again = collect_submissions(config, settings, today=TODAY, policy=policy)
    assert again.unchanged == 2 and not again.accepted  # 304 for one, same bytes for the other
    state = tmp_path / "var"
    everything = "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in state.rglob("*") if p.is_file()
    )
    assert "s3cret-t0ken" not in everything
    assert "token=***" in everything
