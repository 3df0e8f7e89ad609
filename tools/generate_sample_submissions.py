"""Writes the invented sample submissions bundled with the progress dataset.

Run once by hand (``.venv/bin/python -m tools.generate_sample_submissions``); its output is
committed. Three bodies, three ways a body really sends its report: the xlsx template
filled in (DITP), a UTF-8 CSV (DINUM), and what French Excel exports by default, a
Windows-1252, semicolon, decimal-comma, dd/mm/yyyy CSV with typed status labels (MEAE).
MEAE also sends its template's « Cibles » sheet filled in (values reached of its targets),
the « Suivi » sheet left as received.
Every figure and comment is invented: the dataset says so in its title.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from openpyxl import load_workbook

from pipelines.core.config import load_dataset
from pipelines.gather.submissions.plan_facts import plan_facts
from pipelines.gather.submissions.template import TemplateAction, write_template_xlsx

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "datasets" / "suivi-plan-action-pgo-2021-2023"
INBOX = DATASET / "soumissions-exemple"

DITP = [  # (action, date, statut, pct, commentaire, preuve)
    (
        "E1-A1-01",
        dt.date(2022, 6, 30),
        "limite",
        30,
        "Premiers ateliers organisés avec les administrations pilotes.",
        None,
    ),
    (
        "E1-A1-01",
        dt.date(2022, 12, 31),
        "substantiel",
        70,
        "Méthode publiée ; déploiement en cours dans 4 ministères.",
        "https://www.modernisation.gouv.fr/",
    ),
    (
        "E1-A1-02",
        dt.date(2022, 12, 31),
        "substantiel",
        60,
        "Accélérateur ouvert, 12 initiatives accompagnées.",
        None,
    ),
    (
        "E1-A1-04",
        dt.date(2022, 12, 31),
        "complet",
        100,
        "Action achevée : « bilan » publié.",
        "https://www.modernisation.gouv.fr/",
    ),
    ("E1-A1-06", dt.date(2022, 12, 31), "non_commence", 0, None, None),
    (
        "E2-A1-10",
        dt.date(2022, 12, 31),
        "limite",
        20,
        "Cadrage avec le ministère de l'Enseignement supérieur.",
        None,
    ),
    ("E2-A2-03", dt.date(2022, 12, 31), "non_evalue", None, "Pilotage transféré, évaluation à venir.", None),
    ("E3-A2-01", dt.date(2022, 12, 31), "substantiel", 50, None, None),
]

DINUM = (
    "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
    'E1-A1-02,2023-03-31,substantiel,75,"Accélérateur : 20 initiatives, dont 3 ""communs"" numériques.",\n'
    "E2-A1-04,2022-12-31,complet,100,Inventaire des algorithmes et code.gouv.fr en ligne.,https://code.gouv.fr/\n"
    'E2-A1-06,2022-12-31,limite,25,"Formation des PRADA : 2 sessions, 40 personnes.",\n'
)

MEAE = (
    "id_action;date_rapport;Statut;avancement_pct;commentaire;preuve_url\r\n"
    "E6-A1-01;30/06/2022;Limité;25,0;Groupe de travail réuni deux fois, réseau des ambassades sollicité;\r\n"
    "E6-A2-01;31/12/2022;Substantiel;60;Coopération engagée avec trois partenaires européens;\r\n"
    "E6-A2-02;31/12/2022;non commencé;;Calendrier décalé à 2023;\r\n"
    "E6-A3-01;31/12/2022;Complet;100 %;Données de l'aide publique au développement publiées;https://www.data.gouv.fr/\r\n"
)


MEAE_TARGETS = {  # id_cible: (date, valeur atteinte, commentaire, preuve)
    "E6-A1-01-C1": (dt.date(2022, 6, 30), 18, "Débats tenus dans les 18 régions ; synthèse remise.", None),
    "E6-A1-01-C2": (dt.date(2022, 6, 30), 0, "Comité constitué, première réunion reportée.", None),
    "E6-A1-01-C3": (dt.date(2022, 6, 30), 1, "Rapport final remis.", "https://www.diplomatie.gouv.fr/"),
}


def main() -> None:
    config = load_dataset(DATASET)
    plan = plan_facts(config)
    schema = json.loads((ROOT / "schemas" / "soumission.json").read_text(encoding="utf-8"))
    actions = [TemplateAction(a, plan.action_titles[a]) for a in sorted(plan.actions_of("ditp"))]
    path = INBOX / "ditp" / "suivi-ditp-2022-12.xlsx"
    write_template_xlsx(path, "ditp", plan.organisation_names["ditp"], actions, plan.start, schema)
    workbook = load_workbook(path)
    sheet = workbook["Suivi"]
    rows = {sheet.cell(r, 1).value: r for r in range(2, len(actions) + 2)}
    free = len(actions) + 2
    for action, date, statut, pct, comment, proof in DITP:
        row = rows.pop(action, None)
        if row is None:
            row, free = free, free + 1
            sheet.cell(row, 1, action)
        for column, value in zip((3, 4, 5, 6, 7), (date, statut, pct, comment, proof), strict=True):
            if value is not None:
                sheet.cell(row, column, value)
    workbook.save(path)
    (INBOX / "dinum").mkdir(parents=True, exist_ok=True)
    (INBOX / "dinum" / "suivi-dinum.csv").write_bytes(DINUM.encode("utf-8"))
    (INBOX / "meae").mkdir(parents=True, exist_ok=True)
    (INBOX / "meae" / "export-excel-meae.csv").write_bytes(MEAE.encode("cp1252"))
    targets_schema = json.loads((ROOT / "schemas" / "soumission-cibles.json").read_text(encoding="utf-8"))
    meae = [TemplateAction(a, plan.action_titles[a]) for a in sorted(plan.actions_of("meae"))]
    path = INBOX / "meae" / "cibles-meae-2022-06.xlsx"
    write_template_xlsx(
        path,
        "meae",
        plan.organisation_names["meae"],
        meae,
        plan.start,
        schema,
        plan.targets_of("meae"),
        targets_schema,
    )
    workbook = load_workbook(path)
    sheet = workbook["Cibles"]
    for row in range(2, sheet.max_row + 1):
        filled = MEAE_TARGETS.get(sheet.cell(row, 1).value)
        for column, value in zip((6, 7, 8, 9), filled or (), strict=False):
            if value is not None:
                sheet.cell(row, column, value)
    workbook.save(path)


if __name__ == "__main__":
    main()
