"""Nothing lost: every received file archived with its report, rejected files change nothing
published, accepted ones merged (later replaces earlier), the dataset rebuilt from the archive."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from pipelines.core.config import DatasetConfig
from pipelines.gather.submissions.inbox import inbox_files
from pipelines.state.archive import SubmissionArchive
from tests.helpers.campaign import HEADER, Pipeline


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its sha256 (symbolic links by target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[key] = "->" + str(path.readlink())
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def pipeline(tmp_path: Path, progress_config: DatasetConfig) -> Pipeline:
    return Pipeline(tmp_path, progress_config)


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"\0" * (60 * 2**20))
    return buffer.getvalue()


BAD_FILES: dict[str, bytes] = {
    "ditp/vide.csv": b"",
    "ditp/entete-seule.csv": HEADER.encode(),
    "ditp/image.csv": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "ditp/pas-un-zip.xlsx": b"ceci n'est pas un classeur",
    "ditp/bombe.xlsx": _zip_bomb(),
    "ditp/enorme.csv": (HEADER + "E1-A1-01,2022-12-31,limite,20,,\n" * 400_000).encode(),
    "ditp/doublons.csv": (HEADER + "E1-A1-01,2022-12-31,limite,20,,\n" * 2).encode(),
    "ditp/colonne-manquante.csv": b"id_action,date_rapport\nE1-A1-01,2022-12-31\n",
    "ditp/colonne-inconnue.csv": (HEADER.strip() + ",budget\nE1-A1-01,2022-12-31,limite,20,,,5\n").encode(),
    "ditp/formule.csv": (HEADER + "E1-A1-01,2022-12-31,limite,20,=1+1,\n").encode(),
}


def test_bad_files_change_nothing_published_and_are_all_archived(pipeline: Pipeline) -> None:
    pipeline.drop("ditp/rapport.csv", HEADER + "E1-A1-01,2022-12-31,limite,20,,\n")
    first = pipeline.collect()
    assert [r.file_name for r in first.accepted] == ["rapport.csv"]
    assert pipeline.publish().published
    before = tree(pipeline.out)

    for relative, content in BAD_FILES.items():
        pipeline.drop(relative, content)
    summary = pipeline.collect()
    assert sorted(r.file_name for r in summary.rejected) == sorted(Path(p).name for p in BAD_FILES)
    assert summary.accepted == [] and summary.unchanged == 1
    result = pipeline.publish()
    assert not result.published and result.version == "1.0.0"
    assert tree(pipeline.out) == before

    receptions = {r.sha256: r for r in pipeline.archive.receptions()}
    layout = pipeline.archive.layout
    for relative, content in BAD_FILES.items():
        reception = receptions[hashlib.sha256(content).hexdigest()]
        originals = list(layout.submission(reception.sha256).glob("original.*"))
        assert len(originals) == 1 and originals[0].read_bytes() == content, relative
        report = pipeline.archive.report(reception)
        assert report["verdict"] == "rejete" and report["erreurs"], relative
        assert layout.report(reception, "html").exists() and layout.report(reception, "md").exists()
        assert not layout.rows(reception.sha256).exists()
    origins = [r.origin.to_json() for r in pipeline.archive.receptions()]
    assert sorted(origins) == sorted(["depot:ditp/rapport.csv", *(f"depot:{p}" for p in BAD_FILES)])


def test_a_later_report_of_the_same_action_and_date_replaces_the_earlier_both_archived(
    pipeline: Pipeline,
) -> None:
    pipeline.drop(
        "ditp/juin.csv", HEADER + "E1-A1-01,2022-06-30,limite,20,,\nE1-A1-02,2022-06-30,limite,10,,\n"
    )
    pipeline.collect()
    assert pipeline.publish().version == "1.0.0"
    pipeline.drop("ditp/juin-corrige.csv", HEADER + "E1-A1-01,2022-06-30,substantiel,55,Chiffre corrigé,\n")
    summary = pipeline.collect()
    assert [r.file_name for r in summary.accepted] == ["juin-corrige.csv"]
    result = pipeline.publish()
    assert result.published and result.version == "1.0.1"  # a row changed: PATCH
    rows = {(r["id_action"], r["date_rapport"]): r for r in pipeline.published_rows()}
    assert rows[("E1-A1-01", "2022-06-30")]["statut"] == "substantiel"
    assert rows[("E1-A1-02", "2022-06-30")]["statut"] == "limite"
    assert rows[("E1-A1-01", "2022-06-30")]["id_organisation"] == "ditp"
    assert len(list((pipeline.archive.root / "soumissions").iterdir())) == 2


def test_the_published_dataset_is_rebuilt_from_the_archive_alone(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pipeline.drop("ditp/rapport.csv", HEADER + "E1-A1-01,2022-12-31,limite,20,Été « chargé »,\n")
    pipeline.drop(
        "meae/rapport.csv", HEADER + "E6-A1-01,2022-12-31,complet,100,,https://www.diplomatie.gouv.fr/\n"
    )
    pipeline.collect()
    pipeline.publish()
    before = tree(pipeline.out)
    for path in sorted(pipeline.out.rglob("*"), reverse=True):  # rm -rf site/
        path.unlink() if path.is_file() or path.is_symlink() else path.rmdir()
    summary = pipeline.collect()
    assert summary.unchanged == 2 and not summary.accepted  # nothing re-received
    pipeline.publish()
    assert tree(pipeline.out) == before


def test_the_same_file_received_again_is_not_validated_twice(pipeline: Pipeline) -> None:
    pipeline.drop("ditp/rapport.csv", HEADER + "E1-A1-01,2022-12-31,limite,20,,\n")
    assert len(pipeline.collect().accepted) == 1
    again = pipeline.collect()
    assert (again.accepted, again.rejected, again.unchanged) == ([], [], 1)
    assert len(pipeline.archive.journal.entries()) == 1


def test_inbox_skips_lock_and_system_files_and_reads_the_body_from_the_folder(tmp_path: Path) -> None:
    for name in (
        "ditp/rapport.xlsx",
        "ditp/~$rapport.xlsx",
        ".DS_Store",
        "LISEZMOI.md",
        "sans-dossier.csv",
        "dinum/.cache/x.csv",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [(f.relative, f.organisation) for f in inbox_files(tmp_path).files]
    assert sorted(found) == [("ditp/rapport.xlsx", "ditp"), ("sans-dossier.csv", None)]


def test_an_archived_file_keeps_only_a_safe_suffix_of_a_hostile_name(tmp_path: Path) -> None:
    from pipelines.state.received import Received

    archive = SubmissionArchive(tmp_path / "var")
    stored = archive.store(Received("../../etc/passwd;rm -rf.csv", b"abc", "test", "t"))
    assert stored.parent.parent == tmp_path / "var" / "soumissions"
    assert stored.name == "original.csv"
