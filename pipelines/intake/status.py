"""Intake: the campaign as of now, per body, read from the archive and the plan.

What a steward chasing reports needs, body by body: the actions it answers for (with the
bodies it shares them with), its last accepted report on each, the actions it never
reported on, the targets of its actions with the last value reached it sent (and those it
never sent a value for), its rejected files that no accepted file followed (with the first errors and
the real path of the report), and the warnings of its last accepted file. Files nobody
could attribute are listed apart. Reads only: the journal, the reports and the rows.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.core.config import DatasetConfig, Settings
from pipelines.gather.submissions.plan_facts import PlanFacts, plan_facts, source_of, with_reporters
from pipelines.io.atomic import write_atomically
from pipelines.state.archive import REPORT, SubmissionArchive, arrival

FIRST_ERRORS = 3
STATUS_FILE = "etat-collecte"


@dataclass(frozen=True)
class LastReport:
    date_rapport: str
    statut: str
    avancement_pct: str
    fichier: str
    arrivee: str
    id_soumission: str


@dataclass(frozen=True)
class ActionStatus:
    id_action: str
    titre: str
    coresponsables: list[str]
    dernier_rapport: LastReport | None  # this body's own
    dernier_rapport_autre: dict[str, str] | None = None  # a co-responsible's, when later


@dataclass(frozen=True)
class LastValue:
    date_rapport: str
    valeur_atteinte: str
    fichier: str
    arrivee: str


@dataclass(frozen=True)
class TargetStatus:
    id_cible: str
    id_action: str
    echeance: str | None
    derniere_valeur: LastValue | None  # the latest value reached any body sent for the target


@dataclass(frozen=True)
class FileNote:
    """A received file as the status shows it: where it is, what was wrong or worth a look."""

    fichier: str
    origine: str
    arrivee: str
    verdict: str
    premiers_messages: list[dict[str, Any]]
    rapport: str  # absolute path of the HTML report


@dataclass
class BodyStatus:
    id_organisation: str
    nom: str
    actions: list[ActionStatus] = field(default_factory=list)
    rejets_en_attente: list[FileNote] = field(default_factory=list)
    avertissements: list[FileNote] = field(default_factory=list)
    cibles: list[TargetStatus] = field(default_factory=list)

    @property
    def sans_rapport(self) -> list[str]:
        return [a.id_action for a in self.actions if a.dernier_rapport is None]

    @property
    def cibles_sans_valeur(self) -> list[str]:
        """The targets of the body's actions that no accepted file has given a value for."""
        return [t.id_cible for t in self.cibles if t.derniere_valeur is None]

    @property
    def dernier_rapport(self) -> str | None:
        dates = [a.dernier_rapport.arrivee for a in self.actions if a.dernier_rapport]
        return max(dates) if dates else None


@dataclass
class CampaignStatus:
    dataset: str
    organismes: list[BodyStatus]
    non_attribues: list[FileNote]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (French keys), with each body's derived lists spelled out."""
        return {
            "jeu_de_donnees": self.dataset,
            "organismes": [
                {
                    **asdict(b),
                    "sans_rapport": b.sans_rapport,
                    "dernier_rapport": b.dernier_rapport,
                    "cibles_sans_valeur": b.cibles_sans_valeur,
                }
                for b in self.organismes
            ],
            "non_attribues": [asdict(n) for n in self.non_attribues],
        }


def _note(archive: SubmissionArchive, entry: dict[str, Any], severity_key: str) -> FileNote:
    folder = archive.folder(entry["sha256"])
    report = json.loads((folder / REPORT).read_text(encoding="utf-8"))
    messages = [
        {
            "ligne": p.get("ligne"),
            "colonne": p.get("colonne"),
            "code": p["code"],
            "message": p.get("regle", ""),
        }
        for p in report.get(severity_key, [])[:FIRST_ERRORS]
    ]
    return FileNote(
        entry["fichier"],
        entry["origine"],
        arrival(entry),
        report.get("resume", entry["verdict"]),
        messages,
        str((folder / "rapport.html").resolve()),
    )


def _supersedes(found: LastReport | LastValue, known: LastReport | LastValue | None) -> bool:
    """Whether ``found`` is the one to show over ``known``: a later report date, or the same
    date arrived later or at once (the archive yields files in arrival order)."""
    return known is None or (found.date_rapport, found.arrivee) >= (known.date_rapport, known.arrivee)


def campaign_status(
    config: DatasetConfig,
    settings: Settings,
    plan: PlanFacts | None = None,
    archive: SubmissionArchive | None = None,
) -> CampaignStatus:
    """The campaign of a progress dataset, body by body (bodies in identifier order).

    ``archive``: the dataset's archive when the caller holds one (a collection, whose
    journal is already read and up to date), else read from the state folder."""
    source = source_of(config)
    plan = plan or with_reporters(plan_facts(config), source)
    archive = archive or SubmissionArchive(settings.state_dir / config.slug)
    withdrawn = archive.withdrawals()
    receptions = sorted(
        (
            e
            for e in archive.receptions()
            if e.get("exemple", False) == source.sample and e["sha256"] not in withdrawn
        ),
        key=lambda e: (arrival(e), e["origine"], e["n"]),
    )
    own: dict[tuple[str, str], LastReport] = {}  # (body, action) → its latest report
    latest: dict[str, tuple[str, LastReport]] = {}  # action → (body, latest report by anyone)
    values: dict[str, LastValue] = {}  # target → its latest value, by report date then arrival
    for submission in archive.accepted(source.sample):
        for row in submission.target_rows:
            value = LastValue(
                row["date_rapport"], row["valeur_atteinte"], submission.file_name, submission.arrived_at
            )
            if _supersedes(value, values.get(row["id_cible"])):
                values[row["id_cible"]] = value
        for row in submission.rows:
            report = LastReport(
                row["date_rapport"],
                row["statut"],
                row["avancement_pct"],
                submission.file_name,
                submission.arrived_at,
                submission.sha256,
            )
            key = (str(submission.organisation), row["id_action"])
            if _supersedes(report, own.get(key)):
                own[key] = report
            known = latest.get(row["id_action"])
            if _supersedes(report, known[1] if known else None):
                latest[row["id_action"]] = (str(submission.organisation), report)
    by_body: dict[str, list[dict[str, Any]]] = {}
    for entry in receptions:
        by_body.setdefault(str(entry.get("organisme")), []).append(entry)
    bodies: list[BodyStatus] = []
    for body in sorted(o for o in plan.organisations if plan.actions_of(o)):
        status = BodyStatus(body, plan.organisation_names.get(body, body))
        for action in sorted(plan.actions_of(body)):
            mine = own.get((body, action))
            other = latest.get(action)
            later = (
                other is not None
                and other[0] != body
                and (
                    mine is None
                    or (other[1].date_rapport, other[1].arrivee) > (mine.date_rapport, mine.arrivee)
                )
            )
            status.actions.append(
                ActionStatus(
                    action,
                    plan.action_titles.get(action, ""),
                    [b for b in plan.responsible_for(action) if b != body],
                    mine,
                    {"organisme": other[0], "date_rapport": other[1].date_rapport}
                    if later and other
                    else None,
                )
            )
        status.cibles = [
            TargetStatus(t.id_cible, t.id_action, t.deadline, values.get(t.id_cible))
            for t in plan.targets_of(body)
        ]
        mine_received = by_body.get(body, [])  # in arrival order
        accepted = [e for e in mine_received if e["verdict"] == "accepte"]
        last_accepted = arrival(accepted[-1]) if accepted else ""
        status.rejets_en_attente = [
            _note(archive, e, "erreurs")
            for e in mine_received
            if e["verdict"] == "rejete" and arrival(e) > last_accepted
        ]
        if accepted:
            note = _note(archive, accepted[-1], "avertissements")
            if note.premiers_messages:
                status.avertissements = [note]
        bodies.append(status)
    unattributed = [_note(archive, e, "erreurs") for e in receptions if not e.get("organisme")]
    return CampaignStatus(config.slug, bodies, unattributed)


def to_remind(status: CampaignStatus) -> list[BodyStatus]:
    """The bodies to chase: an action without a report, a target without a value, or a
    rejected file not yet replaced."""
    return [
        body
        for body in status.organismes
        if body.sans_rapport or body.cibles_sans_valeur or body.rejets_en_attente
    ]


def reminders_csv(status: CampaignStatus) -> bytes:
    """A CSV for a mail merge, as French spreadsheets open it (UTF-8 with BOM, ``;``): one
    line per body with something to chase."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "organisme",
            "nom",
            "actions_sans_rapport",
            "dernier_fichier_rejete",
            "motif_du_rejet",
            "cibles_sans_valeur",
        ]
    )
    for body in to_remind(status):
        rejected = body.rejets_en_attente[-1] if body.rejets_en_attente else None
        reason = "; ".join(m["message"] for m in rejected.premiers_messages) if rejected else ""
        writer.writerow(
            [
                body.id_organisation,
                body.nom,
                ", ".join(body.sans_rapport),
                rejected.fichier if rejected else "",
                reason,
                ", ".join(body.cibles_sans_valeur),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _html_table(headings: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A table of text cells, escaped, the first cell of each row its header."""
    e = html.escape
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headings)
    body = "".join(
        f'<tr><th scope="row">{e(first)}</th>' + "".join(f"<td>{e(c)}</td>" for c in rest) + "</tr>"
        for first, *rest in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def status_html(status: CampaignStatus) -> str:
    """The same state as a page a steward opens from the state folder (no script)."""
    e = html.escape
    parts = [
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">',
        f"<title>État de la collecte : {e(status.dataset)}</title></head><body>",
        f"<h1>État de la collecte : {e(status.dataset)}</h1>",
    ]
    for body in status.organismes:
        parts.append(f'<h2 id="{e(body.id_organisation)}">{e(body.nom)} ({e(body.id_organisation)})</h2>')
        parts.append(
            _html_table(
                ("Action", "Coresponsables", "Dernier rapport"),
                [
                    (
                        a.id_action,
                        ", ".join(a.coresponsables),
                        f"{a.dernier_rapport.date_rapport} : {a.dernier_rapport.statut} ({a.dernier_rapport.fichier}, "
                        f"reçu le {a.dernier_rapport.arrivee[:10]})"
                        if a.dernier_rapport
                        else "sans rapport",
                    )
                    for a in body.actions
                ],
            )
        )
        if body.cibles:
            parts.append(
                _html_table(
                    ("Cible", "Échéance", "Dernière valeur atteinte"),
                    [
                        (
                            t.id_cible,
                            t.echeance or "—",
                            f"{t.derniere_valeur.valeur_atteinte} au {t.derniere_valeur.date_rapport} "
                            f"({t.derniere_valeur.fichier}, reçu le {t.derniere_valeur.arrivee[:10]})"
                            if t.derniere_valeur
                            else "aucune valeur",
                        )
                        for t in body.cibles
                    ],
                )
            )
        for note in body.rejets_en_attente:
            parts.append(
                f"<p>Fichier rejeté, pas encore remplacé : {e(note.fichier)} ({e(note.arrivee[:10])}) — "
                f'{e(note.verdict)} <a href="file://{e(note.rapport)}">rapport</a></p>'
            )
    if status.non_attribues:
        parts.append("<h2>Fichiers non attribués</h2><ul>")
        parts += [
            f"<li>{e(n.origine)} ({e(n.arrivee[:10])}) : {e(n.verdict)}</li>" for n in status.non_attribues
        ]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_status(config: DatasetConfig, settings: Settings, status: CampaignStatus) -> Path:
    """``<state>/<slug>/etat-collecte.{json,html}``, rewritten after each collection."""
    root = settings.state_dir / config.slug
    write_atomically(
        root / f"{STATUS_FILE}.json",
        (json.dumps(status.to_dict(), ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"),
    )
    write_atomically(root / f"{STATUS_FILE}.html", status_html(status).encode("utf-8"))
    return root / f"{STATUS_FILE}.json"
