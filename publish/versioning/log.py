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


@dataclass
class VersionLog:
    """``versions.json``: every version in publication order, the one served, the rollbacks.

    ``served`` is what ``latest`` must point at: the last version published, or the
    target of the last rollback. Versions above it were withdrawn by a rollback.
    """

    versions: list[dict[str, Any]] = field(default_factory=list)
    served: str | None = None
    rollbacks: list[dict[str, Any]] = field(default_factory=list)

    def entry(self, version: str) -> dict[str, Any] | None:
        """The log entry of ``version``, or None if it was never published."""
        return next((e for e in self.versions if e["version"] == version), None)

    @property
    def highest(self) -> str | None:
        """The highest version published, even if withdrawn: the next number follows it. None if none."""
        return max((e["version"] for e in self.versions), key=version_tuple, default=None)

    def withdrawn(self) -> list[dict[str, Any]]:
        """Entries of the versions above the served one, withdrawn by a rollback; empty if none is served."""
        if self.served is None:
            return []
        served = version_tuple(self.served)
        return [e for e in self.versions if version_tuple(e["version"]) > served]


def version_is_sample(dataset_dir: Path, entry: dict[str, Any]) -> bool:
    """Whether a published version was built from sample submissions: its log entry says so;
    logs written before the mark existed are read from the version's title."""
    if "exemple" in entry:
        return bool(entry["exemple"])
    descriptor = dataset_dir / entry["version"] / "datapackage.json"
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
        versions = list(document["versions"])
        served = document.get("latest") or (versions[-1]["version"] if versions else None)
        return VersionLog(versions, served, list(document.get("rollbacks", [])))
    except (json.JSONDecodeError, KeyError, TypeError, IndexError) as exc:
        raise PublishError(
            f"Historique des versions illisible : {path} ({exc}).",
            hint="Restaurez versions.json depuis une sauvegarde ; aucune version n'a été modifiée.",
        ) from exc


def read_versions(dataset_dir: Path) -> list[dict[str, Any]]:
    """The dataset's published version entries in publication order (``read_log``)."""
    return read_log(dataset_dir).versions


def render_versions(slug: str, log: VersionLog) -> bytes:
    """``versions.json`` as written: slug, served version, entries and (if any) rollbacks, UTF-8 JSON."""
    document: dict[str, Any] = {"dataset": slug, "latest": log.served, "versions": log.versions}
    if log.rollbacks:
        document["rollbacks"] = log.rollbacks
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
            f"- {r['date']} : retour arrière de {r['from']} vers {r['to']}"
            + (f" — {r['reason']}" if r.get("reason") else "")
            for r in log.rollbacks
        ]
        lines.append("")
    withdrawn = {e["version"] for e in log.withdrawn()}
    for entry in reversed(versions):
        note = " (retirée par un retour arrière)" if entry["version"] in withdrawn else ""
        lines += [f"## {entry['version']} — {entry['date']}{note}", ""]
        lines += [f"- {reason}" for reason in entry["reasons"]] or ["- (aucun motif)"]
        lines += ["", "| Table | Ajoutées | Modifiées | Supprimées |", "|---|---:|---:|---:|"]
        for table, counts in sorted(entry["tables"].items()):
            lines.append(f"| {table} | {counts['added']} | {counts['changed']} | {counts['removed']} |")
        lines += ["", f"Empreinte : `{entry['fingerprint']}`", ""]
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
