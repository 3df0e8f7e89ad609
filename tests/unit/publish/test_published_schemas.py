"""The Table Schemas published at ``schemas/<table>.json`` stand alone: each validates its
table's CSV with ``frictionless validate --schema``, as schema.data.gouv.fr's CI runs it,
and the foreign keys they leave out are said in the fields' descriptions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipelines.core.config import Settings, load_catalog
from publish.catalog import KEYS_NOTE, schema_files
from tests.conftest import ROOT

FRICTIONLESS = Path(sys.executable).parent / "frictionless"


def test_every_foreign_key_is_said_in_the_description_of_its_fields(settings: Settings) -> None:
    keys = 0
    for path in sorted(settings.schemas_dir.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        fields = {f["name"]: f for f in schema["fields"]}
        for key in schema.get("foreignKeys", []):
            for name in key["fields"]:
                keys += 1
                assert f"table {key['reference']['resource']}" in fields[name]["description"], (path, name)
    assert keys == 23


def test_published_schemas_have_no_foreign_keys_and_say_where_they_are(settings: Settings) -> None:
    configs = load_catalog(settings.datasets_dir)
    files = schema_files(settings.schemas_dir, configs, "https://exemple.fr/")
    assert set(files) == {t for c in configs for t in c.tables}
    for table, content in files.items():
        published = json.loads(content)
        source = json.loads((settings.schemas_dir / f"{table}.json").read_text(encoding="utf-8"))
        assert "foreignKeys" not in published
        assert (KEYS_NOTE in published["description"]) == bool(source.get("foreignKeys")), table
        assert published["fields"] == source["fields"] and published["path"].endswith(f"/{table}.json")


def test_frictionless_validates_a_table_with_its_published_schema_alone(
    settings: Settings, tmp_path: Path
) -> None:
    """What fails with the keys in (« package is required for foreign keys ») passes without."""
    configs = load_catalog(settings.datasets_dir)
    schema = tmp_path / "ambitions.json"
    schema.write_bytes(schema_files(settings.schemas_dir, configs, "https://exemple.fr/")["ambitions"])
    data = tmp_path / "ambitions.csv"
    data.write_bytes((ROOT / "tests" / "golden" / "plan" / "ambitions.csv").read_bytes())

    def validate(schema_path: Path) -> dict:
        result = subprocess.run(
            # Relative paths, run where the files are (frictionless refuses absolute ones).
            [str(FRICTIONLESS), "validate", "--json", "--schema", schema_path.name, data.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return json.loads(result.stdout)

    assert validate(schema)["valid"] is True
    with_keys = tmp_path / "avec-cles.json"
    with_keys.write_text((settings.schemas_dir / "ambitions.json").read_text(encoding="utf-8"), "utf-8")
    report = validate(with_keys)
    assert report["valid"] is False
    assert "package is required" in json.dumps(report)


def test_every_schema_is_a_valid_table_schema_documented_field_by_field(settings: Settings) -> None:
    import frictionless

    names = sorted(p.stem for p in settings.schemas_dir.glob("*.json"))
    assert {"vue_actions", "vue_cibles", "soumissions"} <= set(names)
    for name in names:
        schema = json.loads((settings.schemas_dir / f"{name}.json").read_text(encoding="utf-8"))
        descriptor = {k: v for k, v in schema.items() if k != "$schema"}
        assert frictionless.Schema.validate_descriptor(descriptor).valid, name
        assert schema["title"] and schema["description"], name
        for field in schema["fields"]:
            assert field["title"] and field["description"] and "example" in field, (name, field["name"])
            if "categories" in field:  # every value of a closed list has its French label
                assert [c["value"] for c in field["categories"]] == field["constraints"]["enum"], (
                    name,
                    field,
                )
