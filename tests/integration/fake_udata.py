"""A udata-like API server on 127.0.0.1 for testing ``ogp publish --portal``.

It implements the calls the pipeline makes the way udata 17.18 answers them (routes,
required fields, the X-API-KEY header, sha1 checksums computed on upload, the list of
allowed extensions without Parquet, remote-only resource creation) and refuses what
udata refuses. Faults can be queued per route to test retries.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# udata's default ALLOWED_RESOURCES_EXTENSIONS (excerpt, as served by /datasets/extensions/).
EXTENSIONS = ["7z", "bz2", "csv", "doc", "docx", "geojson", "gz", "json", "jsonld", "ods", "odt",
              "pdf", "rar", "rdf", "shp", "tar", "tgz", "ttl", "txt", "xls", "xlsx", "xml", "zip"]
LICENCES = {"lov2", "notspecified", "odc-odbl", "odc-pddl", "cc-by", "cc-by-sa", "fr-lo"}
FREQUENCIES = {"punctual", "irregular", "never", "daily", "weekly", "monthly", "quarterly",
               "annual", "continuous", "unknown"}
MIMES = {"csv": "text/csv", "json": "application/json"}


@dataclass
class Portal:
    api_key: str
    base: str = ""
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    faults: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def uploads(self) -> list[str]:
        return [path for method, path in self.calls if method == "POST" and "/upload/" in path]


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, *args: object) -> None:
        pass

    @property
    def portal(self) -> Portal:
        return self.server.portal  # type: ignore[attr-defined]

    def _reply(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _json(self) -> dict[str, Any]:
        return json.loads(self._body() or b"{}")

    def _file(self) -> tuple[str, bytes] | None:
        raw = self._body()
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + raw)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                return part.get_filename() or "fichier", part.get_payload(decode=True)
        return None

    def _handle(self, method: str) -> None:
        portal = self.portal
        path = self.path.split("?")[0]
        with portal.lock:
            portal.calls.append((method, path))
            portal.headers_seen.append(dict(self.headers))
            for (fault_method, prefix), statuses in portal.faults.items():
                if fault_method == method and path.startswith(prefix) and statuses:
                    self._body()
                    self._reply(statuses.pop(0), {"message": "Service Unavailable"})
                    return
        if path == "/api/1/datasets/extensions/" and method == "GET":
            return self._reply(200, EXTENSIONS)
        if self.headers.get("X-API-KEY") != portal.api_key:
            self._body()
            return self._reply(401, {"message": "Invalid API Key"})
        if path == "/api/1/me/datasets/" and method == "GET":
            return self._reply(200, list(portal.datasets.values()))
        if path == "/api/1/datasets/" and method == "POST":
            return self._save_dataset(None, self._json())
        match = re.fullmatch(r"/api/1/datasets/([^/]+)/(?:(upload)/|resources/(?:([^/]+)/(upload/)?)?)?", path)
        if not match or match.group(1) not in portal.datasets:
            self._body()
            return self._reply(404, {"message": "Not found"})
        dataset = portal.datasets[match.group(1)]
        upload_new, rid, reupload = match.group(2), match.group(3), match.group(4)
        if upload_new and method == "POST":
            return self._upload(dataset, None)
        if rid and reupload and method == "POST":
            return self._upload(dataset, rid)
        if rid and method == "PUT":
            return self._update_resource(dataset, rid, self._json())
        if path.endswith("/resources/") and method == "POST":
            return self._create_remote(dataset, self._json())
        if method == "PUT" and not rid:
            return self._save_dataset(dataset, self._json())
        if method == "GET" and not rid:
            return self._reply(200, dataset)
        self._reply(405, {"message": "Method not allowed"})

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def _save_dataset(self, dataset: dict[str, Any] | None, body: dict[str, Any]) -> None:
        errors = {}
        if not body.get("title"):
            errors["title"] = ["Ce champ est requis."]
        if not body.get("description"):
            errors["description"] = ["Ce champ est requis."]
        if body.get("license") and body["license"] not in LICENCES:
            errors["license"] = ["Choix non valide"]
        if body.get("frequency") and body["frequency"] not in FREQUENCIES:
            errors["frequency"] = ["Choix non valide"]
        if errors:
            return self._reply(400, {"errors": errors, "message": "Validation error"})
        if dataset is None:
            dataset = {"id": uuid.uuid4().hex[:24], "resources": [], "extras": {}}
            self.portal.datasets[dataset["id"]] = dataset
        extras = {**dataset.get("extras", {}), **body.pop("extras", {})}
        dataset.update({k: v for k, v in body.items() if k != "resources"}, extras=extras)
        self._reply(201 if len(dataset) and self.command == "POST" else 200, dataset)

    def _upload(self, dataset: dict[str, Any], rid: str | None) -> None:
        found = self._file()
        if found is None:
            return self._reply(400, {"message": "Missing file parameter"})
        filename, content = found
        extension = filename.rsplit(".", 1)[-1].lower()
        if extension not in EXTENSIONS:
            return self._reply(400, {"message": "This file type is not allowed.The allowed file "
                                                "type list is available at /api/1/datasets/extensions/"})
        infos = {"url": f"{self.portal.base}/fichiers/{uuid.uuid4().hex}/{filename}",
                 "filesize": len(content), "filetype": "file", "format": extension,
                 "mime": MIMES.get(extension, "application/octet-stream"),
                 "checksum": {"type": "sha1", "value": hashlib.sha1(content).hexdigest()}}
        if rid is None:
            resource = {"id": str(uuid.uuid4()), "title": filename, "type": "main", **infos}
            dataset["resources"].append(resource)
            return self._reply(201, resource)
        resource = next((r for r in dataset["resources"] if r["id"] == rid), None)
        if resource is None:
            return self._reply(404, {"message": "Resource not found"})
        resource.update(infos)
        self._reply(200, resource)

    def _create_remote(self, dataset: dict[str, Any], body: dict[str, Any]) -> None:
        if body.get("filetype") != "remote":
            return self._reply(400, {"message": "This endpoint only supports remote resources"})
        if not body.get("url") or not body.get("title"):
            return self._reply(400, {"errors": {"url": ["Ce champ est requis."]}})
        resource = {"id": str(uuid.uuid4()), **body,
                    "schema": {"name": None, "version": None, **(body.get("schema") or {})}}
        dataset["resources"].append(resource)
        self._reply(201, resource)

    def _update_resource(self, dataset: dict[str, Any], rid: str, body: dict[str, Any]) -> None:
        resource = next((r for r in dataset["resources"] if r["id"] == rid), None)
        if resource is None:
            return self._reply(404, {"message": "Resource not found"})
        allowed = {"title", "description", "type", "format", "mime", "schema"}
        if resource.get("filetype") == "remote":
            allowed |= {"url", "filesize", "checksum", "filetype"}
        resource.update({k: v for k, v in body.items() if k in allowed})
        if "schema" in body:
            resource["schema"] = {"name": None, "version": None, **(body["schema"] or {})}
        self._reply(200, resource)


def start(api_key: str) -> tuple[ThreadingHTTPServer, Portal]:
    portal = Portal(api_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    portal.base = f"http://127.0.0.1:{server.server_address[1]}"
    server.portal = portal  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, portal
