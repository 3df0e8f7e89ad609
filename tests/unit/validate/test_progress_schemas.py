"""The submission contract and the published progress table describe the same columns."""

from __future__ import annotations

import frictionless

from pipelines.core.config import Settings
from pipelines.core.schema import load_schema


def test_published_suivi_is_the_submission_format_plus_the_reporting_body_and_provenance(
    settings: Settings,
) -> None:
    submission = load_schema(settings.schemas_dir, "soumission")
    published = load_schema(settings.schemas_dir, "suivi")

    # The same fields and rules; the descriptions differ, and the submission format's ``x-``
    # keys talk to the bodies (how to fill a cell, what to do about it, what it identifies).
    def rules(fields: list[dict]) -> list[dict]:
        return [{k: v for k, v in f.items() if k != "description" and not k.startswith("x-")} for f in fields]

    assert rules(published["fields"][:-3]) == rules(submission["fields"])
    described = " ".join(f["description"] for f in published["fields"])
    assert "modèle" not in described and "tableur" not in described
    assert [f["name"] for f in published["fields"][-3:]] == [
        "id_organisation",
        "id_soumission",
        "date_reception",
    ]
    assert [f["type"] for f in published["fields"][-3:]] == ["string", "string", "datetime"]
    assert published["version"] == "1.1.1"  # two fields added (MINOR), then a description
    assert published["primaryKey"] == submission["primaryKey"] == ["id_action", "date_rapport"]
    statut = next(f for f in submission["fields"] if f["name"] == "statut")
    assert statut["constraints"]["enum"] == [
        "non_commence",
        "limite",
        "substantiel",
        "complet",
        "abandonne",
        "non_evalue",
    ]


def test_published_suivi_cibles_is_the_targets_format_plus_the_reporting_body_and_provenance(
    settings: Settings,
) -> None:
    submission = load_schema(settings.schemas_dir, "soumission-cibles")
    published = load_schema(settings.schemas_dir, "suivi_cibles")
    progress = load_schema(settings.schemas_dir, "suivi")

    def rules(fields: list[dict]) -> list[dict]:
        return [{k: v for k, v in f.items() if k != "description" and not k.startswith("x-")} for f in fields]

    assert rules(published["fields"][:-3]) == rules(submission["fields"])
    # The same provenance as the progress table, word for word apart from what is reported.
    assert rules(published["fields"][-3:]) == rules(progress["fields"][-3:])
    assert published["primaryKey"] == submission["primaryKey"] == ["id_cible", "date_rapport"]
    assert {fk["reference"]["resource"] for fk in published["foreignKeys"]} == {"cibles", "organisations"}
    targets = load_schema(settings.schemas_dir, "cibles")
    key = next(f for f in targets["fields"] if f["name"] == "id_cible")
    assert published["fields"][0]["constraints"]["pattern"] == key["constraints"]["pattern"]
    value = next(f for f in published["fields"] if f["name"] == "valeur_atteinte")
    assert value["type"] == "number" and value["constraints"] == {"required": True, "minimum": 0}


def test_both_schemas_are_valid_table_schemas_documented_in_french(settings: Settings) -> None:
    for name in ("soumission", "suivi", "soumission-cibles", "suivi_cibles"):
        schema = load_schema(settings.schemas_dir, name)
        descriptor = {k: v for k, v in schema.items() if k != "$schema"}
        assert frictionless.Schema.validate_descriptor(descriptor).valid, name
        for field in schema["fields"]:
            assert field["title"] and field["description"] and "example" in field, field["name"]
