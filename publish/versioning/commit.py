"""Publish stage: the atomic commit of a version.

A version is written to a staging folder beside the dataset, checked, then made visible
by one ``rename``; ``latest`` is a symbolic link switched by an atomic ``replace``. A crash at
any point leaves the previous version served and no partial one visible; ``recover``
finishes or discards what an interrupted run left."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.core.errors import PublishError
from pipelines.io import failpoints
from pipelines.io.atomic import write_atomically
from publish.versioning.log import (
    CHANGELOG_FILE,
    LATEST,
    VERSIONS_FILE,
    VersionLog,
    read_log,
    render_changelog,
    render_versions,
)
from publish.versioning.rule import VERSION_PATTERN


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
    listed = {e.version for e in log.versions}
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
            f"La version {version} existe déjà dans {dataset_dir} : une version publiée est immuable.",
            hint="Vérifiez versions.json : il doit lister chaque dossier de version.",
        )
    dataset_dir.mkdir(parents=True, exist_ok=True)
    os.rename(staging, target)
    failpoints.reached("commit")
    return target


def write_log(dataset_dir: Path, slug: str, title: str, log: VersionLog) -> None:
    """Commits ``log``: ``versions.json`` (the commit record) first, then the changelog and
    ``latest``, which a crash in between leaves for ``recover`` to bring in line."""
    write_atomically(dataset_dir / VERSIONS_FILE, render_versions(slug, log))
    write_atomically(dataset_dir / CHANGELOG_FILE, render_changelog(title, log))
    if log.served is not None:
        point_latest(dataset_dir, log.served)
