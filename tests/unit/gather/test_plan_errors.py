"""A changed, missing or restructured source is a clear error, never a silently wrong plan."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.core.config import DatasetConfig
from pipelines.core.errors import ParseError, SourceChanged, SourceUnavailable
from pipelines.gather.plan.document import parse_plan_document
from pipelines.gather.plan.organisations import OrganisationReference
from pipelines.gather.plan.records import load_heading_variants
from pipelines.gather.snapshot import decode_text, fetch_snapshot


@pytest.fixture(scope="module")
def document(plan_config: DatasetConfig) -> str:
    return plan_config.resolve(plan_config.source.path).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reference(plan_config: DatasetConfig) -> OrganisationReference:
    return OrganisationReference.load(plan_config.resolve(plan_config.reference.organisations))


def test_snapshot_checksum_is_verified(plan_config: DatasetConfig, tmp_path: Path) -> None:
    copy = tmp_path / "plan.txt"
    shutil.copy(plan_config.resolve(plan_config.source.path), copy)
    assert fetch_snapshot(copy, plan_config.source.sha256).sha256 == plan_config.source.sha256
    copy.write_bytes(copy.read_bytes().replace(b"58", b"59", 1) + b"\n")
    with pytest.raises(SourceChanged) as caught:
        fetch_snapshot(copy, plan_config.source.sha256)
    assert caught.value.context["expected"] == plan_config.source.sha256
    assert "dataset.yaml" in caught.value.hint


def test_missing_snapshot(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="introuvable"):
        fetch_snapshot(tmp_path / "absent.txt", "0" * 64)


def test_non_utf8_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Ministère".encode("latin-1"))
    import hashlib

    snapshot = fetch_snapshot(path, hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(SourceChanged, match="UTF-8"):
        decode_text(snapshot)


def test_unknown_body_among_responsibles(
    document: str, reference: OrganisationReference, plan_config: DatasetConfig
) -> None:
    changed = document.replace(
        "Ministère de la justice\nCour de Cassation\nConseil d'Etat",
        "Ministère de la justice\nCour de Cassation\nConseil d'Etat\nAgence imaginaire des données",
    )
    with pytest.raises(ParseError) as caught:
        parse_plan_document(changed, reference.is_known, load_heading_variants(plan_config))
    assert "Agence imaginaire des données" in caught.value.message
    assert "organisations.yaml" in caught.value.hint
    # The line is an attribute: the line of the document where the unknown body stands.
    lines = changed.splitlines()
    assert caught.value.line is not None and lines[caught.value.line - 1] == "Agence imaginaire des données"


def test_a_parse_error_of_the_plan_names_the_file(
    document: str, plan_config: DatasetConfig, tmp_path
) -> None:  # noqa: ANN001
    import hashlib
    import shutil

    from pipelines.gather.plan.records import gather_plan_records

    folder = tmp_path / plan_config.directory.name
    shutil.copytree(plan_config.directory, folder)
    source = folder / plan_config.source.path
    changed = document.replace(
        "Ministère de la justice\nCour de Cassation\nConseil d'Etat",
        "Ministère de la justice\nCour de Cassation\nConseil d'Etat\nAgence imaginaire",
    )
    source.write_text(changed, encoding="utf-8")
    config = plan_config.model_copy(
        update={
            "directory": folder,
            "source": plan_config.source.model_copy(
                update={"sha256": hashlib.sha256(source.read_bytes()).hexdigest()}
            ),
        }
    )
    with pytest.raises(ParseError) as caught:
        gather_plan_records(config)
    assert caught.value.path == source and changed.splitlines()[caught.value.line - 1] == "Agence imaginaire"


def test_unknown_sole_responsible_is_not_glued_to_the_next_action(
    document: str, reference: OrganisationReference, plan_config: DatasetConfig
) -> None:
    marker = "Responsable de l'exécution :\n\nMinistère de la mer\n"
    assert marker in document
    changed = document.replace(marker, marker.replace("Ministère de la mer", "Secrétariat d'État inconnu"))
    with pytest.raises(ParseError) as caught:
        parse_plan_document(changed, reference.is_known, load_heading_variants(plan_config))
    assert "sans responsable" in caught.value.message
    assert "Secrétariat d'État inconnu" in caught.value.message


def test_undeclared_heading_variant(document: str, reference: OrganisationReference) -> None:
    with pytest.raises(ParseError) as caught:
        parse_plan_document(document, reference.is_known, {})
    assert "Pour une diplomatie au service de la transparence" in caught.value.message
    assert "variantes-ambitions.yaml" in caught.value.hint


def test_not_the_plan_document(reference: OrganisationReference) -> None:
    with pytest.raises(ParseError, match="sommaire"):
        parse_plan_document("Bonjour\n\nCeci n'est pas un plan.\n", reference.is_known, {})
