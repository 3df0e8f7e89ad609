"""Web: the door served by waitress, a production WSGI server, in one process.

Why waitress (see the README's « The bodies' door »): one process keeps the costly things
(plan, schemas, validators) loaded once for every request, and uploads are serialised by
the campaign's lock anyway, so worker processes would buy nothing but copies. Waitress
reads each request whole before a thread handles it (a slow client holds no thread),
spools large bodies to disk, and refuses a body over ``max_request_body_size`` from its
``Content-Length`` before reading it (chunked: as soon as it goes over), closing the
connection. Its own error answers (413, 400, 431) are replaced by the door's French pages,
with the same security headers.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from pipelines.core.config import Settings
from pipelines.web.app import SECURITY_HEADERS, error_page


def _french_pages(app: Flask) -> dict[int, bytes]:
    pages = {}
    with app.test_request_context("/"):
        for code in (400, 413, 500):
            pages[code] = error_page(code).get_data()
    return pages


def _channel(pages: dict[int, bytes]) -> type[HTTPChannel]:
    """Waitress's connection class, answering its own errors with the door's pages."""

    class FrenchErrorTask(ErrorTask):  # type: ignore[misc]  # waitress ships no type hints
        def execute(self) -> None:
            error = self.request.error
            body = pages.get(error.code) or pages[400 if 400 <= error.code < 500 else 500]
            self.status = f"{error.code} {error.reason}"
            self.response_headers.append(("Content-Type", "text/html; charset=utf-8"))
            self.response_headers.extend(SECURITY_HEADERS.items())
            self.response_headers.append(("Cache-Control", "no-store"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class FrenchChannel(HTTPChannel):  # type: ignore[misc]
        error_task_class = FrenchErrorTask

    return FrenchChannel


def make_server(app: Flask, settings: Settings, host: str, port: int) -> Any:
    """The waitress server of the door (not started): ``.run()`` serves until stopped."""
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "threads": settings.dropoff_threads,
        "ident": "ogp-guichet",
        # The same limit as the application's: refused before the body is read.
        "max_request_body_size": app.config["MAX_CONTENT_LENGTH"],
        "channel_timeout": 120,
        "connection_limit": 200,
        "clear_untrusted_proxy_headers": True,
    }
    if settings.dropoff_trusted_proxy:
        options.update(
            trusted_proxy=settings.dropoff_trusted_proxy,
            trusted_proxy_count=1,
            trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
        )
    server = create_server(app, **options)
    channel = _channel(_french_pages(app))
    for listener in [server, *getattr(server, "map", {}).values()]:
        if hasattr(listener, "channel_class"):
            listener.channel_class = channel
    return server


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(server: Any, announce: Callable[[str], None]) -> None:
    """Serves until SIGTERM or Ctrl+C; what is under way is never half-written (every
    write of the archive is atomic), so stopping at any moment is safe."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr, force=True
    )
    signal.signal(signal.SIGTERM, _stop)
    address = server.effective_host, server.effective_port
    announce(f"http://{address[0]}:{address[1]}/")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
