"""``ogp serve`` over HTTP on loopback: published files are readable from any origin (CORS)
and keep the content types harvesters and feed readers need."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from publish.serve import make_server


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "datasets" / "d" / "1.0.0").mkdir(parents=True)
    (tmp_path / "datasets" / "d" / "latest").symlink_to("1.0.0", target_is_directory=True)
    (tmp_path / "datasets" / "d" / "1.0.0" / "t.csv").write_text("a,b\n1,é\n", encoding="utf-8")
    (tmp_path / "versions.atom").write_text("<feed/>\n", encoding="utf-8")
    (tmp_path / "index.html").write_text("<!DOCTYPE html>\n", encoding="utf-8")
    server = make_server(tmp_path, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("datasets/d/latest/t.csv", "text/csv; charset=utf-8"),
        ("versions.atom", "application/atom+xml; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
    ],
)
def test_published_files_are_readable_from_any_origin(served: str, path: str, content_type: str) -> None:
    answer = requests.get(served + path, headers={"Origin": "https://reutilisateur.exemple"}, timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Content-Type"] == content_type
    # Public data: no credentials are ever allowed with the wildcard.
    assert "Access-Control-Allow-Credentials" not in answer.headers
    head = requests.head(served + path, timeout=5)
    assert head.headers["Access-Control-Allow-Origin"] == "*"
