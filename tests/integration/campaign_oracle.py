"""The campaign at a glance, computed by the test from the archive's own files (the journal,
each accepted file's rows, the journal of mails) and the plan: what the console and
``etat-collecte.html`` must show at the top. Written apart from ``intake.status``."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.gather.submissions.plan_facts import PlanFacts


def _lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def glance(archive: Path, plan: PlanFacts, today: str) -> dict[str, object]:
    """The counts at the top: bodies expected and answered, actions without any report,
    rejected files not followed by an accepted one, targets past their deadline without a
    value, bodies to chase, the date of the last reminder."""
    journal = _lines(archive / "journal.jsonl")
    withdrawn = {e["sha256"] for e in journal if e.get("evenement") == "retrait"}
    receptions = [
        e for e in journal if e.get("evenement", "reception") == "reception" and e["sha256"] not in withdrawn
    ]
    bodies = sorted(o for o in plan.organisations if plan.actions_of(o))
    accepted = [e for e in receptions if e["verdict"] == "accepte" and e.get("organisme")]
    reported: set[str] = set()
    valued: set[str] = set()
    for e in accepted:
        folder = archive / "soumissions" / str(e["sha256"])
        reported |= {r["id_action"] for r in json.loads((folder / "lignes.json").read_text(encoding="utf-8"))}
        if (folder / "cibles.json").exists():
            valued |= {
                r["id_cible"] for r in json.loads((folder / "cibles.json").read_text(encoding="utf-8"))
            }
    pending = 0
    for body in bodies:
        mine = [e for e in receptions if e.get("organisme") == body]
        last_accepted = max((i for i, e in enumerate(mine) if e["verdict"] == "accepte"), default=-1)
        pending += sum(1 for i, e in enumerate(mine) if e["verdict"] == "rejete" and i > last_accepted)
    actions = {a for b in bodies for a in plan.actions_of(b)}
    targets = {t.id_cible: t for b in bodies for t in plan.targets_of(b)}
    mails = _lines(archive / "courriels" / "journal.jsonl")
    reminders = {e["n"]: e for e in mails if e.get("evenement") == "prevu" and e["type"] == "relance"}
    sent = [
        e["date"]
        for e in mails
        if e.get("evenement") == "issue" and e["prevu"] in reminders and e["issue"] in ("envoye", "incertain")
    ]
    chase = 0
    for body in bodies:
        mine = [e for e in receptions if e.get("organisme") == body]
        last_accepted = max((i for i, e in enumerate(mine) if e["verdict"] == "accepte"), default=-1)
        if (
            any(a not in reported for a in plan.actions_of(body))
            or any(t.id_cible not in valued for t in plan.targets_of(body))
            or any(e["verdict"] == "rejete" and i > last_accepted for i, e in enumerate(mine))
        ):
            chase += 1
    return {
        "attendus": len(bodies),
        "ont_repondu": len({e["organisme"] for e in accepted}),
        "actions_sans_rapport": len(actions - reported),
        "rejets_en_attente": pending,
        "cibles_echues": sum(
            1 for t in targets.values() if t.deadline and t.deadline < today and t.id_cible not in valued
        ),
        "a_relancer": chase,
        "derniere_relance": max(sent)[:10] if sent else None,
    }
