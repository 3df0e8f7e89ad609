"""`ogp run` end to end, as a steward runs it: a real process, its steps called directly
(no Prefect server configured); on a local Dask cluster, the Prefect flow gives the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import frictionless
import pytest

from bench.synthetic import DATASET_SLUG, reference_keys, write_datasets_dir
from pipelines.core.config import Settings, load_dataset
from pipelines.state.inputs import input_fingerprint
from publish.catalog import local_address_notice
from tests.conftest import PLAN_SLUG, PROGRESS_SLUG, ROOT

pytestmark = pytest.mark.slow

OGP = Path(sys.executable).parent / "ogp"
TABLES = ["engagements", "ambitions", "actions", "organisations", "porteurs", "responsables", "cibles"]
ENV = {
    **os.environ,
    "SOURCE_DATE_EPOCH": "1700000000",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "OGP_TASK_RETRIES": "0",
    # No Prefect server, whatever the machine's profile says (empty: unset, for Prefect too).
    "PREFECT_API_URL": "",
}


def ogp(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OGP), *args], capture_output=True, text=True, env={**ENV, **(env or {})}, timeout=300
    )


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file's bytes and every link's target, by relative path."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = os.readlink(path)
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


# What Prefect writes itself, in English: none of it before (or after) a French error, unless
# --verbose; an error of ours is never a traceback.
ENGLISH = (" | ERROR ", " | WARNING ", "Flow run", "Task run", "Encountered exception", "Traceback")


def assert_french_only(stderr: str) -> None:
    assert stderr.startswith("Erreur : "), stderr
    assert not [word for word in ENGLISH if word in stderr], stderr


def failed_run(tmp_path: Path, datasets: Path) -> subprocess.CompletedProcess[str]:
    """``ogp run`` on edited dataset definitions, expected to stop on a source problem."""
    result = ogp(
        "run",
        "--datasets-dir",
        str(datasets),
        "--out",
        str(tmp_path / "site"),
        "--state-dir",
        str(tmp_path / "var"),
    )
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stdout
    assert_french_only(result.stderr)
    return result


@pytest.fixture(scope="module")
def first_run_output(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The output folder of a first ``ogp run``, and what it printed (not to a terminal)."""
    out = tmp_path_factory.mktemp("site")
    result = ogp("run", "--out", str(out), "--state-dir", str(out.parent / "var"))
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture(scope="module")
def first_run(first_run_output: tuple[Path, subprocess.CompletedProcess[str]]) -> Path:
    return first_run_output[0]


def test_off_a_terminal_the_summary_keeps_whole_names_and_prefect_stays_quiet(
    first_run_output: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, result = first_run_output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Publication dans {out}"
    assert lines[1].startswith(
        f"  Jeu de données : {PLAN_SLUG} | Version : 1.0.0 | Publication : nouvelle version | "
    )
    assert "responsables 99, cibles 26 | Durée : " in lines[1]
    assert lines[2].startswith(f"  Jeu de données : {PROGRESS_SLUG} | Version : 1.0.0 | ")
    assert "…" not in result.stdout and len(lines) == 3
    # Prefect's INFO lines and English hints are not a steward's reading; the warnings of the
    # accepted files are (the MEAE sample is a Windows-1252 export), and nothing else.
    assert result.stderr.splitlines() == [
        "Avertissements (1, dans des fichiers acceptés : à vérifier) :",
        f"  - {ROOT}/datasets/{PROGRESS_SLUG}/soumissions-exemple/meae/export-excel-meae.csv, fichier : Le "
        "fichier n'est pas en UTF-8 : il a été lu comme du Windows-1252 (l'encodage par défaut d'Excel en "
        "français) et converti en UTF-8.",
        # Built on the default loopback address: said once, with the command to run instead.
        local_address_notice("http://127.0.0.1:8000/"),
    ]
    history = ogp("versions", PROGRESS_SLUG, "--out", str(out))
    assert (
        history.stdout.splitlines()[1].startswith("  Version : 1.0.0 | Date : ")
        and "Motifs : première publication | " in history.stdout
    )


def test_layout_of_the_published_plan(first_run: Path) -> None:
    dataset = first_run / "datasets" / PLAN_SLUG
    assert os.readlink(dataset / "latest") == "1.0.0"
    latest = dataset / "latest"
    expected = {f"{t}.{fmt}" for t in TABLES for fmt in ("csv", "parquet", "json")}
    assert expected | {"datapackage.json", "report.json", "udata.json"} == {p.name for p in latest.iterdir()}
    assert (dataset / "versions.json").is_file() and (dataset / "CHANGELOG.md").is_file()


def test_frictionless_accepts_the_published_package(first_run: Path) -> None:
    report = frictionless.validate(
        str(first_run / "datasets" / PLAN_SLUG / "latest" / "datapackage.json"), limit_errors=10**6
    )
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "type", "note"])
    assert len(report.tasks) == 21  # 7 tables × (CSV table + Parquet file + JSON file)


def test_rerun_on_unchanged_inputs_publishes_nothing(first_run: Path) -> None:
    before = tree(first_run)
    result = ogp("run", "--verbose", "--out", str(first_run), "--state-dir", str(first_run.parent / "var"))
    assert result.returncode == 0, result.stderr
    assert "inchangé" in result.stdout and "nouvelle" not in result.stdout
    # --verbose without Prefect: the run's own steps, as log lines; no Prefect server started.
    assert f"ogp.run - {PLAN_SLUG} : terminé" in result.stderr
    assert "Starting temporary server" not in result.stderr and "Flow run" not in result.stderr
    # The plan is recognised by the checksums of its inputs, before any parsing.
    log = json.loads((first_run / "datasets" / PLAN_SLUG / "versions.json").read_text(encoding="utf-8"))
    assert log["versions"][-1]["inputs"] == input_fingerprint(
        load_dataset(ROOT / "datasets" / PLAN_SLUG), Settings()
    )
    assert tree(first_run) == before


def test_a_run_without_a_prefect_server_imports_neither_prefect_nor_dask(first_run: Path) -> None:
    """A steward's ``ogp run`` pays nothing for an orchestrator it does not use: no
    temporary server, and not even Prefect's import (seconds)."""
    script = (
        "import sys\n"
        "from pipelines.cli import app\n"
        "try:\n"
        f"    app(['run', '--out', {str(first_run)!r}, '--state-dir', {str(first_run.parent / 'var')!r}])\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'prefect_dask', 'dask', 'distributed'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_rebuild_from_scratch_is_byte_identical(first_run: Path, tmp_path: Path) -> None:
    result = ogp("run", "--out", str(tmp_path / "site"), "--state-dir", str(tmp_path / "var"))
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "site") == tree(first_run)


def test_changed_source_is_a_clear_error_and_publishes_nothing(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", datasets)
    source = datasets / PLAN_SLUG / "source" / "synthese-plan-action-national-2021-2023.txt"
    source.write_text(source.read_text(encoding="utf-8") + "\nAjout.\n", encoding="utf-8")
    out = tmp_path / "site"
    result = failed_run(tmp_path, datasets)
    assert "a changé" in result.stderr and "dataset.yaml" in result.stderr
    assert not (out / "datasets").exists()


def test_progress_dataset_is_published_as_sample_data_and_its_keys_hold_against_the_plan(
    first_run: Path,
) -> None:
    latest = first_run / "datasets" / PROGRESS_SLUG / "latest"
    assert os.readlink(latest) == "1.0.0"
    descriptor = latest / "datapackage.json"
    assert frictionless.validate(str(descriptor), limit_errors=10**6).valid
    package = frictionless.Package(str(descriptor))
    assert package.title.startswith("[Données d'exemple]")
    assert "DONNÉES D'EXEMPLE" in package.description
    rows = package.get_resource("suivi").read_rows()
    assert len(rows) == 15
    assert {r["id_organisation"] for r in rows} == {"ditp", "dinum", "meae"}
    # The foreign keys to the other dataset, checked by frictionless on the published files.
    suivi_schema = json.loads((ROOT / "schemas" / "suivi.json").read_text(encoding="utf-8"))
    suivi_schema.pop("$schema")
    joined = frictionless.Package(
        resources=[
            frictionless.Resource(
                path=f"{PROGRESS_SLUG}/latest/suivi.csv",
                name="suivi",
                schema=frictionless.Schema.from_descriptor(suivi_schema),
            ),
            frictionless.Resource(path=f"{PLAN_SLUG}/latest/actions.csv", name="actions"),
            frictionless.Resource(path=f"{PLAN_SLUG}/latest/organisations.csv", name="organisations"),
        ],
        basepath=str(first_run / "datasets"),
    )
    report = joined.validate(checklist=frictionless.Checklist(), limit_errors=10**6)
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "type", "note"])
    assert [fk["reference"]["resource"] for fk in suivi_schema["foreignKeys"]] == ["actions", "organisations"]


def test_a_rejected_submission_is_reported_and_publishes_nothing(tmp_path: Path) -> None:
    inbox = tmp_path / "boite" / "ditp"
    inbox.mkdir(parents=True)
    (inbox / "bon.csv").write_text(
        "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
        "E1-A1-01,2022-12-31,limite,20,,\n",
        encoding="utf-8",
    )
    env = {"OGP_SUBMISSIONS_INBOX": str(tmp_path / "boite")}
    args = ("run", "--out", str(tmp_path / "site"), "--state-dir", str(tmp_path / "var"))
    assert ogp(*args, env=env).returncode == 0
    before = tree(tmp_path / "site")
    (inbox / "mauvais.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binaire")
    result = ogp(*args, env=env)
    assert result.returncode == 3, result.stderr
    assert "mauvais.csv" in result.stderr and "REJETÉ" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert tree(tmp_path / "site") == before
    progress = tmp_path / "site" / "datasets" / PROGRESS_SLUG / "latest" / "datapackage.json"
    assert not json.loads(progress.read_text(encoding="utf-8"))["title"].startswith("[Données")


def test_an_unreachable_source_fails_the_run_and_publishes_no_progress(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", datasets)
    definition = datasets / PROGRESS_SLUG / "dataset.yaml"
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = definition.read_text(encoding="utf-8").replace(
        "  urls: []", f"  urls: [{{url: 'http://127.0.0.1:{port}/suivi.csv', organisation: dinum}}]"
    )
    definition.write_text(text, encoding="utf-8")
    result = failed_run(tmp_path, datasets)
    assert "n'a pas pu être lu" in result.stderr and "Rien n'a été publié" in result.stderr
    assert not (tmp_path / "site" / "datasets" / PROGRESS_SLUG).exists()


def test_invalid_data_is_said_in_french_only_unless_verbose(tmp_path: Path) -> None:
    """A table file with invalid rows: exit 1, the French error and its table of problems,
    and nothing before it; with --verbose, the run's steps before it, and never a traceback
    (the error is ours, and expected). The same through Prefect: test_prefect_server.py."""
    datasets = write_datasets_dir(tmp_path / "datasets", 300, invalid=True, keys=reference_keys())
    args = ("run", "--datasets-dir", str(datasets), "--out", str(tmp_path / "site"))
    quiet = ogp(*args, "--state-dir", str(tmp_path / "var"))
    assert quiet.returncode == 1, quiet.stderr
    assert_french_only(quiet.stderr)
    assert "constraint-error" in quiet.stderr or "type-error" in quiet.stderr  # the problems' codes
    verbose = ogp(*args, "--state-dir", str(tmp_path / "var-2"), "--verbose")
    assert verbose.returncode == 1, verbose.stderr
    assert f"ogp.run - {DATASET_SLUG} : collecte" in verbose.stderr and "Traceback" not in verbose.stderr
    assert "Erreur : " in verbose.stderr
    assert not (tmp_path / "site" / "datasets" / DATASET_SLUG).exists()  # nothing of it published


def test_two_concurrent_runs_leave_one_consistent_result(first_run: Path, tmp_path: Path) -> None:
    args = [str(OGP), "run", "--out", str(tmp_path / "site"), "--state-dir", str(tmp_path / "var")]
    # A wide summary: one line per dataset (a narrow one wraps its notes over several).
    runs = [
        subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**ENV, "COLUMNS": "400"}
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    # One publication of each dataset; the other run found it unchanged (its inputs'
    # checksums, or its rebuilt files, equal to what the first one published).
    rows = [
        line for out, _ in outputs for line in out.splitlines() if PLAN_SLUG in line or PROGRESS_SLUG in line
    ]
    assert len(rows) == 4, outputs
    assert sum("nouvelle version" in row for row in rows) == 2
    assert sum("inchangé" in row and "nouvelle version" not in row for row in rows) == 2
    # Exactly what one run alone publishes, and each sample received once.
    assert tree(tmp_path / "site") == tree(first_run)
    journal = (tmp_path / "var" / PROGRESS_SLUG / "journal.jsonl").read_text(encoding="utf-8")
    assert len(journal.splitlines()) == 4  # the four sample files


def test_a_run_on_a_local_dask_cluster_publishes_the_same_bytes(first_run: Path, tmp_path: Path) -> None:
    result = ogp(
        "run",
        "--out",
        str(tmp_path / "site"),
        "--state-dir",
        str(tmp_path / "var"),
        "--dask",
        "local",
        "--verbose",
    )
    assert result.returncode == 0, result.stderr
    assert "Creating a new Dask cluster" in result.stderr  # the tasks ran on Dask workers
    assert tree(tmp_path / "site") == tree(first_run)
