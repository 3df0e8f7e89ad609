"""The templates stewards send: what a body sees, and that a filled-in template comes back
accepted and identified."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.core.codes import PROGRESS, TARGETS, instructions_for
from pipelines.core.schema import TableSchema
from pipelines.core.vocabulary import all_labels, template_columns
from pipelines.gather.submissions.plan_facts import PlanFacts
from pipelines.gather.submissions.read import TARGETS_SHEET
from pipelines.gather.submissions.template import write_template
from tests.conftest import codes


def _template(tmp_path: Path, org: str, suffix: str = ".xlsx") -> Path:
    out = tmp_path / f"modele-{org}{suffix}"
    result = CliRunner().invoke(app, ["template", "--org", org, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_xlsx_template_has_one_locked_prefilled_row_per_action_of_the_body(
    tmp_path: Path, plan: PlanFacts
) -> None:
    workbook = load_workbook(_template(tmp_path, "ditp"))
    assert workbook.sheetnames[:2] == ["Instructions", "Suivi"]
    sheet = workbook["Suivi"]
    header = [c.value for c in sheet[1]]
    # French titles (the reader maps them back to the format's names).
    assert header == [
        "Action",
        "Titre de l'action",
        "Date du rapport",
        "Statut",
        "Avancement (%)",
        "Commentaire",
        "Lien vers une preuve",
    ]
    expected = sorted(plan.actions_of("ditp"))
    assert len(expected) == 7
    ids = [sheet.cell(r, 1).value for r in range(2, 2 + len(expected))]
    assert ids == expected
    assert sheet.cell(2, 2).value == plan.action_titles[expected[0]]
    assert sheet.protection.sheet
    assert sheet.cell(2, 1).protection.locked and sheet.cell(2, 2).protection.locked
    assert not sheet.cell(2, 3).protection.locked and not sheet.cell(2, 4).protection.locked
    assert not sheet.cell(2 + len(expected), 1).protection.locked  # free rows below


def test_xlsx_template_checks_input_as_it_is_typed(tmp_path: Path) -> None:
    sheet = load_workbook(_template(tmp_path, "ditp"))["Suivi"]
    checks = {str(v.sqref).split(":")[0][0]: v for v in sheet.data_validations.dataValidation}
    assert checks["D"].type == "list"
    assert checks["D"].formula1 == (
        '"Non commencée,Avancement limité,Avancement substantiel,Achevée,Abandonnée,Non évaluée"'
    )  # the labels people read
    assert all(v.showInputMessage and v.prompt for v in sheet.data_validations.dataValidation)
    free = next(v for v in sheet.data_validations.dataValidation if str(v.sqref).startswith("A"))
    assert free.type == "list" and "E1-A1-01" in free.formula1 and str(free.sqref).startswith("A9:")
    assert (checks["E"].type, checks["E"].formula1, checks["E"].formula2) == ("whole", "0", "100")
    assert checks["C"].type == "date" and checks["C"].formula2 == "TODAY()"
    assert checks["C"].formula1 == "DATE(2021,1,1)"


def test_xlsx_template_explains_itself_in_french_and_carries_a_hidden_marker(tmp_path: Path) -> None:
    workbook = load_workbook(_template(tmp_path, "meae"))
    text = " ".join(str(c.value) for row in workbook["Instructions"].iter_rows() for c in row if c.value)
    assert "Comment le remplir" in text and "Non commencée" in text and "preuve" in text
    assert "ogp" not in text  # no command line for the bodies
    marker = workbook["_modele"]
    assert marker.sheet_state == "veryHidden"
    assert [c.value for c in marker[1]][:2] == ["ogp-modele-suivi", "meae"]


def test_a_filled_template_is_accepted_and_identifies_its_body(tmp_path: Path, check: Callable) -> None:
    path = _template(tmp_path, "ditp")
    workbook = load_workbook(path)
    sheet = workbook["Suivi"]
    sheet["C2"], sheet["D2"], sheet["E2"] = dt.datetime(2022, 12, 31), "limite", 0.25
    sheet["E2"].number_format = "0%"  # a body that formats the column as a percentage
    buffer = io.BytesIO()
    workbook.save(buffer)
    validated = check(buffer.getvalue(), name="retour.xlsx", org=None)
    assert validated.report.accepted, codes(validated)
    assert validated.report.organisation == "ditp" and validated.report.template_used
    assert validated.rows[0]["date_rapport"] == "2022-12-31"
    assert validated.rows[0]["avancement_pct"] == "25"
    assert (2, "avancement_pct", "pourcentage-tableur") in codes(validated, "correction")


def test_in_a_template_another_bodys_action_is_an_error(tmp_path: Path, check: Callable) -> None:
    workbook = load_workbook(_template(tmp_path, "ditp"))
    sheet = workbook["Suivi"]
    free = sheet.max_row - 99  # first free row below the prefilled actions
    for column, value in zip("ABCDE", ("E5-A1-01", "", dt.datetime(2022, 12, 31), "limite", 10), strict=True):
        sheet[f"{column}{free}"] = value or None
    buffer = io.BytesIO()
    workbook.save(buffer)
    validated = check(buffer.getvalue(), name="retour.xlsx", org=None)
    assert codes(validated) == [(free, "id_action", "action-hors-responsabilite")]


def test_csv_template_opens_in_french_excel(tmp_path: Path, plan: PlanFacts) -> None:
    content = _template(tmp_path, "dinum", ".csv").read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content[3:].decode("utf-8").splitlines()
    assert lines[0].split(";")[:2] == ["Action", "Titre de l'action"]
    assert [line.split(";")[0] for line in lines[1:]] == sorted(plan.actions_of("dinum"))


def test_template_for_an_unknown_body_is_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["template", "--org", "inconnu", "--out", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2
    assert "organisme inconnu" in result.output.lower() and "ditp" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_the_template_is_laid_out_by_the_schema_and_lists_the_registrys_rules(
    tmp_path: Path, plan: PlanFacts, submission_schema: TableSchema, targets_submission_schema: TableSchema
) -> None:
    """Columns, titles and widths are the schema's ``x-modele``; the rules the Instructions
    sheet lists are the code registry's sentences for each sheet's format."""
    path = tmp_path / "meae.xlsx"
    write_template(path, "meae", plan, submission_schema, targets_submission_schema)
    workbook = load_workbook(path)
    for sheet, schema in (("Suivi", submission_schema), (TARGETS_SHEET, targets_submission_schema)):
        columns = template_columns(schema)
        assert [c.value for c in workbook[sheet][1]] == [c.title for c in columns]
        widths = [
            workbook[sheet].column_dimensions[get_column_letter(i)].width for i in range(1, len(columns) + 1)
        ]
        assert widths == [c.width for c in columns]
    text = [str(c.value) for row in workbook["Instructions"].iter_rows() for c in row if c.value]
    context = {"plan_start": "01/01/2021"}
    progress = instructions_for(PROGRESS, {**context, "labels": all_labels(submission_schema)})
    targets = instructions_for(TARGETS, {**context, "labels": all_labels(targets_submission_schema)})
    assert len(progress) >= 6 and len(targets) >= 4
    assert all(sentence in text for sentence in [*progress, *targets])


def test_another_bodys_template_is_read_as_its_body_from_a_folder_but_refused_at_the_door(
    tmp_path: Path,
    submission_schema: TableSchema,
    targets_submission_schema: TableSchema,
    plan: PlanFacts,
) -> None:
    from pipelines.state.received import Received
    from pipelines.validate.submission import validate_submission
    from tests.conftest import TODAY

    workbook = load_workbook(_template(tmp_path, "ditp"))
    sheet = workbook["Suivi"]
    sheet["C2"], sheet["D2"], sheet["E2"] = dt.datetime(2022, 12, 31), "limite", 20
    buffer = io.BytesIO()
    workbook.save(buffer)

    def received_from(origin: str) -> Received:
        return Received("retour.xlsx", buffer.getvalue(), origin, "2026-11-28T08:00:00Z", "dinum")

    def validated(origin: str):  # noqa: ANN202
        return validate_submission(
            received_from(origin),
            submission_schema,
            plan,
            today=TODAY,
            targets_schema=targets_submission_schema,
        )

    # Saved in dinum's inbox folder: the template names its body (a warning says so).
    from_folder = validated("depot:dinum/retour.xlsx")
    assert from_folder.report.accepted and from_folder.report.organisation == "ditp"
    assert codes(from_folder, "avertissement") == [(None, None, "organisme-different")]
    # Uploaded with dinum's personal link: the access decides, and ditp's template is refused.
    at_the_door = validated("guichet:a1b2c3d4")
    assert not at_the_door.report.accepted and at_the_door.report.organisation == "dinum"
    assert codes(at_the_door) == [(None, None, "modele-autre-acces")]


def test_the_targets_sheet_states_the_plans_caveats(tmp_path: Path, plan: PlanFacts) -> None:
    """A range, an approximation and a date that is a start are written as the plan says them."""
    from pipelines.gather.submissions.template import _target_cells

    cells = {t.id_cible: _target_cells(t) for t in plan.targets.values()}
    assert cells["E1-A2-01-C2"]["valeur_visee"] == "10 à 20"
    assert cells["E2-A1-01-C1"]["valeur_visee"] == "environ 40"
    assert cells["E3-A2-02-C1"]["echeance"].startswith("à partir du ")
    assert cells["E6-A1-01-C1"]["valeur_visee"] == "18"
