"""Publish stage: version numbers, the atomic commit of a version, ``latest`` and the changelog.

A version is written to a staging folder beside the dataset, checked, then made visible
by one ``rename``; ``latest`` is a symbolic link switched by an atomic ``replace``; the
version log is rewritten through a temporary file and ``replace`` too. A crash at any
point therefore leaves the previous version served and no partial one visible.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from pipelines.core.config import SAMPLE_TITLE_PREFIX
from pipelines.core.errors import PublishError
from pipelines.io import failpoints
from pipelines.io.atomic import write_atomically

VERSION_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
LATEST = "latest"
VERSIONS_FILE = "versions.json"
CHANGELOG_FILE = "CHANGELOG.md"
STAGING_DIR = ".staging"


class Level(IntEnum):
    """How far a new version moves from the last one, ordered so that ``max`` keeps the strongest change."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3


@dataclass
class TableChanges:
    """How many rows of one table a version adds, changes and removes, by primary key."""

    added: int = 0
    changed: int = 0
    removed: int = 0


@dataclass
class Change:
    """What a new build changes against the latest version, and the level that follows."""

    level: Level
    reasons: list[str] = field(default_factory=list)
    tables: dict[str, TableChanges] = field(default_factory=dict)

    def raise_to(self, level: Level, reason: str) -> None:
        """Records ``reason`` and lifts the level to ``level`` if higher (a level never goes down)."""
        self.level = max(self.level, level)
        self.reasons.append(reason)


def fingerprint(digests: dict[str, str]) -> str:
    """sha256 over the sorted names and sha256 digests of a version's data and schema files."""
    lines = "".join(f"{name} {digest}\n" for name, digest in sorted(digests.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def bump(version: str | None, level: Level) -> str:
    """The version number after ``version`` for a change of ``level``; ``1.0.0`` when there is none yet.

    ``NONE`` bumps the patch like ``PATCH``. Raises ``PublishError`` if ``version`` is not x.y.z."""
    if version is None:
        return "1.0.0"
    match = VERSION_PATTERN.match(version)
    if match is None:
        raise PublishError(f"Numéro de version invalide dans l'historique : {version}")
    major, minor, patch = (int(g) for g in match.groups())
    if level == Level.MAJOR:
        return f"{major + 1}.0.0"
    if level == Level.MINOR:
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def primary_key(schema: dict[str, Any]) -> list[str]:
    """The fields rows are matched by: the primary key, or every field if there is none."""
    key = schema.get("primaryKey") or [f["name"] for f in schema["fields"]]
    return [key] if isinstance(key, str) else list(key)


def _compare_schema(table: str, old: dict[str, Any], new: dict[str, Any], change: Change) -> None:
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    for name, before in old_fields.items():
        after = new_fields.get(name)
        if after is None:
            change.raise_to(Level.MAJOR, f"{table}: champ {name} supprimé ou renommé")
        elif after.get("type") != before.get("type"):
            change.raise_to(Level.MAJOR, f"{table}: type du champ {name} modifié")
        elif after.get("constraints", {}) != before.get("constraints", {}):
            old_c, new_c = before.get("constraints", {}), after.get("constraints", {})
            # Relaxed only when constraints were dropped and none kept was altered.
            widened = set(new_c) <= set(old_c) and all(old_c[k] == new_c[k] for k in new_c)
            if widened:
                change.raise_to(Level.MINOR, f"{table}: contraintes du champ {name} assouplies")
            else:
                change.raise_to(Level.MAJOR, f"{table}: contraintes du champ {name} modifiées")
    for name in new_fields.keys() - old_fields.keys():
        if new_fields[name].get("constraints", {}).get("required"):
            change.raise_to(Level.MAJOR, f"{table}: champ obligatoire {name} ajouté")
        else:
            change.raise_to(Level.MINOR, f"{table}: champ facultatif {name} ajouté")
    if primary_key(old) != primary_key(new):
        change.raise_to(Level.MAJOR, f"{table}: clé primaire modifiée")


def row_key(row: dict[str, Any], key: list[str]) -> tuple[str, ...]:
    """A row's primary key as comparable text (JSON of each key value)."""
    return tuple(json.dumps(row.get(k), ensure_ascii=False) for k in key)


@dataclass
class TableDiff:
    """Row-level differences of one table between two versions, by primary key."""

    key: list[str]
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    # (old row, new row, {field: (old value, new value)}) for rows whose key is in both.
    changed: list[tuple[dict[str, Any], dict[str, Any], dict[str, tuple[Any, Any]]]] = field(
        default_factory=list)

    @property
    def counts(self) -> TableChanges:
        """The table's number of added, changed and removed rows."""
        return TableChanges(len(self.added), len(self.changed), len(self.removed))


def diff_table(old_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]], key: list[str]) -> TableDiff:
    """Rows added, removed and changed between two lists of one table's rows, matched by ``key``.

    Each list comes in key order; a changed row comes with the fields whose values differ."""
    before = {row_key(r, key): r for r in old_rows}
    after = {row_key(r, key): r for r in new_rows}
    diff = TableDiff(key)
    diff.added = [after[k] for k in sorted(after.keys() - before.keys())]
    diff.removed = [before[k] for k in sorted(before.keys() - after.keys())]
    for k in sorted(after.keys() & before.keys()):
        old, new = before[k], after[k]
        if old != new:
            fields = {f: (old.get(f), new.get(f)) for f in sorted(old.keys() | new.keys())
                      if old.get(f) != new.get(f)}
            diff.changed.append((old, new, fields))
    return diff


def classify_change(
    old_rows: dict[str, list[dict[str, Any]]],
    new_rows: dict[str, list[dict[str, Any]]],
    old_schemas: dict[str, dict[str, Any]],
    new_schemas: dict[str, dict[str, Any]],
    *,
    counts: Callable[[str, list[str]], TableChanges] | None = None,
) -> Change:
    """The semantic-versioning level of a new build, table by table, by primary key.

    Rows changed or removed: PATCH. Rows added, optional fields added, constraints
    relaxed: MINOR. A field removed, renamed or retyped, a constraint narrowed or a
    primary key changed: MAJOR. Metadata-only changes (titles, descriptions): PATCH.
    Rows are counted by ``counts(table, key)`` when given (large tables, on Arrow
    columns), else by ``diff_table`` on ``old_rows`` and ``new_rows``.
    """
    count = counts or (lambda table, key: diff_table(old_rows[table], new_rows[table], key).counts)
    change = Change(Level.NONE)
    for table in old_schemas.keys() - new_schemas.keys():
        change.raise_to(Level.MAJOR, f"table {table} supprimée")
    for table in sorted(new_schemas):
        new_schema = new_schemas[table]
        if table not in old_schemas:
            change.raise_to(Level.MINOR, f"table {table} ajoutée")
            change.tables[table] = (TableChanges(added=len(new_rows[table])) if counts is None
                                    else counts(table, primary_key(new_schema)))
            continue
        old_schema = old_schemas[table]
        _compare_schema(table, old_schema, new_schema, change)
        if change.level < Level.PATCH and old_schema != new_schema:
            change.raise_to(Level.PATCH, f"{table}: documentation du schéma modifiée")
        found = count(table, primary_key(new_schema))
        change.tables[table] = found
        if found.added:
            change.raise_to(Level.MINOR, f"{table}: {found.added} ligne(s) ajoutée(s)")
        if found.changed:
            change.raise_to(Level.PATCH, f"{table}: {found.changed} ligne(s) modifiée(s)")
        if found.removed:
            change.raise_to(Level.PATCH, f"{table}: {found.removed} ligne(s) supprimée(s)")
    return change


def version_tuple(version: str) -> tuple[int, int, int]:
    """A version number as integers, so that versions compare numerically.

    Raises ``PublishError`` if it is not x.y.z."""
    match = VERSION_PATTERN.match(version)
    if match is None:
        raise PublishError(f"Numéro de version invalide dans l'historique : {version}")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


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
    return str(json.loads(descriptor.read_text(encoding="utf-8")).get("title", "")).startswith(
        SAMPLE_TITLE_PREFIX)


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


def point_latest(dataset_dir: Path, version: str) -> None:
    """Switches ``latest`` to ``version`` in one step (a relative symbolic link)."""
    temporary = dataset_dir / f".{LATEST}.tmp-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(version, target_is_directory=True)
    failpoints.reached("latest-temp")
    os.replace(temporary, dataset_dir / LATEST)
    failpoints.reached("latest")


def stage_files(staging: Path, files: dict[str, bytes], *, fresh: bool = True) -> None:
    """Writes a version's files to a staging folder (a fresh one unless told), each fsynced."""
    if fresh and staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True, exist_ok=True)
    for name, content in sorted(files.items()):
        with open(staging / name, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        failpoints.reached(f"stage:{name}")


def write_log(dataset_dir: Path, slug: str, title: str, log: VersionLog) -> None:
    """Commits ``log``: ``versions.json`` (the commit record) first, then the changelog and
    ``latest``, which a crash in between leaves for ``recover`` to bring in line."""
    write_atomically(dataset_dir / VERSIONS_FILE, render_versions(slug, log))
    write_atomically(dataset_dir / CHANGELOG_FILE, render_changelog(title, log))
    if log.served is not None:
        point_latest(dataset_dir, log.served)


def recover(dataset_dir: Path, staging_root: Path, slug: str, title: str) -> VersionLog:
    """Finishes or discards what an interrupted run left, before anything else is done.

    Called with the output's lock held, so nothing found here belongs to a live run:
    staging folders and temporary files are removed; a version folder no log lists (the
    run stopped between its rename and the log) was never announced and is removed;
    ``latest`` and ``CHANGELOG.md`` are brought in line with ``versions.json``, which is
    the commit record: a version is published once it is listed there.
    """
    if staging_root.is_dir():
        for leftover in staging_root.iterdir():
            if leftover.name.startswith((f"{slug}-", f"abandoned-{slug}-")):
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    if not dataset_dir.is_dir():
        return VersionLog()
    for leftover in dataset_dir.glob(".*.tmp-*"):
        leftover.unlink()
    log = read_log(dataset_dir)
    listed = {e["version"] for e in log.versions}
    for folder in dataset_dir.iterdir():
        if VERSION_PATTERN.match(folder.name) and folder.name not in listed and not folder.is_symlink():
            shutil.rmtree(folder)
    if log.served is not None:
        link = dataset_dir / LATEST
        if not link.is_symlink() or os.readlink(link) != log.served:
            point_latest(dataset_dir, log.served)
        changelog = render_changelog(title, log)
        path = dataset_dir / CHANGELOG_FILE
        if not path.exists() or path.read_bytes() != changelog:
            write_atomically(path, changelog)
    return log


def commit_version(staging: Path, dataset_dir: Path, version: str) -> Path:
    """Makes a checked staging folder the immutable folder of ``version``."""
    target = dataset_dir / version
    if target.exists():
        raise PublishError(
            f"La version {version} existe déjà dans {dataset_dir} : une version publiée est "
            "immuable.",
            hint="Vérifiez versions.json : il doit lister chaque dossier de version.",
        )
    dataset_dir.mkdir(parents=True, exist_ok=True)
    os.rename(staging, target)
    failpoints.reached("commit")
    return target


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
        lines += [f"Version servie : {log.served} (retour arrière)." , ""]
        lines += [f"- {r['date']} : retour arrière de {r['from']} vers {r['to']}"
                  + (f" — {r['reason']}" if r.get("reason") else "") for r in log.rollbacks]
        lines.append("")
    withdrawn = {e["version"] for e in log.withdrawn()}
    for entry in reversed(versions):
        note = " (retirée par un retour arrière)" if entry["version"] in withdrawn else ""
        lines += [f"## {entry['version']} — {entry['date']}{note}", ""]
        lines += [f"- {reason}" for reason in entry["reasons"]] or ["- (aucun motif)"]
        lines += ["", "| Table | Ajoutées | Modifiées | Supprimées |", "|---|---:|---:|---:|"]
        for table, counts in sorted(entry["tables"].items()):
            lines.append(
                f"| {table} | {counts['added']} | {counts['changed']} | {counts['removed']} |"
            )
        lines += ["", f"Empreinte : `{entry['fingerprint']}`", ""]
    return "\n".join(lines).encode("utf-8")
