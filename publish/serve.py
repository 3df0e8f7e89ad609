"""Publish stage: serving the output folder over HTTP, with the content types harvesters need.

A preview and test server (``ogp serve``), not a production web server: it binds to
loopback by default. What it gets right matters to harvesters: Turtle and CSV carry
``charset=utf-8`` (without it, ``requests`` decodes Turtle as ISO-8859-1 and udata
imports garbled titles), JSON-LD, RDF/XML and Parquet have their registered types, and
``latest`` links are followed like any folder. Every answer carries
``Access-Control-Allow-Origin: *``: the files are public and read only, and reusers'
browser applications fetch them from other origins.
"""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONTENT_TYPES = {
    ".ttl": "text/turtle; charset=utf-8",
    ".jsonld": "application/ld+json; charset=utf-8",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".atom": "application/atom+xml; charset=utf-8",
}


class OutputHandler(SimpleHTTPRequestHandler):
    """Serves the output folder with ``CONTENT_TYPES`` (UTF-8 charset on text) and no line per request."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def end_headers(self) -> None:
        """Adds the CORS header that lets any origin read the published files (no credentials)."""
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Discards the request log line that the standard handler writes to stderr."""
        pass  # quiet: a test or a steward's terminal does not need one line per request


def make_server(out: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for ``out`` (port 0: any free port, see ``server.server_address``)."""
    handler = functools.partial(OutputHandler, directory=str(out))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
