"""State stage: a file as received, its bytes (or, when too large, its path and checksum) and
what a report must say of its origin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Received:
    """A submission as received: its bytes and what the report says of its origin."""

    name: str
    content: bytes
    origin: str
    received_at: str
    organisation: str | None = None  # from the source (inbox sub-folder, configured URL)
    # A file over the size limit is not read into memory: it stays on disk, hashed.
    path: Path | None = None
    digest: str | None = None
    size: int | None = None
    # When the body delivered it (UTC): its modification time in the inbox, the fetch time
    # over HTTP. The merge order of reports; ``received_at`` is when this run read it.
    arrived_at: str | None = None

    @property
    def sha256(self) -> str:
        return self.digest or hashlib.sha256(self.content).hexdigest()

    @property
    def byte_count(self) -> int:
        return self.size if self.size is not None else len(self.content)


def receive_file(
    path: Path,
    origin: str,
    received_at: str,
    organisation: str | None,
    max_bytes: int,
    arrived_at: str | None = None,
) -> Received:
    """A file of an inbox, read into memory only if it is within the size limit."""
    size = path.stat().st_size
    if size <= max_bytes:
        return Received(
            path.name, path.read_bytes(), origin, received_at, organisation, arrived_at=arrived_at
        )
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return Received(
        path.name,
        b"",
        origin,
        received_at,
        organisation,
        path=path,
        digest=digest.hexdigest(),
        size=size,
        arrived_at=arrived_at,
    )
