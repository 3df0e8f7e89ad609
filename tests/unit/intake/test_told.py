"""A collection told in French lines (the log of a scheduled run): counts, each rejected
file with its report, the warnings of accepted files, the encoding among them."""

from __future__ import annotations

from pathlib import Path

from pipelines.core.config import DatasetConfig
from pipelines.core.problems import Severity
from pipelines.intake.told import collection_lines, report_lines
from pipelines.validate.report import where_of
from tests.conftest import PROGRESS_SLUG
from tests.helpers.campaign import HEADER, Pipeline, drop


def test_a_collection_says_what_a_steward_acts_on(tmp_path: Path, progress_config: DatasetConfig) -> None:
    pipeline = Pipeline(tmp_path, progress_config)
    drop(pipeline, "ditp/bon.csv", HEADER + "E1-A1-01,2022-12-31,limite,20,,\n", "2023-07-01")
    # Windows-1252 (« Réunion »), accepted with a warning on its encoding.
    drop(
        pipeline,
        "ditp/excel.csv",
        (HEADER + "E1-A1-02,2022-12-31,limite,20,Réunion tenue,\n").encode("cp1252"),
        "2023-07-02",
    )
    drop(pipeline, "ditp/mauvais.csv", HEADER + "E1-A1-01,2023-03-31,fini,200,,\n", "2023-07-03")
    summary = pipeline.collect()
    lines = collection_lines(PROGRESS_SLUG, summary)
    assert lines[0].startswith(f"{PROGRESS_SLUG} : 3 fichier(s) reçu(s) : 2 accepté(s), 1 rejeté(s)")
    (rejected,) = [line for line in lines if line.startswith("Rejeté : ")]
    assert str(pipeline.inbox / "ditp" / "mauvais.csv") in rejected and "REJETÉ" in rejected
    report = summary.report_path(summary.rejected[0])
    assert report is not None and report.is_file() and f"rapport : {report}" in rejected
    (warnings,) = [line for line in lines if line.startswith("Avertissements (")]
    assert "excel.csv" in warnings and "Windows-1252" in warnings
    assert not any(line.startswith("Source illisible") for line in lines)
    # An unchanged rerun says so.
    again = collection_lines(PROGRESS_SLUG, pipeline.collect())
    assert again[0].startswith(f"{PROGRESS_SLUG} : 0 fichier(s) reçu(s)") and "3 déjà reçu(s)" in again[0]


def test_a_file_validated_on_demand_gives_its_verdict_and_errors(
    tmp_path: Path, progress_config: DatasetConfig
) -> None:
    pipeline = Pipeline(tmp_path, progress_config)
    drop(pipeline, "ditp/mauvais.csv", HEADER + "E1-A1-01,2023-03-31,fini,200,,\n", "2023-07-03")
    (report,) = pipeline.collect().rejected
    lines = report_lines(report)
    assert lines[0] == f"mauvais.csv : {report.verdict}"
    errors = report.of(Severity.ERROR)
    assert len(errors) == 2  # the status and the percentage
    assert [line for line in lines if line.startswith("Erreur : ")] == [
        f"Erreur : {where_of(p)} : {p.message}" for p in errors
    ]
