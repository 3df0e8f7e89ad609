"""State: a file as received, its bytes (or, when too large, its path and checksum) and
where it came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipelines.state.journal import Origin


@dataclass(frozen=True)
class Received:
    """A submission as received: its bytes, where it came from and when.

    ``received_at`` is when the pipeline read it (UTC); ``arrived_at`` the time its rows are
    published with (``date_reception``) when it is not that: the declared time of the
    invented samples. ``modified_at``: the file's own modification time, when it has one."""

    name: str
    content: bytes
    origin: Origin
    received_at: str
    organisation: str | None = None  # from the source (inbox sub-folder, configured URL, access)
    # A file over the size limit is not read into memory: it stays on disk, hashed.
    path: Path | None = None
    digest: str | None = None
    size: int | None = None
    arrived_at: str | None = None
    modified_at: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.origin, str):  # an origin in its JSON form (tests, tools)
            object.__setattr__(self, "origin", Origin.from_json(self.origin))

    @property
    def sha256(self) -> str:
        return self.digest or hashlib.sha256(self.content).hexdigest()

    @property
    def byte_count(self) -> int:
        return self.size if self.size is not None else len(self.content)


def receive_file(
    path: Path,
    origin: Origin,
    received_at: str,
    organisation: str | None,
    max_bytes: int,
    arrived_at: str | None = None,
    modified_at: str | None = None,
) -> Received:
    """A file of an inbox, read into memory only if it is within the size limit."""
    size = path.stat().st_size
    if size <= max_bytes:
        return Received(
            path.name,
            path.read_bytes(),
            origin,
            received_at,
            organisation,
            arrived_at=arrived_at,
            modified_at=modified_at,
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
        modified_at=modified_at,
    )
