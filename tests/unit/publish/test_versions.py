"""The version rule on hand-made pairs of builds, one case per row."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from publish.versioning import Level, bump, classify_change

SCHEMA = {
    "name": "t",
    "fields": [
        {"name": "id", "type": "string", "constraints": {"required": True}},
        {"name": "n", "type": "integer", "constraints": {"minimum": 0}},
    ],
    "primaryKey": ["id"],
}
ROWS = [{"id": "a", "n": 1}, {"id": "b", "n": 2}]


def with_field(**changes):
    schema = copy.deepcopy(SCHEMA)
    for key, value in changes.items():
        if key == "add":
            schema["fields"].append(value)
        elif key == "drop":
            schema["fields"] = [f for f in schema["fields"] if f["name"] != value]
        elif key == "n":
            schema["fields"][1] = {**schema["fields"][1], **value}
        elif key == "primaryKey":
            schema["primaryKey"] = value
        elif key == "description":
            schema["description"] = value
    return schema


CASES = [
    ("unchanged", ROWS, SCHEMA, Level.NONE),
    ("row changed", [{"id": "a", "n": 1}, {"id": "b", "n": 3}], SCHEMA, Level.PATCH),
    ("row removed", ROWS[:1], SCHEMA, Level.PATCH),
    ("row added", [*ROWS, {"id": "c", "n": 0}], SCHEMA, Level.MINOR),
    ("added and removed", [ROWS[0], {"id": "c", "n": 0}], SCHEMA, Level.MINOR),
    ("optional field added", ROWS, with_field(add={"name": "x", "type": "string"}), Level.MINOR),
    (
        "required field added",
        ROWS,
        with_field(add={"name": "x", "type": "string", "constraints": {"required": True}}),
        Level.MAJOR,
    ),
    ("field removed", [{"id": "a"}, {"id": "b"}], with_field(drop="n"), Level.MAJOR),
    ("field retyped", ROWS, with_field(n={"type": "number"}), Level.MAJOR),
    ("constraint narrowed", ROWS, with_field(n={"constraints": {"minimum": 1}}), Level.MAJOR),
    ("constraint added", ROWS, with_field(n={"constraints": {"minimum": 0, "maximum": 9}}), Level.MAJOR),
    ("constraint relaxed", ROWS, with_field(n={"constraints": {}}), Level.MINOR),
    ("primary key changed", ROWS, with_field(primaryKey=["id", "n"]), Level.MAJOR),
    ("documentation only", ROWS, with_field(description="Nouvelle description"), Level.PATCH),
]


@pytest.mark.parametrize(("case", "rows", "schema", "level"), CASES, ids=[c[0] for c in CASES])
def test_version_level(case: str, rows, schema, level: Level) -> None:
    change = classify_change({"t": ROWS}, {"t": rows}, {"t": SCHEMA}, {"t": schema})
    assert change.level == level, change.reasons


def test_row_counts_by_primary_key() -> None:
    change = classify_change(
        {"t": ROWS}, {"t": [{"id": "a", "n": 5}, {"id": "c", "n": 0}]}, {"t": SCHEMA}, {"t": SCHEMA}
    )
    counts = change.tables["t"]
    assert (counts.added, counts.changed, counts.removed) == (1, 1, 1)


def test_table_removed_is_major() -> None:
    change = classify_change({"t": ROWS, "u": []}, {"t": ROWS}, {"t": SCHEMA, "u": SCHEMA}, {"t": SCHEMA})
    assert change.level == Level.MAJOR


@pytest.mark.parametrize(
    ("current", "level", "expected"),
    [
        (None, Level.MAJOR, "1.0.0"),
        ("1.2.3", Level.PATCH, "1.2.4"),
        ("1.2.3", Level.MINOR, "1.3.0"),
        ("1.2.3", Level.MAJOR, "2.0.0"),
    ],
)
def test_bump(current, level, expected) -> None:
    assert bump(current, level) == expected


def test_reasons_follow_the_schema_and_table_order_whatever_the_hash_seed() -> None:
    """Reasons go into versions.json: their order must not come from a set (string hashes
    change with each process)."""
    added = copy.deepcopy(SCHEMA)
    names = ["zeta", "alpha", "mu", "beta", "omega", "kappa"]
    added["fields"] += [{"name": n, "type": "string"} for n in names]
    change = classify_change(
        {"t": ROWS, "u": [], "v": []}, {"t": ROWS}, {"t": SCHEMA, "v": SCHEMA, "u": SCHEMA}, {"t": added}
    )
    assert change.reasons == [
        "table u supprimée",
        "table v supprimée",
        *(f"t: champ facultatif {n} ajouté" for n in names),
    ]


def test_a_version_log_reads_and_writes_back_byte_for_byte(tmp_path: Path) -> None:
    """versions.json has one reader and one writer (typed records): a log written by earlier
    versions (no format, no sample mark, a rollback without a reason) reads and is written
    back with the same bytes; the records carry what the log says."""
    from publish.versioning.log import VERSIONS_FILE, read_log, render_versions

    document = {
        "dataset": "suivi-plan-action-pgo-2021-2023",
        "latest": "1.0.0",
        "versions": [
            {
                "version": "1.0.0",
                "date": "2023-01-16",
                "fingerprint": "a" * 64,
                "level": "major",
                "reasons": ["première publication"],
                "tables": {"suivi": {"added": 3, "changed": 0, "removed": 0}},
            },
            {
                "version": "1.1.0",
                "date": "2023-02-01",
                "fingerprint": "b" * 64,
                "inputs": "c" * 64,
                "exemple": False,
                "format": 2,
                "level": "minor",
                "reasons": ["suivi: 1 ligne(s) ajoutée(s)"],
                "tables": {"suivi": {"added": 1, "changed": 0, "removed": 0}},
            },
        ],
        "rollbacks": [
            {"date": "2023-02-02", "from": "1.1.0", "to": "1.0.0"},
            {"date": "2023-02-03", "from": "1.0.0", "to": "1.0.0", "reason": "essai"},
        ],
    }
    written = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    (tmp_path / VERSIONS_FILE).write_bytes(written)
    log = read_log(tmp_path)
    assert render_versions("suivi-plan-action-pgo-2021-2023", log) == written
    first, second = log.versions
    assert (first.sample, first.format, first.inputs) == (None, None, None)
    assert (second.sample, second.format, second.tables["suivi"].added) == (False, 2, 1)
    assert [(r.from_version, r.to_version, r.reason) for r in log.rollbacks] == [
        ("1.1.0", "1.0.0", ""),
        ("1.0.0", "1.0.0", "essai"),
    ]
    assert [e.version for e in log.withdrawn()] == ["1.1.0"]
