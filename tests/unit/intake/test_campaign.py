"""A real reporting campaign, step by step on one state folder and one output: files as a
spreadsheet makes them (openpyxl), modification times set as an inbox gets them, the
published rows, the archive and the journal asserted after each step."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from pipelines.core.config import DatasetConfig, Settings
from pipelines.core.errors import ConfigError
from pipelines.core.problems import Severity
from pipelines.gather.submissions.records import gather_progress_records, merge_archive
from pipelines.gather.submissions.template import TemplateAction, write_template_xlsx
from pipelines.intake.status import campaign_status
from pipelines.intake.submissions import collect_submissions, withdraw_submission
from pipelines.state.campaign import dataset_for_run, resolve_campaign
from pipelines.state.samples import SamplesOverRealData
from publish.release import refuse_samples_over_real_data
from tests.conftest import PROGRESS_SLUG, TODAY
from tests.helpers.campaign import HEADER, Pipeline, drop

COLUMNS = HEADER.strip().split(",")


def xlsx(
    rows: list[list[object]], hidden_rows: tuple[int, ...] = (), hidden_columns: tuple[str, ...] = ()
) -> bytes:
    """A workbook as a person makes it: header in row 1, rows below, some rows or columns hidden."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Rapport"
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(row)
    for number in hidden_rows:
        sheet.row_dimensions[number].hidden = True
    for letter in hidden_columns:
        sheet.column_dimensions[letter].hidden = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def published(pipeline: Pipeline) -> dict[tuple[str, str], dict[str, object]]:
    return {(r["id_action"], r["date_rapport"]): r for r in pipeline.published_rows()}


def journal_codes(pipeline: Pipeline, content: bytes) -> list[tuple[int | None, str | None, str]]:
    """The errors of the latest reception of a file, as ``(row, column, code)``."""
    reception = [r for r in pipeline.archive.receptions() if r.sha256 == sha(content)][-1]
    return [(e["ligne"], e["colonne"], e["code"]) for e in pipeline.archive.report(reception)["erreurs"]]


@pytest.fixture
def pipeline(tmp_path: Path, progress_config: DatasetConfig) -> Pipeline:
    return Pipeline(tmp_path, progress_config)


def test_the_reception_order_decides_and_a_replaced_file_is_said_to_be(pipeline: Pipeline) -> None:
    # One collection: the draft sorts after the final report by name, but was saved first.
    final = drop(
        pipeline,
        "ditp/rapport-final.csv",
        HEADER + "E1-A1-01,2023-06-30,substantiel,80,Final,\n",
        "2023-07-03",
    )
    draft = drop(
        pipeline,
        "ditp/rapport-version-de-travail.csv",
        HEADER + "E1-A1-01,2023-06-30,limite,40,Brouillon,\n",
        "2023-06-20",
    )
    pipeline.clock.day = "2023-07-04"
    pipeline.collect()
    pipeline.publish()
    row = published(pipeline)[("E1-A1-01", "2023-06-30")]
    # Published with the time the pipeline received it, not the file's own date.
    assert (row["commentaire"], row["id_soumission"], row["date_reception"]) == (
        "Final",
        sha(final),
        "2023-07-04T10:00:00Z",
    )
    received = {r.file_name: (r.collection, r.modified_at) for r in pipeline.archive.receptions()}
    assert received == {
        "rapport-version-de-travail.csv": (1, "2023-06-20T09:00:00.000000Z"),
        "rapport-final.csv": (1, "2023-07-03T09:00:00.000000Z"),
    }
    draft_reception, final_reception = pipeline.archive.receptions()
    effects = merge_archive(pipeline.archive, sample=False).effects
    assert effects[draft_reception.n].without_effect
    assert effects[draft_reception.n].replaced_by == {final_reception.n: 1}
    # A correction copied with its old date, received in a later collection, is published:
    # reception order, not the file's date.
    pipeline.clock.day = "2023-07-05"
    corrected = drop(
        pipeline,
        "ditp/copie-corrigee.csv",
        HEADER + "E1-A1-01,2023-06-30,substantiel,85,Corrigé,\n",
        "2023-06-25",
    )
    assert [r.file_name for r in pipeline.collect().accepted] == ["copie-corrigee.csv"]
    assert pipeline.publish().published
    row = published(pipeline)[("E1-A1-01", "2023-06-30")]
    assert (row["id_soumission"], row["date_reception"]) == (sha(corrected), "2023-07-05T10:00:00Z")
    effects = merge_archive(pipeline.archive, sample=False).effects
    assert effects[final_reception.n].without_effect and effects[final_reception.n].replaced_by == {3: 1}
    assert {sha(draft), sha(final), sha(corrected)} <= {
        p.name for p in (pipeline.archive.root / "soumissions").iterdir()
    }


def test_a_file_nobody_can_attribute_is_archived_reported_and_never_published(pipeline: Pipeline) -> None:
    mss = drop(
        pipeline, "mss/rapport.csv", HEADER + "E5-A1-01,2023-06-30,limite,20,Rapport mss,\n", "2023-07-01"
    )
    root = drop(
        pipeline,
        "export.csv",
        HEADER + "E5-A1-01,2023-06-30,complet,100,Racine,https://x.fr/\n",
        "2023-07-05",
    )
    stray = drop(
        pipeline,
        "ministere-sante/rapport.csv",
        HEADER + "E5-A1-01,2023-06-30,substantiel,60,Dossier inconnu,\n",
        "2023-07-06",
    )
    summary = pipeline.collect()
    assert [r.file_name for r in summary.accepted] == ["rapport.csv"]
    assert sorted((r.origin, r.verdict.split(" :")[0]) for r in summary.rejected) == [
        ("depot:export.csv", "REJETÉ"),
        ("depot:ministere-sante/rapport.csv", "REJETÉ"),
    ]
    assert journal_codes(pipeline, root) == [(None, None, "organisme-non-identifie")]
    assert journal_codes(pipeline, stray) == [(None, None, "organisme-inconnu")]
    rejected = {r.origin: r for r in summary.rejected}
    (unattributed,) = rejected["depot:export.csv"].of(Severity.ERROR)
    assert "Déplacez le fichier dans le dossier de l'organisme" in unattributed.fix
    pipeline.publish()
    row = published(pipeline)[("E5-A1-01", "2023-06-30")]
    assert (row["commentaire"], row["id_organisation"], row["id_soumission"]) == (
        "Rapport mss",
        "mss",
        sha(mss),
    )
    assert all(r["id_organisation"] for r in pipeline.published_rows())


def test_a_row_about_another_bodys_action_cannot_replace_that_bodys_report(pipeline: Pipeline) -> None:
    drop(pipeline, "ditp/rapport.csv", HEADER + "E1-A1-01,2023-06-30,limite,20,Rapport ditp,\n", "2023-07-01")
    other = drop(
        pipeline,
        "meae/rapport.csv",
        HEADER + "E1-A1-01,2023-06-30,complet,100,Pas à lui,https://x.fr/\n",
        "2023-07-02",
    )
    summary = pipeline.collect()
    assert [r.file_name for r in summary.rejected] == ["rapport.csv"]
    assert journal_codes(pipeline, other) == [(2, "id_action", "action-hors-responsabilite")]
    pipeline.publish()
    assert published(pipeline)[("E1-A1-01", "2023-06-30")]["commentaire"] == "Rapport ditp"


def test_hidden_rows_and_columns_holding_data_are_errors_naming_them(pipeline: Pipeline) -> None:
    hidden_row = drop(
        pipeline,
        "ditp/ligne-masquee.xlsx",
        xlsx(
            [
                ["E1-A1-01", "2023-06-30", "limite", 20, "Rapport", None],
                ["E1-A1-02", "2023-06-30", "limite", 10, "ancien brouillon", None],
            ],
            hidden_rows=(3,),
        ),
        "2023-07-01",
    )
    hidden_column = drop(
        pipeline,
        "ditp/colonne-masquee.xlsx",
        xlsx(
            [
                ["E1-A1-01", "2023-06-30", "limite", 20, "Rapport", None, "note interne"],
            ],
            hidden_columns=("G",),
        ),
        "2023-07-02",
    )
    empty_hidden = drop(
        pipeline,
        "ditp/colonne-vide-masquee.xlsx",
        xlsx(
            [
                ["E1-A1-04", "2023-06-30", "limite", 20, "Rapport", None],
            ],
            hidden_columns=("H",),
        ),
        "2023-07-03",
    )
    summary = pipeline.collect()
    assert [r.file_name for r in summary.accepted] == ["colonne-vide-masquee.xlsx"]
    assert journal_codes(pipeline, hidden_row) == [(3, None, "ligne-masquee")]
    assert journal_codes(pipeline, hidden_column) == [(None, "G", "colonne-masquee")]
    pipeline.publish()
    assert set(published(pipeline)) == {("E1-A1-04", "2023-06-30")}
    assert sha(empty_hidden) == published(pipeline)[("E1-A1-04", "2023-06-30")]["id_soumission"]


def _filled_template(tmp_path: Path, plan, delete: str | None = None) -> bytes:  # noqa: ANN001
    path = tmp_path / "modele.xlsx"
    actions = [TemplateAction(a, plan.action_titles[a]) for a in sorted(plan.actions_of("ditp"))]
    from pipelines.core.schema import load_schema

    write_template_xlsx(
        path, "ditp", "DITP", actions, plan.start, load_schema(Settings().schemas_dir, "soumission")
    )
    book = load_workbook(path)
    sheet = book["Suivi"]
    header = [c.value for c in sheet[1]]  # French titles
    sheet.cell(2, header.index("Date du rapport") + 1, dt.date(2023, 6, 30))
    sheet.cell(2, header.index("Statut") + 1, "Avancement substantiel")  # from the drop-down
    sheet.cell(2, header.index("Avancement (%)") + 1, 70)
    if delete:
        sheet.protection.sheet = False
        sheet.delete_cols(header.index(delete) + 1)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_template_with_a_deleted_column_is_rejected_naming_it(
    pipeline: Pipeline, plan, tmp_path: Path
) -> None:  # noqa: ANN001
    cut = drop(
        pipeline,
        "ditp/sans-avancement.xlsx",
        _filled_template(tmp_path, plan, "Avancement (%)"),
        "2023-07-01",
    )
    whole = drop(pipeline, "ditp/modele-rempli.xlsx", _filled_template(tmp_path, plan), "2023-07-02")
    summary = pipeline.collect()
    assert [r.file_name for r in summary.accepted] == ["modele-rempli.xlsx"]
    assert journal_codes(pipeline, cut) == [(None, "avancement_pct", "missing-label")]
    assert sha(whole) in {r.sha256 for r in summary.accepted}


def test_an_optional_column_left_out_is_a_warning_and_a_rule_about_it_says_it_is_missing(
    pipeline: Pipeline,
) -> None:
    without_comment = drop(
        pipeline,
        "ditp/sans-commentaire.csv",
        "id_action,date_rapport,statut,avancement_pct,preuve_url\nE1-A1-01,2023-06-30,limite,20,\n",
        "2023-07-01",
    )
    without_pct = drop(
        pipeline,
        "ditp/sans-avancement.csv",
        "id_action,date_rapport,statut,commentaire,preuve_url\n"
        "E1-A1-02,2023-06-30,complet,Fini,https://x.fr/\n",
        "2023-07-02",
    )
    summary = pipeline.collect()
    accepted = {r.sha256: r for r in summary.accepted}
    assert sha(without_comment) in accepted
    warnings = [
        (f.field, f.code) for f in accepted[sha(without_comment)].findings if f.severity == "avertissement"
    ]
    assert warnings == [("commentaire", "colonne-absente")]
    (rejected,) = summary.rejected
    errors = [f for f in rejected.findings if f.severity == "erreur"]
    assert [(f.row, f.field, f.code) for f in errors] == [(2, "avancement_pct", "complet-sans-100")]
    assert "La colonne Avancement (%) [avancement_pct] manque au fichier" in errors[0].message
    assert errors[0].fix.startswith("Ajoutez la colonne Avancement (%) [avancement_pct]")
    assert sha(without_pct) == rejected.sha256


def test_a_withdrawn_file_leaves_the_next_version_with_a_changelog_entry(pipeline: Pipeline) -> None:
    kept = drop(pipeline, "ditp/rapport.csv", HEADER + "E1-A1-01,2023-06-30,limite,20,,\n", "2023-07-01")
    mistake = drop(
        pipeline,
        "ditp/erreur.csv",
        HEADER + "E1-A1-02,2023-06-30,limite,10,Envoyé par erreur,\n",
        "2023-07-02",
    )
    pipeline.collect()
    assert pipeline.publish().version == "1.0.0"
    from publish.release import withdrawal_reasons

    done = withdraw_submission(pipeline.config, pipeline.settings, sha(mistake)[:10], "envoyé par erreur")
    assert (done.sha256, done.file_name, done.accepted) == (sha(mistake), "erreur.csv", True)
    assert (
        pipeline.archive.layout.submission(sha(mistake)) / "original.csv"
    ).read_bytes() == mistake  # nothing deleted
    tables = gather_progress_records(pipeline.config, pipeline.settings)
    assert [r["id_soumission"] for r in tables["suivi"]] == [sha(kept)]
    from functools import partial

    from pipelines.build.tables import build_tables
    from pipelines.gather.submissions.plan_facts import plan_references
    from pipelines.validate.package import validate_datapackage
    from publish.release import release_dataset

    validate = partial(
        validate_datapackage, schemas=pipeline.schemas, references=plan_references(pipeline.config)
    )
    result = release_dataset(
        pipeline.out,
        pipeline.config,
        pipeline.schemas,
        build_tables(tables, pipeline.schemas),
        validate,
        notes=withdrawal_reasons(pipeline.config, pipeline.settings),
    )
    assert result.version == "1.0.1"  # a row removed: PATCH
    log = json.loads(
        (pipeline.out / "datasets" / PROGRESS_SLUG / "versions.json").read_text(encoding="utf-8")
    )
    assert log["versions"][-1]["reasons"] == [
        "suivi: 1 ligne(s) supprimée(s)",
        f"soumission retirée : erreur.csv ({sha(mistake)[:12]}), motif : envoyé par erreur",
    ]
    # The version without the file is the one a refused rollback suggests, although its
    # soumissions table still lists the file (as withdrawn).
    from publish.operations import RollbackOverWithdrawal, refuse_rollback_over_withdrawal
    from publish.release import submissions_in

    served = pipeline.out / "datasets" / PROGRESS_SLUG
    assert submissions_in(served / "1.0.1") == {sha(kept)}
    with pytest.raises(RollbackOverWithdrawal) as refused_rollback:
        refuse_rollback_over_withdrawal(pipeline.out, pipeline.settings, PROGRESS_SLUG, "1.0.0")
    assert (refused_rollback.value.withdrawn, refused_rollback.value.suggested) == ([sha(mistake)], "1.0.1")
    refuse_rollback_over_withdrawal(pipeline.out, pipeline.settings, PROGRESS_SLUG, "1.0.1")
    with pytest.raises(ConfigError) as twice:
        withdraw_submission(pipeline.config, pipeline.settings, sha(mistake), "encore")
    assert twice.value.context == {"submission": sha(mistake), "withdrawn_on": done.date}
    for unknown in ("abcdef0123", "rapport.csv"):  # no such file; not an identifier
        with pytest.raises(ConfigError) as refused:
            withdraw_submission(pipeline.config, pipeline.settings, unknown, "inconnue")
        assert refused.value.context == {"submission": unknown}


def test_samples_never_replace_the_real_campaign_recorded_or_published(
    pipeline: Pipeline, progress_config: DatasetConfig, tmp_path: Path
) -> None:
    drop(pipeline, "ditp/rapport.csv", HEADER + "E1-A1-01,2023-06-30,limite,20,,\n", "2023-07-01")
    pipeline.collect()
    pipeline.publish()
    state = Settings(state_dir=pipeline.settings.state_dir)  # OGP_SUBMISSIONS_INBOX not set
    again = dataset_for_run(progress_config, state)
    assert (again.source.sample, again.source.inbox) == (False, pipeline.inbox.resolve())  # never the samples
    # A state folder of before campaigns were recorded, with real files: its inbox is asked for.
    pipeline.archive.layout.campaign.unlink()
    assert dataset_for_run(progress_config, state).source.sample is False
    with pytest.raises(ConfigError) as refused:
        collect_submissions(progress_config, state, today=TODAY)
    assert "OGP_SUBMISSIONS_INBOX" in refused.value.hint
    # The samples, asked for elsewhere, are refused by what the output serves.
    sample = dataset_for_run(progress_config, Settings(state_dir=tmp_path / "autre-etat"))
    assert sample.source.sample
    with pytest.raises(SamplesOverRealData) as over_output:
        refuse_samples_over_real_data(pipeline.out, sample, tmp_path / "autre-etat")
    assert (over_output.value.slug, over_output.value.where) == (PROGRESS_SLUG, pipeline.out)
    with pytest.raises(SamplesOverRealData) as over_state:
        refuse_samples_over_real_data(tmp_path / "autre-site", sample, pipeline.settings.state_dir)
    assert over_state.value.where == pipeline.archive.root
    # Neither: allowed (a demonstration elsewhere).
    refuse_samples_over_real_data(tmp_path / "autre-site", sample, tmp_path / "autre-etat")


def test_links_out_of_the_inbox_are_refused_and_a_link_inside_is_received_once(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "ailleurs"
    (elsewhere / "dossier").mkdir(parents=True)
    secret = HEADER + "E1-A1-01,2023-06-30,complet,100,Secret,https://x.fr/\n"
    (elsewhere / "rapport.csv").write_text(secret, encoding="utf-8")
    (elsewhere / "dossier" / "autre.csv").write_text(secret, encoding="utf-8")
    kept = drop(pipeline, "ditp/rapport.csv", HEADER + "E1-A1-01,2023-06-30,limite,20,,\n", "2023-07-01")
    (pipeline.inbox / "ditp" / "lien-fichier.csv").symlink_to(elsewhere / "rapport.csv")
    (pipeline.inbox / "dinum").mkdir()
    (pipeline.inbox / "dinum" / "lien-dossier").symlink_to(elsewhere / "dossier", target_is_directory=True)
    (pipeline.inbox / "ditp" / "meme-fichier.csv").symlink_to(pipeline.inbox / "ditp" / "rapport.csv")
    summary = pipeline.collect()
    assert [r.file_name for r in summary.accepted] == ["rapport.csv"]  # the inside link: once
    assert [r.code for r in pipeline.archive.refusals()] == ["lien-hors-boite", "lien-hors-boite"]
    assert sorted(r.origin.where for r in pipeline.archive.refusals()) == [
        "dinum/lien-dossier",
        "ditp/lien-fichier.csv",
    ]
    archived = {p.name for p in (pipeline.archive.root / "soumissions").iterdir()}
    assert archived == {sha(kept)}  # nothing of the targets read or archived
    pipeline.publish()
    assert {r["id_soumission"] for r in pipeline.published_rows()} == {sha(kept)}
    status = campaign_status(resolve_campaign(pipeline.config, pipeline.settings))
    assert sorted((r.origine, r.code) for r in status.refus) == [
        ("depot:dinum/lien-dossier", "lien-hors-boite"),
        ("depot:ditp/lien-fichier.csv", "lien-hors-boite"),
    ]
    pipeline.collect()  # refused once, not at every run
    assert len(pipeline.archive.refusals()) == 2


def test_a_file_moved_from_the_root_to_its_body_keeps_both_receptions_and_reports(pipeline: Pipeline) -> None:
    content = drop(pipeline, "rapport.csv", HEADER + "E1-A1-01,2023-06-30,limite,20,,\n", "2023-07-01")
    assert [r.file_name for r in pipeline.collect().rejected] == ["rapport.csv"]
    (pipeline.inbox / "ditp").mkdir()
    (pipeline.inbox / "rapport.csv").rename(pipeline.inbox / "ditp" / "rapport.csv")
    assert [r.file_name for r in pipeline.collect().accepted] == ["rapport.csv"]
    first, second = pipeline.archive.receptions()
    assert (first.sha256, second.sha256) == (sha(content), sha(content))
    assert (first.accepted, second.accepted) == (False, True)
    assert pipeline.archive.report(first)["verdict"] == "rejete"
    assert pipeline.archive.report(second)["verdict"] == "accepte"
    status = campaign_status(resolve_campaign(pipeline.config, pipeline.settings))
    assert status.non_attribues == []  # attributed since: not « rien n'en est publié »
    ditp = next(b for b in status.organismes if b.id_organisation == "ditp")
    assert [(n.origine, n.accepte) for n in ditp.fichiers] == [("depot:ditp/rapport.csv", True)]


def test_an_accepted_file_that_changes_nothing_is_said_so(pipeline: Pipeline) -> None:
    rows = HEADER + "E1-A1-01,2023-06-30,limite,20,,\n"
    drop(pipeline, "ditp/rapport.csv", rows, "2023-07-01")
    pipeline.collect()
    again = drop(pipeline, "ditp/rapport-bis.csv", rows + "\n", "2023-07-02")  # other bytes, same rows
    summary = pipeline.collect()
    assert [r.file_name for r in summary.accepted] == ["rapport-bis.csv"]
    assert len(summary.without_effect) == 1 and summary.without_effect[0].startswith(
        "depot:ditp/rapport-bis.csv"
    )
    pipeline.publish()
    assert published(pipeline)[("E1-A1-01", "2023-06-30")]["id_soumission"] != sha(again)  # the first says it
    status = campaign_status(resolve_campaign(pipeline.config, pipeline.settings))
    ditp = next(b for b in status.organismes if b.id_organisation == "ditp")
    assert [n.fichier for n in ditp.sans_effet] == ["rapport-bis.csv"]
