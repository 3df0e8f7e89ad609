#!/usr/bin/env python3
"""udata 17.18's own application on loopback, seeded like data.gouv.fr, for the portal tests.

Run with the udata tool venv (``make setup`` builds ``.venv-tools/udata/``); started from any
other Python, the script re-executes itself there::

    .venv-tools/udata/bin/python tools/udata_portal/serve.py --log requests.jsonl [--fs-root DIR]

What it guarantees:

* The application is udata's (``udata.app.create_app`` + ``standalone``): its API, its forms,
  its URL validation with the production rules (``URLS_ALLOW_LOCAL`` and
  ``URLS_ALLOW_PRIVATE`` off), its storage and chunked upload. Nothing of udata is patched.
* MongoDB is an in-memory ``mongomock`` client; served by one thread (mongomock is not
  thread-safe); celery tasks run eagerly; uploads go to ``--fs-root`` (a temporary folder by
  default) and get a public-looking ``FS_URL``, so udata accepts its own file URLs on the
  next resource update.
* Seeded as data.gouv.fr is: the licence list (udata's own ``licenses`` loader on
  ``tools/harvest_check/licenses_datagouv.json``), the level ``country`` and the zone
  ``country:fr``, a user with an API key (a hashed ``ApiToken``, as udata 17.18 keeps
  them), an organisation with the user as admin, and a second user outside it.
* Every API request is appended to ``--log`` as one JSON line ``{"method", "path",
  "status"}`` once its response is sent: tests count write requests there.
* When ready it prints one JSON line on stdout: ``{"port", "base", "key", "other_key",
  "organization", "user"}``, then serves until SIGTERM or SIGINT.
* Test controls (never logged), for what the API cannot be asked to do:
  ``POST /_test/reset`` deletes every dataset and uploaded file (a fresh portal for the next test);
  ``POST /_test/faults`` with ``{"method", "path" or "suffix", "status", "after", "reset"}``
  queues one fault for the next matching request (its path equal to ``path`` or ending with
  ``suffix``), answered ``status`` or, with ``reset``, by closing the connection unanswered: with ``after`` true the request is processed by udata first and
  its answer replaced (a gateway timing out after the work was done), otherwise it is answered
  without reaching udata. ``--max-request-bytes`` makes requests above it answer 413, as the
  portal's front server does for an upload too large for one request.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pathlib
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_VENV = ROOT / ".venv-tools" / "udata"
LICENCES = ROOT / "tools" / "harvest_check" / "licenses_datagouv.json"
FS_URL = "https://static.portail-essai.example.org/resources"


def _reexec_in_venv() -> None:
    """When udata is not importable here, rerun this script with the tool venv's Python."""
    venv = pathlib.Path(os.environ.get("UDATA_PORTAL_VENV", DEFAULT_VENV))
    python = venv / "bin" / "python"
    if python.exists() and pathlib.Path(sys.prefix).resolve() != venv.resolve():
        os.execv(str(python), [str(python), str(pathlib.Path(__file__).resolve()), *sys.argv[1:]])
    sys.stderr.write(
        f"udata_portal: udata is not installed for {sys.executable} and no venv at {venv}.\n"
        f"Run: make setup in {ROOT}\n"
    )
    sys.exit(2)


try:
    import click
    import mongomock
    import udata  # noqa: F401
except ImportError:
    _reexec_in_venv()

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def make_config(fs_root: str, max_request_bytes: int | None) -> type:
    from udata.settings import Defaults

    class Config(Defaults):  # type: ignore[misc,valid-type]
        TESTING = False
        DEBUG = False
        SECRET_KEY = "udata-portal-tests"
        API_TOKEN_SECRET = "udata-portal-tests"
        SECURITY_PASSWORD_SALT = "udata-portal-tests"
        DEFAULT_LANGUAGE = "fr"
        SERVER_NAME = None
        CACHE_TYPE = "flask_caching.backends.NullCache"
        CACHE_NO_NULL_WARNING = True
        CELERY_TASK_ALWAYS_EAGER = True
        CELERY_BROKER_URL = "memory://"
        CELERY_RESULT_BACKEND = None
        SEND_MAIL = False
        ELASTICSEARCH_URL = None
        # Production URL rules: no local, no private addresses. Hostnames are not resolved
        # (no DNS here); data.gouv.fr resolves them, which only refuses more.
        URLS_ALLOW_LOCAL = False
        URLS_ALLOW_PRIVATE = False
        URLS_RESOLVE_HOSTNAME = False
        FS_ROOT = fs_root
        FS_URL = FS_URL
        MAX_CONTENT_LENGTH = max_request_bytes
        MONGODB_SETTINGS = {
            "host": "mongodb://localhost/udata_portal",
            "mongo_client_class": mongomock.MongoClient,
        }

    return Config


def seed(app: Any) -> dict[str, str]:
    """What data.gouv.fr has and an empty udata lacks; returns the identifiers and keys made."""
    from udata.core.api_token.models import ApiToken
    from udata.core.dataset import commands as dataset_commands
    from udata.core.organization.models import Member, Organization
    from udata.core.spatial.models import GeoLevel, GeoZone
    from udata.core.user.models import User

    with app.app_context():
        with (
            open(os.devnull, "w") as devnull,
            contextlib.redirect_stdout(devnull),
            click.Context(dataset_commands.licenses),
        ):
            dataset_commands.licenses.callback(source=str(LICENCES))
        GeoLevel(id="country", name="Pays", admin_level=10).save()
        GeoZone(id="country:fr", slug="france", name="France", code="fr", level="country").save()
        now = datetime.now(UTC)
        user = User(
            first_name="Camille",
            last_name="Intendante",
            email="camille@ogp.example.org",
            active=True,
            confirmed_at=now,
        ).save()
        other = User(
            first_name="Dominique",
            last_name="Autre",
            email="dominique@ogp.example.org",
            active=True,
            confirmed_at=now,
        ).save()
        org = Organization(
            name="Direction interministérielle de la transformation publique",
            description="Organisation des tests de publication.",
            members=[Member(user=user, role="admin")],
        ).save()
        _, key = ApiToken.generate(user, name="ogp-tests")
        _, other_key = ApiToken.generate(other, name="autre")
        return {"key": key, "other_key": other_key, "organization": str(org.id), "user": str(user.id)}


class Recorder:
    """WSGI middleware: logs each API request once answered, and plays the queued faults."""

    def __init__(
        self,
        app: Callable[[Environ, StartResponse], Iterable[bytes]],
        log: pathlib.Path,
        reset: Callable[[], None],
    ) -> None:
        self.app = app
        self.log = log
        self.reset = reset
        self.faults: list[dict[str, Any]] = []

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if path == "/_test/faults" and method == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            self.faults.append(json.loads(environ["wsgi.input"].read(size) or b"{}"))
            start_response("204 No Content", [])
            return [b""]
        if path == "/_test/reset" and method == "POST":
            self.faults.clear()
            self.reset()
            start_response("204 No Content", [])
            return [b""]
        fault = next(
            (
                f
                for f in self.faults
                if f["method"] == method
                and (f.get("path") == path or (f.get("suffix") and path.endswith(f["suffix"])))
            ),
            None,
        )
        if fault is not None:
            self.faults.remove(fault)
            if fault.get("after"):
                for _ in self._through(environ, lambda status, headers, exc=None: None):
                    pass  # udata does the work; its answer is lost, as behind a gateway that timed out
            else:
                # Read, not processed: an unread body would be taken for the next request.
                environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            self._write(method, path, int(fault.get("status") or 0), fault=True)
            if fault.get("reset"):
                # The connection drops with no answer at all (a reset by a proxy).
                environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
                start_response("500 Reset", [])
                return [b""]
            start_response(f"{fault['status']} Fault", [("Content-Type", "text/html")])
            return [b"<html><body><h1>Gateway Time-out</h1></body></html>"]
        seen: list[int] = []

        def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.append(int(status.split()[0]))
            return start_response(status, headers, exc_info)

        body = list(self._through(environ, recording))
        if path.startswith("/api/"):
            self._write(method, path, seen[0] if seen else 0)
        return body

    def _through(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        result = self.app(environ, start_response)
        try:
            yield from result
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _write(self, method: str, path: str, status: int, fault: bool = False) -> None:
        with self.log.open("a", encoding="utf-8") as stream:
            stream.write(
                json.dumps(
                    {"method": method, "path": path, "status": status, **({"fault": True} if fault else {})}
                )
                + "\n"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="udata 17.18 on loopback for the portal tests.")
    parser.add_argument("--log", required=True, help="JSON-lines file of the API requests answered")
    parser.add_argument("--fs-root", help="folder for uploaded files (default: a temporary one)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--max-request-bytes", type=int, help="answer 413 above this request size")
    args = parser.parse_args(argv)
    # A udata.cfg in the working directory must not leak into the portal.
    os.environ["UDATA_SETTINGS"] = os.devnull + ".udata-portal-no-settings"
    fs_root = args.fs_root or tempfile.mkdtemp(prefix="udata-fs-")
    os.makedirs(fs_root, exist_ok=True)

    from udata.app import create_app, standalone
    from werkzeug.serving import WSGIRequestHandler, make_server

    with contextlib.redirect_stdout(io.StringIO()):
        app = standalone(create_app(override=make_config(fs_root, args.max_request_bytes)))
    seeded = seed(app)

    def reset() -> None:
        from udata.core.dataset.models import Dataset

        with app.app_context():
            Dataset.objects.delete()
        # Files are stored under the dataset's slug and the second of the upload: a slug used
        # again within the same second would clash with the deleted dataset's file.
        for child in pathlib.Path(fs_root).iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()

    recorder = Recorder(app.wsgi_app, pathlib.Path(args.log), reset)
    app.wsgi_app = recorder

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *a: Any, **k: Any) -> None:
            pass

    server = make_server(
        "127.0.0.1", args.port, app, threaded=False, processes=1, request_handler=QuietHandler
    )
    port = server.server_port

    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(json.dumps({"port": port, "base": f"http://127.0.0.1:{port}", **seeded}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
