"""Gather stage: reading a source snapshot kept in the repo, checked against its provenance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import SourceChanged, SourceUnavailable


@dataclass(frozen=True)
class Snapshot:
    """A source file's bytes and their sha256, which ``fetch_snapshot`` checked against the provenance."""

    path: Path
    content: bytes
    sha256: str


def fetch_snapshot(path: Path, expected_sha256: str) -> Snapshot:
    """Reads a snapshot and guarantees it is byte for byte the one whose provenance is recorded.

    A rebuild is decided by checksums, not timestamps: a file edited by hand, truncated or
    replaced must not be parsed as if it were the recorded source.
    """
    try:
        content = path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceUnavailable(
            f"Fichier source introuvable : {path}",
            hint="Restaurez le fichier depuis le dépôt (git checkout -- <fichier>).",
        ) from exc
    digest = hashlib.sha256(content).hexdigest()
    if digest != expected_sha256:
        raise SourceChanged(
            f"Le fichier source {path.name} a changé : son empreinte SHA-256 est {digest}, "
            f"la provenance enregistrée attend {expected_sha256}.",
            hint="Si la nouvelle version du document est voulue, vérifiez-la puis mettez à "
            "jour sha256 (et la date) dans dataset.yaml ; sinon restaurez le fichier.",
            path=str(path),
            actual=digest,
            expected=expected_sha256,
        )
    return Snapshot(path, content, digest)


def decode_text(snapshot: Snapshot) -> str:
    """The snapshot as text; the plan document is UTF-8 and nothing else is guessed."""
    try:
        return snapshot.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceChanged(
            f"Le fichier source {snapshot.path.name} n'est pas encodé en UTF-8 "
            f"(octet invalide à la position {exc.start}).",
            hint="Réenregistrez le document en UTF-8.",
        ) from exc
