"""Publish stage: versions of a dataset. ``rule`` (what level a change is), ``log`` (the
version log and the changelog), ``commit`` (staging, rename, ``latest``, recovery), ``diff``
and ``table_diff`` (row differences between versions). The names a caller uses are
re-exported here, so that ``from publish import versioning as v`` reads ``v.bump``,
``v.read_log``, ``v.commit_version``."""

from publish.versioning.commit import commit_version, point_latest, recover, stage_files, write_log
from publish.versioning.log import (
    CHANGELOG_FILE,
    LATEST,
    STAGING_DIR,
    VERSIONS_FILE,
    VersionLog,
    read_log,
    read_schemas,
    read_version,
    read_versions,
    render_changelog,
    render_versions,
    version_is_sample,
)
from publish.versioning.rule import (
    VERSION_PATTERN,
    Change,
    Level,
    TableChanges,
    TableDiff,
    bump,
    classify_change,
    diff_table,
    fingerprint,
    row_key,
    version_tuple,
)

__all__ = [
    "CHANGELOG_FILE",
    "LATEST",
    "STAGING_DIR",
    "VERSIONS_FILE",
    "VERSION_PATTERN",
    "Change",
    "Level",
    "TableChanges",
    "TableDiff",
    "VersionLog",
    "bump",
    "classify_change",
    "commit_version",
    "diff_table",
    "fingerprint",
    "point_latest",
    "read_log",
    "read_schemas",
    "read_version",
    "read_versions",
    "recover",
    "render_changelog",
    "render_versions",
    "row_key",
    "stage_files",
    "version_is_sample",
    "version_tuple",
    "write_log",
]
