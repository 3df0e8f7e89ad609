"""Synthetic progress tables (the ``suivi`` schema) for the bench and the differential tests.

A fixed seed gives the same bytes every time. Comments are French text with accents,
commas, semicolons and doubled quotes; rows are about 280 bytes, like the progress-like
table the scale target was measured on. The invalid variant spoils about one row in a
hundred, cycling through every kind of error frictionless reports on such a file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELDS = [
    "id_action",
    "date_rapport",
    "statut",
    "avancement_pct",
    "commentaire",
    "preuve_url",
    "id_organisation",
    "id_soumission",
    "date_reception",
]
# Rows come in lots of this many, each as from one received file (its sha256, its arrival):
# a consolidated export has few distinct provenance values.
LOT_ROWS = 1000
STATUSES = ["non_commence", "limite", "substantiel", "complet", "abandonne", "non_evalue"]
WORDS = [
    "consultation",
    "publique",
    "ouverte",
    "en",
    "juin",
    ";",
    "synthèse",
    "rédigée",
    "par",
    "l'équipe",
    "du",
    "ministère",
    "données",
    "« ouvertes »",
    "élaboration,",
    "concertée",
    'dite "agile"',
    "État",
    "collectivités",
    "à",
    "déployer",
    "d'ici",
    "décembre",
    "réunion",
    "trimestrielle",
    "comité",
    "de",
    "suivi",
    "hébergé",
    "sur",
    "data.gouv.fr",
]

# Each invalid row carries one error kind (the cell values are what a steward might type).
ERROR_KINDS = [
    "date-format",
    "date-impossible",
    "pct-text",
    "pct-range",
    "pct-negative",
    "statut-enum",
    "action-pattern",
    "action-missing",
    "statut-missing",
    "url-format",
    "url-pattern",
    "org-pattern",
    "comment-too-long",
    "duplicate-key",
    "unknown-action",
    "unknown-org",
    "blank-row",
    "missing-cell",
    "extra-cell",
]


def reference_keys() -> tuple[list[str], list[str]]:
    """Action and organisation ids of the real plan (the foreign keys' targets)."""
    from pipelines.core.config import Settings, load_dataset
    from pipelines.gather.plan.records import gather_plan_records

    config = load_dataset(Settings().datasets_dir / "plan-action-pgo-2021-2023")
    records = gather_plan_records(config)
    actions = sorted({row["id_action"] for row in records["actions"]})
    organisations = sorted({row["id_organisation"] for row in records["organisations"]})
    return actions, organisations


def _comment(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(22, 30)))


def _rows(count: int, invalid: bool, actions: list[str], organisations: list[str]) -> Iterator[list[str]]:
    rng = random.Random(20211231)
    start = date(2021, 1, 1)
    kinds = iter(ERROR_KINDS * (count // (100 * len(ERROR_KINDS)) + 1))
    for i in range(count):
        action = actions[i % len(actions)]
        day = start + timedelta(days=i // len(actions))
        statut = rng.choice(STATUSES)
        pct = {"non_commence": 0, "complet": 100}.get(statut, rng.randint(1, 99))
        url = f"https://www.exemple.gouv.fr/pgo/{action.lower()}/rapport-{i}.pdf"
        lot = i // LOT_ROWS
        arrival = (datetime(2021, 1, 1, 9) + timedelta(hours=lot)).strftime("%Y-%m-%dT%H:%M:%SZ")
        row = [
            action,
            day.isoformat(),
            statut,
            str(pct),
            _comment(rng),
            url,
            rng.choice(organisations),
            hashlib.sha256(f"lot-{lot}".encode()).hexdigest(),
            arrival,
        ]
        if invalid and i % 100 == 57:
            yield from _spoil(row, next(kinds), i, actions)
            continue
        yield row


def _spoil(row: list[str], kind: str, i: int, actions: list[str]) -> Iterator[list[str]]:
    changes = {
        "date-format": (1, "31/12/2022"),
        "date-impossible": (1, "2022-02-30"),
        "pct-text": (3, "60 %"),
        "pct-range": (3, "150"),
        "pct-negative": (3, "-5"),
        "statut-enum": (2, "terminé"),
        "action-pattern": (0, "e1-a1-01"),
        "action-missing": (0, ""),
        "statut-missing": (2, ""),
        "url-format": (5, "www.exemple.gouv.fr/rapport"),
        "url-pattern": (5, "ftp://ftp.exemple.gouv.fr/rapport.pdf"),
        "org-pattern": (6, "DITP"),
        "comment-too-long": (4, "é" * 5001),
        "unknown-action": (0, "E9-A9-99"),
        "unknown-org": (6, "organisme-inconnu"),
    }
    if kind in changes:
        column, value = changes[kind]
        row[column] = value
        yield row
    elif kind == "duplicate-key":  # the key of a row written earlier
        row[0], row[1] = actions[(i - 1) % len(actions)], row[1]
        yield row
    elif kind == "blank-row":
        yield [""] * len(FIELDS)
    elif kind == "missing-cell":
        yield row[:5]
    elif kind == "extra-cell":
        yield [*row, "cellule en trop"]


def write_progress_csv(
    path: Path, count: int, *, invalid: bool = False, keys: tuple[list[str], list[str]] | None = None
) -> int:
    """Writes ``count`` rows (plus the header); returns the file's size in bytes."""
    actions, organisations = keys or reference_keys()
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(FIELDS)
        writer.writerows(_rows(count, invalid, actions, organisations))
    return path.stat().st_size


def write_package(
    folder: Path, count: int, *, invalid: bool = False, keys: tuple[list[str], list[str]] | None = None
) -> Path:
    """``suivi.csv`` and the two key tables it refers to, as one Data Package."""
    actions, organisations = keys or reference_keys()
    folder.mkdir(parents=True, exist_ok=True)
    write_progress_csv(folder / "suivi.csv", count, invalid=invalid, keys=(actions, organisations))
    for name, ids in (("actions", actions), ("organisations", organisations)):
        key = f"id_{name[:-1]}"
        (folder / f"{name}.csv").write_text("\n".join([key, *ids]) + "\n", encoding="utf-8")
    schema = json.loads((ROOT / "schemas" / "suivi.json").read_text(encoding="utf-8"))
    schema.pop("$schema", None)

    def key_schema(key: str) -> dict:
        return {"fields": [{"name": key, "type": "string"}], "primaryKey": [key]}

    descriptor = {
        "name": "suivi-synthetique",
        "resources": [
            {"name": "suivi", "path": "suivi.csv", "schema": schema},
            {"name": "actions", "path": "actions.csv", "schema": key_schema("id_action")},
            {"name": "organisations", "path": "organisations.csv", "schema": key_schema("id_organisation")},
        ],
    }
    path = folder / "datapackage.json"
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


DATASET_SLUG = "suivi-consolide-synthetique"
PLAN_SLUG = "plan-action-pgo-2021-2023"


def write_datasets_dir(
    folder: Path, count: int, *, invalid: bool = False, keys: tuple[list[str], list[str]] | None = None
) -> Path:
    """A catalogue of the real plan and one ``table_file`` dataset of ``count`` rows."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "datasets" / "catalogue.yaml", folder / "catalogue.yaml")
    plan = folder / PLAN_SLUG
    if not plan.exists():
        shutil.copytree(ROOT / "datasets" / PLAN_SLUG, plan)
    dataset = folder / DATASET_SLUG
    dataset.mkdir(exist_ok=True)
    write_progress_csv(dataset / "suivi.csv", count, invalid=invalid, keys=keys)
    (dataset / "dataset.yaml").write_text(
        f"""\
slug: {DATASET_SLUG}
title: "[Données synthétiques] Suivi consolidé de l'avancement des actions du plan PGO"
description: >-
  Table synthétique de {count} rapports d'avancement, générée pour mesurer la chaîne de
  publication à grande échelle (graine fixe). Elle ne décrit pas l'avancement réel du plan.
publisher:
  name: "Direction interministérielle de la transformation publique"
  acronym: DITP
keywords: [gouvernement ouvert, PGO, suivi]
licence:
  id: etalab-2.0
  title: "Licence Ouverte / Open Licence version 2.0"
  url: "https://www.etalab.gouv.fr/licence-ouverte-open-licence"
frequency: IRREG
themes: [GOVE]
source:
  kind: table_file
  table: suivi
  path: suivi.csv
  plan: {PLAN_SLUG}
  title: "Export consolidé synthétique"
  publisher: "Banc d'essai du pipeline"
tables: [suivi]
""",
        encoding="utf-8",
    )
    return folder
