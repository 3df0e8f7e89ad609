"""Publish stage: reading what is published: the version log (``versions.json``, the
commit record that ``commit.write_log`` rewrites), the changelog's text, and a published
version's schemas and rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.core.errors import PublishError
from pipelines.core.schema import TableSchema
from pipelines.state.samples import title_says_sample
from publish.versioning.rule import version_tuple

LATEST = "latest"
VERSIONS_FILE = "versions.json"
CHANGELOG_FILE = "CHANGELOG.md"
STAGING_DIR = ".staging"


@dataclass(frozen=True)
class TableCounts:
    """Rows of one table a version added, changed and removed (by primary key)."""

    added: int = 0
    changed: int = 0
    removed: int = 0

    def to_json(self) -> dict[str, int]:
        return {"added": self.added, "changed": self.changed, "removed": self.removed}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TableCounts:
        return cls(int(document["added"]), int(document["changed"]), int(document["removed"]))


@dataclass
class VersionEntry:
    """One published version in ``versions.json``: its number, publication date (UTC day),
    fingerprint of its files, the checksum of the inputs it was built from (``None``: built
    from submissions), whether it holds the samples (``None``: a dataset without them, or a
    log written before the mark), the writers' revision that made its files (``None``: before
    revisions were recorded), its level, reasons and row counts per table. One reader, one
    writer; the keys and their order are those ``versions.json`` has always had."""

    version: str
    date: str
    fingerprint: str
    level: str
    reasons: list[str]
    tables: dict[str, TableCounts]
    inputs: str | None = None
    sample: bool | None = None
    format: int | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "version": self.version,
            "date": self.date,
            "fingerprint": self.fingerprint,
        }
        if self.inputs:
            document["inputs"] = self.inputs
        if self.sample is not None:
            document["exemple"] = self.sample
        if self.format is not None:
            document["format"] = self.format
        document.update(
            {
                "level": self.level,
                "reasons": list(self.reasons),
                "tables": {name: counts.to_json() for name, counts in self.tables.items()},
            }
        )
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> VersionEntry:
        sample, revision = document.get("exemple"), document.get("format")
        return cls(
            version=str(document["version"]),
            date=str(document["date"]),
            fingerprint=str(document["fingerprint"]),
            level=str(document["level"]),
            reasons=[str(r) for r in document.get("reasons", [])],
            tables={name: TableCounts.from_json(c) for name, c in document.get("tables", {}).items()},
            inputs=document.get("inputs"),
            sample=bool(sample) if sample is not None else None,
            format=int(revision) if revision is not None else None,
        )


@dataclass(frozen=True)
class Rollback:
    """A rollback recorded in ``versions.json``: when, from which served version to which."""

    date: str
    from_version: str
    to_version: str
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        document = {"date": self.date, "from": self.from_version, "to": self.to_version}
        if self.reason:
            document["reason"] = self.reason
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Rollback:
        return cls(
            str(document["date"]), str(document["from"]), str(document["to"]), str(document.get("reason", ""))
        )


@dataclass
class VersionLog:
    """``versions.json``: every version in publication order, the one served, the rollbacks.

    ``served`` is what ``latest`` must point at: the last version published, or the
    target of the last rollback. Versions above it were withdrawn by a rollback.
    """

    versions: list[VersionEntry] = field(default_factory=list)
    served: str | None = None
    rollbacks: list[Rollback] = field(default_factory=list)

    def entry(self, version: str) -> VersionEntry | None:
        """The log entry of ``version``, or None if it was never published."""
        return next((e for e in self.versions if e.version == version), None)

    @property
    def served_entry(self) -> VersionEntry | None:
        return self.entry(self.served) if self.served else None

    @property
    def highest(self) -> str | None:
        """The highest version published, even if withdrawn: the next number follows it. None if none."""
        return max((e.version for e in self.versions), key=version_tuple, default=None)

    def withdrawn(self) -> list[VersionEntry]:
        """Entries of the versions above the served one, withdrawn by a rollback; empty if none is served."""
        if self.served is None:
            return []
        served = version_tuple(self.served)
        return [e for e in self.versions if version_tuple(e.version) > served]


def version_is_sample(dataset_dir: Path, entry: VersionEntry) -> bool:
    """Whether a published version was built from sample submissions: its log entry says so;
    logs written before the mark existed are read from the version's title."""
    if entry.sample is not None:
        return entry.sample
    descriptor = dataset_dir / entry.version / "datapackage.json"
    if not descriptor.is_file():
        return False
    return title_says_sample(str(json.loads(descriptor.read_text(encoding="utf-8")).get("title", "")))


def read_log(dataset_dir: Path) -> VersionLog:
    """The dataset's version log; empty if ``versions.json`` does not exist yet.

    A log that names no ``latest`` serves its last version. Raises ``PublishError`` if the file
    cannot be read as a version log."""
    path = dataset_dir / VERSIONS_FILE
    if not path.exists():
        return VersionLog()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        versions = [VersionEntry.from_json(e) for e in document["versions"]]
        served = document.get("latest") or (versions[-1].version if versions else None)
        rollbacks = [Rollback.from_json(r) for r in document.get("rollbacks", [])]
        return VersionLog(versions, served, rollbacks)
    except (json.JSONDecodeError, KeyError, TypeError, IndexError, ValueError) as exc:
        raise PublishError(
            f"Historique des versions illisible : {path} ({exc}).",
            hint="Restaurez versions.json depuis une sauvegarde ; aucune version n'a été modifiée.",
        ) from exc


def read_versions(dataset_dir: Path) -> list[VersionEntry]:
    """The dataset's published version entries in publication order (``read_log``)."""
    return read_log(dataset_dir).versions


def render_versions(slug: str, log: VersionLog) -> bytes:
    """``versions.json`` as written: slug, served version, entries and (if any) rollbacks, UTF-8 JSON."""
    document: dict[str, Any] = {
        "dataset": slug,
        "latest": log.served,
        "versions": [e.to_json() for e in log.versions],
    }
    if log.rollbacks:
        document["rollbacks"] = [r.to_json() for r in log.rollbacks]
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def render_changelog(title: str, log: VersionLog) -> bytes:
    """The version log in French, newest first, as reusers read it."""
    versions = log.versions
    lines = [f"# Historique des versions — {title}", ""]
    lines += [
        "Numérotation : MAJEURE quand un champ est supprimé, renommé ou change de type, "
        "qu'une contrainte se resserre ou que la clé primaire change ; MINEURE quand des "
        "lignes ou des champs facultatifs sont ajoutés ; CORRECTIVE quand des lignes sont "
        "modifiées ou supprimées.",
        "",
    ]
    if log.rollbacks:
        lines += [f"Version servie : {log.served} (retour arrière).", ""]
        lines += [
            f"- {r.date} : retour arrière de {r.from_version} vers {r.to_version}"
            + (f" — {r.reason}" if r.reason else "")
            for r in log.rollbacks
        ]
        lines.append("")
    withdrawn = {e.version for e in log.withdrawn()}
    for entry in reversed(versions):
        note = " (retirée par un retour arrière)" if entry.version in withdrawn else ""
        lines += [f"## {entry.version} — {entry.date}{note}", ""]
        lines += [f"- {reason}" for reason in entry.reasons] or ["- (aucun motif)"]
        lines += ["", "| Table | Ajoutées | Modifiées | Supprimées |", "|---|---:|---:|---:|"]
        for table, counts in sorted(entry.tables.items()):
            lines.append(f"| {table} | {counts.added} | {counts.changed} | {counts.removed} |")
        lines += ["", f"Empreinte : `{entry.fingerprint}`", ""]
    return "\n".join(lines).encode("utf-8")


def read_schemas(version_dir: Path) -> dict[str, TableSchema]:
    """The table schemas of a published version, from its datapackage.json."""
    descriptor = json.loads((version_dir / "datapackage.json").read_text(encoding="utf-8"))
    return {r["name"]: r["schema"] for r in descriptor["resources"] if "schema" in r}


def read_version(version_dir: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, TableSchema]]:
    """Rows (from the JSON files) and schemas (from datapackage.json) of a published version."""
    schemas = read_schemas(version_dir)
    rows = {name: json.loads((version_dir / f"{name}.json").read_text(encoding="utf-8")) for name in schemas}
    return rows, schemas
