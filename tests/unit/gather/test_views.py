"""The flat tables of the progress dataset held to what a reuser would compute by hand.

A campaign of three collections (three bodies, a draft replaced, a file every row of which
a later file replaced, a withdrawal, a rejected file, values of targets) is published with
the plan; ``vue_actions`` and ``vue_cibles`` must equal, row for row, what this test
computes from the published (normalised) tables of both datasets, every ``id_soumission``
must be a row of ``soumissions``, and the workbook read back with openpyxl must give the
CSV files' values with their types, the same bytes at every build.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import frictionless
import pytest
from openpyxl import load_workbook

from pipelines.build.tables import build_tables
from pipelines.core.config import DatasetConfig, Settings
from pipelines.core.schema import load_schema
from pipelines.core.vocabulary import labels
from pipelines.gather.plan.records import gather_plan_records
from pipelines.gather.submissions.ledger import ReceivedFile, door_of
from pipelines.gather.submissions.views import (
    derive_files,
    derive_target_view,
    gather_progress_tables,
    latest_by,
)
from pipelines.intake.submissions import collect_submissions, withdraw_submission
from pipelines.state.campaign import dataset_for_run
from pipelines.state.journal import Origin
from pipelines.validate.package import standalone_schema, validate_datapackage
from publish.operations import release_built
from publish.release import release_dataset, submissions_in
from publish.workbook import ZIP_DATE
from tests.conftest import PLAN_SLUG, PROGRESS_SLUG, TODAY

AS_OF = "2023-11-14"  # SOURCE_DATE_EPOCH=1700000000: the version's date
HEADER = "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
TARGETS = "id_cible,date_rapport,valeur_atteinte,commentaire,preuve_url\n"
SEPARATOR = " ; "

# Three collections, each file arriving on its day (its modification time in the inbox).
CAMPAIGN: list[tuple[str, dict[str, str]]] = [
    (
        "2023-01-10",
        {
            "ditp/r1.csv": HEADER
            + "E1-A1-01,2022-06-30,limite,30,Premiers ateliers,\n"
            + "E1-A1-01,2022-12-31,substantiel,70,Brouillon,\n"
            + "E1-A1-04,2022-12-31,complet,100,Bilan publié,https://www.modernisation.gouv.fr/\n",
            "meae/r.csv": HEADER + 'E6-A1-01,2022-06-30,limite,25,"Réseau réuni, deux fois",\n',
            "meae/cibles.csv": TARGETS
            + "E6-A1-01-C3,2022-06-30,1,Rapport remis,https://www.diplomatie.gouv.fr/\n"
            + "E6-A2-01-C1,2022-06-30,0,,\n",
        },
    ),
    (
        "2023-02-01",
        {
            "ditp/r2.csv": HEADER + "E1-A1-01,2022-12-31,substantiel,80,Version définitive,\n",
            "ditp/erreur.csv": HEADER + "E1-A1-06,2023-01-15,limite,10,Envoyé par erreur,\n",
            "ditp/rejete.csv": HEADER + "E1-A1-06,2023-01-15,presque,10,,\n",
            "dinum/tout.csv": HEADER + "E1-A1-02,2022-12-31,limite,20,,\n",
        },
    ),
    (
        "2023-03-01",
        {
            "dinum/remplace.csv": HEADER + "E1-A1-02,2022-12-31,substantiel,50,Corrigé,\n",
            "meae/cibles2.csv": TARGETS + "E6-A1-01-C1,2022-12-31,18,Les 18 régions,\n",
        },
    ),
]
FILES = {name: content.encode("utf-8") for _, drops in CAMPAIGN for name, content in drops.items()}


def sha(name: str) -> str:
    return hashlib.sha256(FILES[name]).hexdigest()


class Campaign:
    """The plan and the progress dataset published from a real inbox into one output."""

    def __init__(self, root: Path, progress_config: DatasetConfig, plan_config: DatasetConfig) -> None:
        self.inbox = root / "boite"
        self.inbox.mkdir()
        self.out = root / "site"
        self.settings = Settings(state_dir=root / "var", submissions_inbox=self.inbox).check()
        self.config = dataset_for_run(progress_config, self.settings)
        self.plan_config = plan_config

    def run(self) -> None:
        for day, drops in CAMPAIGN:
            for name in drops:
                path = self.inbox / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(FILES[name])
                stamp = dt.datetime.fromisoformat(f"{day}T09:00:00+00:00").timestamp()
                os.utime(path, (stamp, stamp))
            # Each file received on its day, a microsecond after the one before.
            times = (f"{day}T10:00:00.{n:06d}Z" for n in range(1, 100))
            collect_submissions(self.config, self.settings, today=TODAY, clock=times.__next__)
        withdraw_submission(self.config, self.settings, sha("ditp/erreur.csv"), "Envoyé par erreur")
        plan_schemas = {t: load_schema(self.settings.schemas_dir, t) for t in self.plan_config.tables}
        release_dataset(
            self.out,
            self.plan_config,
            plan_schemas,
            build_tables(gather_plan_records(self.plan_config), plan_schemas),
            validate_datapackage,
        )
        self.publish()

    def publish(self, config: DatasetConfig | None = None) -> Any:
        config = config or self.config
        schemas = {t: load_schema(self.settings.schemas_dir, t) for t in config.tables}
        tables = build_tables(gather_progress_tables(config, self.settings), schemas)
        return release_built(self.out, config, schemas, tables, self.settings)

    def rows(self, slug: str, table: str) -> list[dict[str, Any]]:
        path = self.out / "datasets" / slug / "latest" / f"{table}.json"
        return list(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def campaign(
    tmp_path_factory: pytest.TempPathFactory, progress_config: DatasetConfig, plan_config: DatasetConfig
) -> Campaign:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        found = Campaign(tmp_path_factory.mktemp("vues"), progress_config, plan_config)
        found.run()
    return found


def _share(target: dict[str, Any], value: Any) -> float | None:
    """The share reached as the schema of vue_cibles words it."""
    goal, baseline = target["valeur"], target["valeur_initiale"]
    if target["nature"] == "jalon":
        return None if value is None else (1.0 if value >= 1 else 0.0)
    if goal is None:
        return None
    if value is None:  # met when the plan was published, or not known
        return 1.0 if baseline is not None and baseline >= goal else None
    start = baseline or 0
    if goal == start:
        return 1.0 if value >= goal else 0.0
    return (value - start) / (goal - start)


def expected_targets(
    plan: dict[str, list[dict[str, Any]]], values: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    names = {o["id_organisation"]: o["nom"] for o in plan["organisations"]}
    actions = {a["id_action"]: a for a in plan["actions"]}
    states = labels(load_schema(Settings().schemas_dir, "vue_cibles"), "etat")
    rows = []
    for target in sorted(plan["cibles"], key=lambda t: t["id_cible"]):
        own = [v for v in values if v["id_cible"] == target["id_cible"]]
        last = max(own, key=lambda v: (v["date_rapport"], v["date_reception"])) if own else None
        value = last["valeur_atteinte"] if last else None
        share = _share(target, value)
        passed = target["echeance"] is not None and target["echeance"] < AS_OF
        if share is not None and share >= 1:
            state = "atteinte"
        elif passed:
            state = "echeance_depassee"
        else:
            state = "en_cours" if value is not None else "sans_rapport"
        rows.append(
            {
                "id_cible": target["id_cible"],
                "id_action": target["id_action"],
                "titre_action": actions[target["id_action"]]["titre"],
                "id_engagement": actions[target["id_action"]]["id_engagement"],
                **{k: v for k, v in target.items() if k not in ("id_cible", "id_action")},
                "valeur_atteinte": value,
                "date_rapport": last and last["date_rapport"],
                "preuve_url": last and last["preuve_url"],
                "id_organisation_declarante": last and last["id_organisation"],
                "nom_organisation_declarante": last and names[last["id_organisation"]],
                "id_soumission": last and last["id_soumission"],
                "date_reception": last and last["date_reception"],
                "part_atteinte": share,
                "echeance_depassee": passed,
                "etat": state,
                "etat_libelle": states[state],
            }
        )
    return rows


def expected_actions(
    plan: dict[str, list[dict[str, Any]]], suivi: list[dict[str, Any]], targets: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    names = {o["id_organisation"]: o["nom"] for o in plan["organisations"]}
    ambitions = {a["id_ambition"]: a["titre"] for a in plan["ambitions"]}
    engagements = {e["id_engagement"]: e["titre"] for e in plan["engagements"]}
    statuses = labels(load_schema(Settings().schemas_dir, "vue_actions"), "statut")
    rows = []
    for action in sorted(plan["actions"], key=lambda a: a["id_action"]):
        ident = action["id_action"]
        bodies = [
            r["id_organisation"]
            for r in sorted(plan["responsables"], key=lambda r: r["ordre"])
            if r["id_action"] == ident
        ]
        reports = [r for r in suivi if r["id_action"] == ident]
        last = max(reports, key=lambda r: (r["date_rapport"], r["date_reception"])) if reports else None
        own = [t["etat"] for t in targets if t["id_action"] == ident]
        status = last["statut"] if last else "sans_rapport"
        rows.append(
            {
                "id_action": ident,
                "titre_action": action["titre"],
                "id_ambition": action["id_ambition"],
                "titre_ambition": ambitions[action["id_ambition"]],
                "id_engagement": action["id_engagement"],
                "titre_engagement": engagements[action["id_engagement"]],
                "id_organisation_pilote": bodies[0],
                "nom_organisation_pilote": names[bodies[0]],
                "ids_organisations_responsables": SEPARATOR.join(bodies),
                "noms_organisations_responsables": SEPARATOR.join(names[b] for b in bodies),
                "nombre_responsables": len(bodies),
                "nombre_rapports": len(reports),
                "date_rapport": last and last["date_rapport"],
                "statut": status,
                "statut_libelle": statuses[status],
                "avancement_pct": last and last["avancement_pct"],
                "commentaire": last and last["commentaire"],
                "preuve_url": last and last["preuve_url"],
                "id_organisation_declarante": last and last["id_organisation"],
                "nom_organisation_declarante": last and names[last["id_organisation"]],
                "id_soumission": last and last["id_soumission"],
                "date_reception": last and last["date_reception"],
                "nombre_cibles": len(own),
                "cibles_atteintes": own.count("atteinte"),
                "cibles_echeance_depassee": own.count("echeance_depassee"),
            }
        )
    return rows


def plan_of(campaign: Campaign) -> dict[str, list[dict[str, Any]]]:
    return {t: campaign.rows(PLAN_SLUG, t) for t in campaign.plan_config.tables}


def test_the_flat_tables_equal_what_a_reuser_computes_from_both_datasets(campaign: Campaign) -> None:
    plan = plan_of(campaign)
    suivi = campaign.rows(PROGRESS_SLUG, "suivi")
    values = campaign.rows(PROGRESS_SLUG, "suivi_cibles")
    targets = campaign.rows(PROGRESS_SLUG, "vue_cibles")
    assert targets == expected_targets(plan, values)
    assert campaign.rows(PROGRESS_SLUG, "vue_actions") == expected_actions(plan, suivi, targets)
    assert len(targets) == 26 and len(campaign.rows(PROGRESS_SLUG, "vue_actions")) == 58
    # What the campaign did, seen in the tables.
    actions = {r["id_action"]: r for r in campaign.rows(PROGRESS_SLUG, "vue_actions")}
    assert (actions["E1-A1-01"]["avancement_pct"], actions["E1-A1-01"]["nombre_rapports"]) == (80, 2)
    assert actions["E1-A1-01"]["id_soumission"] == sha("ditp/r2.csv")  # the draft replaced
    assert actions["E1-A1-02"]["id_soumission"] == sha("dinum/remplace.csv")
    assert actions["E1-A1-06"]["statut"] == "sans_rapport"  # its only report withdrawn
    assert actions["E6-A1-01"]["cibles_atteintes"] == 2  # C1 (18 of 18) and C3 (milestone passed)
    by_id = {t["id_cible"]: t for t in targets}
    assert (by_id["E6-A2-01-C1"]["etat"], by_id["E6-A2-01-C1"]["part_atteinte"]) == ("echeance_depassee", 0)
    assert by_id["E1-A2-01-C2"]["valeur_max"] == 20 and by_id["E2-A1-01-C1"]["valeur_approchee"] is True


def test_soumissions_lists_every_file_rows_come_from_and_the_withdrawn_one(campaign: Campaign) -> None:
    files = {r["id_soumission"]: r for r in campaign.rows(PROGRESS_SLUG, "soumissions")}
    for table in ("suivi", "suivi_cibles", "vue_actions", "vue_cibles"):
        for row in campaign.rows(PROGRESS_SLUG, table):
            if row["id_soumission"] is not None:
                assert row["id_soumission"] in files, (table, row)
                assert files[row["id_soumission"]]["date_reception"] == row["date_reception"]
    counts = {
        sha(name): (r["lignes_acceptees_suivi"], r["lignes_acceptees_cibles"], r["lignes_publiees_suivi"])
        for name in FILES
        if (r := files.get(sha(name)))
    }
    assert counts == {
        sha("ditp/r1.csv"): (3, 0, 2),  # its draft row replaced by r2
        sha("meae/r.csv"): (1, 0, 1),
        sha("meae/cibles.csv"): (0, 2, 0),
        sha("ditp/r2.csv"): (1, 0, 1),
        sha("ditp/erreur.csv"): (1, 0, 0),  # withdrawn
        sha("dinum/remplace.csv"): (1, 0, 1),
        sha("meae/cibles2.csv"): (0, 1, 0),
    }  # dinum/tout.csv: every row replaced; rejete.csv: rejected
    withdrawn = files[sha("ditp/erreur.csv")]
    assert withdrawn["motif_retrait"] == "Envoyé par erreur" and withdrawn["date_retrait"]
    assert all(r["date_retrait"] is None for s, r in files.items() if s != sha("ditp/erreur.csv"))
    assert {r["porte"] for r in files.values()} == {"depot"} and {r["verdict"] for r in files.values()} == {
        "accepte"
    }
    assert files[sha("meae/cibles.csv")]["lignes_publiees_cibles"] == 2
    assert files[sha("meae/cibles2.csv")]["nom_organisation"].startswith("Ministère de l'Europe")
    # The files whose rows a version holds (what a rollback over a withdrawal is refused on)
    # are read from the row tables, never from this list of files.
    held = submissions_in(campaign.out / "datasets" / PROGRESS_SLUG / "latest")
    assert sha("ditp/erreur.csv") not in held and sha("ditp/r2.csv") in held


def test_rejected_files_are_listed_only_when_the_dataset_says_so(campaign: Campaign) -> None:
    source = campaign.config.source.model_copy(update={"list_rejected_files": True})  # type: ignore[union-attr]
    config = campaign.config.model_copy(update={"source": source})
    tables = gather_progress_tables(config, campaign.settings)
    listed = {r["id_soumission"]: r for r in tables["soumissions"]}
    rejected = listed[sha("ditp/rejete.csv")]
    assert (rejected["verdict"], rejected["id_organisation"], rejected["lignes_acceptees_suivi"]) == (
        "rejete",
        "ditp",
        0,
    )
    assert set(listed) - {sha("ditp/rejete.csv")} == {
        r["id_soumission"] for r in campaign.rows(PROGRESS_SLUG, "soumissions")
    }
    assert sha("dinum/tout.csv") not in listed  # accepted, nothing of it published: not a rejected file


def _typed_csv(path: Path, schema: dict[str, Any]) -> list[list[Any]]:
    """The CSV's rows as frictionless reads them with the table's schema."""
    resource = frictionless.Resource(
        data=path.read_bytes(), format="csv", encoding="utf-8", schema=standalone_schema(schema)
    )
    with resource:
        return [[row[f["name"]] for f in schema["fields"]] for row in resource.row_stream]


def _as_workbook_holds(value: Any, kind: str) -> Any:
    """A CSV value as a typed cell reads back: dates at midnight, times in UTC without a zone."""
    if value is None:
        return None
    if kind == "date":
        return dt.datetime.combine(value, dt.time())
    if kind == "datetime":
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def test_the_workbook_reads_back_as_the_csv_files_with_their_types(campaign: Campaign) -> None:
    latest = campaign.out / "datasets" / PROGRESS_SLUG / "latest"
    book = load_workbook(latest / f"{PROGRESS_SLUG}.xlsx")
    assert (
        book.sheetnames
        == list(campaign.config.workbook)
        == [
            "vue_actions",
            "vue_cibles",
            "suivi",
            "suivi_cibles",
            "soumissions",
        ]
    )
    for name in book.sheetnames:
        schema = load_schema(campaign.settings.schemas_dir, name)
        sheet = book[name]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == [f["name"] for f in schema["fields"]]
        expected = [
            [_as_workbook_holds(v, f["type"]) for v, f in zip(row, schema["fields"], strict=True)]
            for row in _typed_csv(latest / f"{name}.csv", schema)
        ]
        got = [list(r) for r in rows[1:]]
        assert got == expected, name
        for row in got:  # the types, not only equal values (3 == 3.0 == True in Python)
            for value, field in zip(row, schema["fields"], strict=True):
                if value is not None:
                    allowed = {
                        "integer": (int,),
                        "number": (int, float),
                        "boolean": (bool,),
                        "date": (dt.datetime,),
                        "datetime": (dt.datetime,),
                        "string": (str,),
                    }[field["type"]]
                    assert isinstance(value, allowed) and (field["type"] == "boolean") == isinstance(
                        value, bool
                    ), (name, field["name"], value)
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
        first = schema["fields"][0]
        assert sheet["A1"].comment.text.startswith(first["title"])
        dates = [i for i, f in enumerate(schema["fields"], 1) if f["type"] == "date"]
        for column in dates:
            assert {
                c.number_format for c in next(sheet.iter_cols(column, column, 2)) if c.value is not None
            } <= {"yyyy-mm-dd"}
    assert len(book["vue_actions"]["A"]) == 59 and len(book["vue_cibles"]["A"]) == 27


def test_the_workbook_has_the_same_bytes_at_every_build(campaign: Campaign, tmp_path: Path) -> None:
    latest = campaign.out / "datasets" / PROGRESS_SLUG / "latest"
    content = (latest / f"{PROGRESS_SLUG}.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert {i.date_time for i in archive.infolist()} == {ZIP_DATE}
        core = archive.read("docProps/core.xml").decode()
    assert "1980-01-01T00:00:00Z" in core and str(dt.date.today().year) not in core
    # Another process (another hash seed), seconds later, from the published Parquet files.
    time.sleep(1.1)
    script = (
        "import sys, pyarrow.parquet as pq\n"
        "from pathlib import Path\n"
        "from pipelines.core.config import Settings\n"
        "from pipelines.core.schema import load_schema\n"
        "from publish.workbook import workbook_bytes\n"
        "latest, names = Path(sys.argv[1]), sys.argv[2:]\n"
        "tables = {n: pq.read_table(latest / f'{n}.parquet') for n in names}\n"
        "schemas = {n: load_schema(Settings().schemas_dir, n) for n in names}\n"
        "sys.stdout.buffer.write(workbook_bytes(tables, schemas, names))\n"
    )
    again = subprocess.run(
        [sys.executable, "-c", script, str(latest), *campaign.config.workbook],
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=True,
        timeout=120,
    ).stdout
    assert again == content
    # A rerun on the same inputs publishes nothing: every file, the workbook included, is the same.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        assert campaign.publish().published is False


def test_the_workbook_is_a_resource_of_the_package_with_its_size_and_hash(campaign: Campaign) -> None:
    latest = campaign.out / "datasets" / PROGRESS_SLUG / "latest"
    descriptor = json.loads((latest / "datapackage.json").read_text(encoding="utf-8"))
    workbook = next(r for r in descriptor["resources"] if r["format"] == "xlsx")
    content = (latest / workbook["path"]).read_bytes()
    assert workbook["name"] == "classeur" and workbook["type"] == "file"
    assert (workbook["bytes"], workbook["hash"]) == (
        len(content),
        f"sha256:{hashlib.sha256(content).hexdigest()}",
    )
    assert workbook["mediatype"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert len(descriptor["resources"]) == 5 * 3 + 1
    payload = json.loads((latest / "udata.json").read_text(encoding="utf-8"))
    resource = next(r for r in payload["resources"] if r["format"] == "xlsx")
    assert "schema" not in resource and resource["url"].endswith(f"latest/{PROGRESS_SLUG}.xlsx")
    assert validate_datapackage(latest / "datapackage.json") == []


# Pure rules, on hand-made rows.


def test_the_latest_report_is_the_latest_date_then_the_latest_reception() -> None:
    rows = [
        {"id_action": "A", "date_rapport": "2022-12-31", "date_reception": "2023-02-01T09:00:00Z", "n": 1},
        {"id_action": "A", "date_rapport": "2022-12-31", "date_reception": "2023-01-01T09:00:00Z", "n": 2},
        {"id_action": "A", "date_rapport": "2022-06-30", "date_reception": "2023-03-01T09:00:00Z", "n": 3},
        {"id_action": "B", "date_rapport": "2022-06-30", "date_reception": None, "n": 4},
        {"id_action": "B", "date_rapport": "2022-06-30", "date_reception": None, "n": 5},
    ]
    assert {k: r["n"] for k, r in latest_by(rows, "id_action").items()} == {"A": 1, "B": 5}
    assert latest_by(rows, "id_action", as_of="2022-07-01")["A"]["n"] == 3


PLAN: dict[str, list[dict[str, Any]]] = {
    "actions": [{"id_action": "E1-A1-01", "id_engagement": "E1", "titre": "x"}],
    "organisations": [{"id_organisation": "ditp", "nom": "DITP"}],
}
STATES = labels(load_schema(Settings().schemas_dir, "vue_cibles"), "etat")


def target(**given: Any) -> dict[str, Any]:
    found = {
        "id_cible": "E1-A1-01-C1",
        "id_action": "E1-A1-01",
        "citation": "c",
        "nature": "effectif",
        "valeur": 10,
        "valeur_max": None,
        "valeur_approchee": False,
        "valeur_initiale": None,
        "unite": "u",
        "echeance": None,
        "echeance_texte": None,
        "type_echeance": None,
        "source_echeance": None,
    }
    return {**found, **given}


def state(as_of: str, value: float | None = None, **given: Any) -> tuple[Any, str]:
    values = (
        []
        if value is None
        else [{"id_cible": "E1-A1-01-C1", "date_rapport": "2022-12-31", "valeur_atteinte": value}]
    )
    row = derive_target_view({**PLAN, "cibles": [target(**given)]}, values, as_of, STATES)[0]
    return row["part_atteinte"], row["etat"]


def test_the_target_rules() -> None:
    assert state("2023-01-01") == (None, "sans_rapport")
    assert state("2023-01-01", 5) == (0.5, "en_cours")
    assert state("2023-01-01", 5, echeance="2022-12-31") == (0.5, "echeance_depassee")
    assert state("2023-01-01", 12, echeance="2022-12-31") == (1.2, "atteinte")
    # A range is measured to its lower bound; a baseline is where the way starts.
    assert state("2023-01-01", 15, valeur=10, valeur_max=20) == (1.5, "atteinte")
    assert state("2023-01-01", 31, valeur=40, valeur_initiale=23) == (8 / 17, "en_cours")
    # Met when the plan was published: reached without a value, its value columns empty.
    assert state("2023-01-01", None, valeur=18, valeur_initiale=18) == (1.0, "atteinte")
    assert state("2023-01-01", 12, valeur=18, valeur_initiale=18) == (0.0, "en_cours")
    # A milestone dated by its start is overdue when not reported started after that date.
    milestone = {"nature": "jalon", "valeur": None, "echeance": "2021-09-30", "type_echeance": "debut"}
    assert state("2021-09-01", None, **milestone) == (None, "sans_rapport")
    assert state("2022-01-01", None, **milestone) == (None, "echeance_depassee")
    assert state("2022-01-01", 1, **milestone) == (1.0, "atteinte")


def test_files_whose_rows_are_all_replaced_are_left_out_and_unknown_bodies_empty() -> None:
    when = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    files = [
        ReceivedFile("a" * 64, "ditp", when, "depot", True, 2),
        ReceivedFile("b" * 64, "ditp", when, "depot", True, 1),  # replaced
        ReceivedFile("c" * 64, "ditp", when, "guichet", True, 1, 0, when, "erreur"),  # withdrawn
        ReceivedFile("d" * 64, "ditpp", when, "depot", False),  # rejected, a folder of no body
    ]
    rows = derive_files(files, [{"id_soumission": "a" * 64}], [], {"ditp": "DITP"})
    assert [(r["id_soumission"][0], r["id_organisation"], r["lignes_publiees_suivi"]) for r in rows] == [
        ("a", "ditp", 1),
        ("c", "ditp", 0),
        ("d", None, 0),
    ]


def test_the_door_is_a_kind_never_a_path() -> None:
    assert door_of(Origin.from_json("depot:ditp/rapport.csv")) == "depot"
    assert door_of(Origin.from_json("exemple:ditp/suivi.xlsx")) == "exemple"
    assert door_of(Origin.from_json("https://exemple.fr/rapport.csv?token=***")) == "url"
    assert door_of(Origin.from_json("guichet:acces-123")) == "guichet"


def test_a_body_name_with_the_separator_is_refused() -> None:
    from pipelines.core.errors import ConfigError
    from pipelines.gather.submissions.views import derive_action_view

    plan = {
        **PLAN,
        "organisations": [{"id_organisation": "ditp", "nom": "DITP ; mission"}],
        "ambitions": [],
        "engagements": [],
        "responsables": [],
    }
    with pytest.raises(ConfigError) as caught:
        derive_action_view(plan, [], [], {})
    assert "DITP ; mission" in caught.value.message
