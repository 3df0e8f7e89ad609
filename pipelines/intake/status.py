"""Intake: the campaign as of now, per body, read from the archive and the plan.

What a steward chasing reports needs, body by body: the actions it answers for (with the
bodies it shares them with), the latest report on each, the actions nobody reported on,
the targets of its actions with the last value reached (and those without one), its files
in the order they were received with each reception's verdict and door, its rejected files
that no accepted file followed (with the first errors and the real path of the report),
its accepted files that changed nothing published (every row replaced by a later file, or
said before) and the warnings of its last accepted file. Files nobody could attribute and
links refused are listed apart. Reads only: the journal, the reports and the rows.

« Sans rapport » has one meaning, here and on the published pages: an action on which no
accepted report was received from any body entitled to report on it. An action shared by
several bodies and reported by one of them is not « sans rapport » for the others (the
status says who reported it); the reminders chase only actions without any report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from pipelines.core.look import SITE_CSS
from pipelines.core.problems import Problem
from pipelines.gather.submissions.plan_facts import PlanFacts, campaign_plan
from pipelines.gather.submissions.records import Merged, ReceptionEffect, merge_submissions
from pipelines.intake.render import environment
from pipelines.io.atomic import write_atomically
from pipelines.state.archive import AcceptedSubmission, SubmissionArchive
from pipelines.state.campaign import ResolvedCampaign
from pipelines.state.contacts import ContactBook
from pipelines.state.journal import Reception
from pipelines.state.layout import ArchiveLayout
from pipelines.state.mails import Mail, MailJournal, MailKind
from pipelines.validate.report import where_of

FIRST_ERRORS = 3
LAST_MAILS = 5


@dataclass(frozen=True)
class LastReport:
    date_rapport: str
    statut: str
    avancement_pct: str
    fichier: str
    arrivee: str
    id_soumission: str
    organisme: str = ""


@dataclass(frozen=True)
class ActionStatus:
    id_action: str
    titre: str
    coresponsables: list[str]
    dernier_rapport: LastReport | None  # this body's own
    dernier_rapport_autre: dict[str, str] | None = None  # a co-responsible's, when later

    @property
    def sans_rapport(self) -> bool:
        """No accepted report on the action from anyone entitled to report on it."""
        return self.dernier_rapport is None and self.dernier_rapport_autre is None


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
    """A reception as the status shows it: which file, through which door, when, the
    verdict, the first messages of the chosen kind and the report; for an accepted file,
    what it contributes now (``effet``: empty when all its rows are published)."""

    fichier: str
    origine: str
    porte: str
    arrivee: str
    verdict: str
    premiers_messages: list[dict[str, Any]]
    rapport: str  # absolute path of the HTML report
    id_soumission: str = ""
    accepte: bool = False
    effet: str = ""
    reception: int = 0  # its line in the journal (the console's links)


@dataclass(frozen=True)
class RefusalNote:
    origine: str
    fichier: str
    code: str
    motif: str
    date: str


@dataclass(frozen=True)
class MailNote:
    """A mail sent to a body, as the status shows it: never an address."""

    type: str  # accuse, relance, alerte
    objet: str
    date: str
    issue: str  # envoye, refuse, echec, incertain
    refus: int = 0  # contacts the relay refused for good


@dataclass
class BodyStatus:
    id_organisation: str
    nom: str
    actions: list[ActionStatus] = field(default_factory=list)
    rejets_en_attente: list[FileNote] = field(default_factory=list)
    avertissements: list[FileNote] = field(default_factory=list)
    cibles: list[TargetStatus] = field(default_factory=list)
    fichiers: list[FileNote] = field(default_factory=list)  # every reception, in order
    sans_effet: list[FileNote] = field(default_factory=list)  # accepted, yet (partly) replaced
    retraits: list[dict[str, str]] = field(default_factory=list)  # withdrawn files, with reasons
    contacts: int = 0
    courriels: list[MailNote] = field(default_factory=list)  # the last ones, oldest first

    @property
    def a_repondu(self) -> bool:
        """At least one of its files was accepted (and not withdrawn)."""
        return any(n.accepte for n in self.fichiers)

    def cibles_echues(self, today: str) -> list[str]:
        """Its targets whose deadline is before ``today`` (ISO date) and that have no value."""
        return [
            t.id_cible
            for t in self.cibles
            if t.derniere_valeur is None and t.echeance is not None and t.echeance < today
        ]

    @property
    def sans_rapport(self) -> list[str]:
        return [a.id_action for a in self.actions if a.sans_rapport]

    @property
    def cibles_sans_valeur(self) -> list[str]:
        """The targets of the body's actions that no accepted file has given a value for."""
        return [t.id_cible for t in self.cibles if t.derniere_valeur is None]

    @property
    def dernier_rapport(self) -> str | None:
        dates = [a.dernier_rapport.arrivee for a in self.actions if a.dernier_rapport]
        return max(dates) if dates else None


@dataclass(frozen=True)
class CampaignSummary:
    """The campaign at a glance, at the top of the console and of ``etat-collecte.html``."""

    organismes_attendus: int
    organismes_ayant_repondu: int
    actions_sans_rapport: int  # distinct actions nobody entitled reported on
    rejets_en_attente: int  # rejected files no accepted file followed
    cibles_echues_sans_valeur: int  # targets past their deadline without any value
    organismes_a_relancer: int
    derniere_relance: str | None  # when the last reminder went


@dataclass
class CampaignStatus:
    dataset: str
    organismes: list[BodyStatus]
    non_attribues: list[FileNote]
    refus: list[RefusalNote] = field(default_factory=list)
    exemple: bool = False
    boite_de_depot: str = ""
    echeance: str | None = None
    derniere_relance: str | None = None

    def summary(self, today: str) -> CampaignSummary:
        """The counts at the top, as of ``today`` (ISO date) for the targets' deadlines."""
        return CampaignSummary(
            len(self.organismes),
            sum(b.a_repondu for b in self.organismes),
            len({a for b in self.organismes for a in b.sans_rapport}),
            sum(len(b.rejets_en_attente) for b in self.organismes),
            len({t for b in self.organismes for t in b.cibles_echues(today)}),
            len(to_remind(self)),
            self.derniere_relance,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (French keys), with each body's derived lists spelled out."""
        return {
            "jeu_de_donnees": self.dataset,
            "exemple": self.exemple,
            "boite_de_depot": self.boite_de_depot,
            "echeance": self.echeance,
            "derniere_relance": self.derniere_relance,
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
            "refus": [asdict(r) for r in self.refus],
        }


def effect_sentence(effect: ReceptionEffect | None, names: dict[int, Reception]) -> str:
    """What an accepted reception contributes, in French, when it is not all of its rows
    (``names``: receptions by journal line); empty when every row is published."""
    if effect is None or effect.rows == 0 or effect.published == effect.rows:
        return ""

    def files(counts: dict[int, int], verb: str) -> str:
        return " ; ".join(
            f"{n} ligne(s) {verb} {names[k].file_name} (reçu le {names[k].arrived_at[:10]})"
            for k, n in sorted(counts.items())
        )

    parts = [
        p
        for p in (
            files(effect.replaced_by, "remplacée(s) par"),
            files(effect.identical_to, "déjà reçue(s) dans"),
        )
        if p
    ]
    if effect.without_effect:
        return "Accepté, mais rien n'en est publié : " + " ; ".join(parts) + "."
    return f"{effect.published} ligne(s) sur {effect.rows} publiée(s) ; " + " ; ".join(parts) + "."


class _Notes:
    """Reception notes read from the archive's reports, once per reception."""

    def __init__(self, archive: SubmissionArchive, merged: Merged) -> None:
        self.archive = archive
        self.merged = merged
        self.by_n = {r.n: r for r in archive.receptions()}

    def note(self, reception: Reception, severity_key: str) -> FileNote:
        report = self.archive.report(reception)
        messages = [
            {
                "ligne": p.get("ligne"),
                "colonne": p.get("colonne"),
                "code": p["code"],
                "message": p.get("regle", ""),
                "que_faire": p.get("que_faire", ""),
                "ou": where_of(Problem.from_dict(p)),
            }
            for p in report.get(severity_key, [])[:FIRST_ERRORS]
        ]
        effect = self.merged.effect_of(reception) if reception.accepted else None
        return FileNote(
            reception.file_name,
            reception.origin.to_json(),
            reception.origin.door.label,
            reception.arrived_at,
            str(report.get("resume", reception.verdict.value)),
            messages,
            str(self.archive.layout.report(reception, "html").resolve()),
            reception.sha256,
            reception.accepted,
            effect_sentence(effect, self.by_n),
            reception.n,
        )


def _supersedes(found: LastReport | LastValue, known: LastReport | LastValue | None) -> bool:
    """Whether ``found`` is the one to show over ``known``: a later report date, or the same
    date received later (the merge yields files in reception order)."""
    return known is None or found.date_rapport >= known.date_rapport


def campaign_status(
    resolved: ResolvedCampaign, plan: PlanFacts | None = None, archive: SubmissionArchive | None = None
) -> CampaignStatus:
    """The campaign of a progress dataset, body by body (bodies in identifier order).

    ``archive``: the dataset's archive when the caller holds one (a collection, whose
    journal is already read and up to date), else read from the state folder."""
    source = resolved.source
    plan = plan or campaign_plan(resolved.config)
    archive = archive or SubmissionArchive(resolved.layout.root)
    ordered = archive.ordered(source.sample)
    accepted: list[AcceptedSubmission] = list(archive.accepted(source.sample))
    merged = merge_submissions(accepted)
    notes = _Notes(archive, merged)
    own: dict[tuple[str, str], LastReport] = {}  # (body, action) → its latest report
    latest: dict[str, LastReport] = {}  # action → the latest report by anyone (published)
    values: dict[str, LastValue] = {}  # target → its latest value
    for row, submission in merged.progress.values():
        report = _last_report(row, submission)
        if _supersedes(report, latest.get(row["id_action"])):
            latest[row["id_action"]] = report
    for row, submission in merged.targets.values():
        value = LastValue(
            row["date_rapport"], row["valeur_atteinte"], submission.file_name, submission.arrived_at
        )
        if _supersedes(value, values.get(row["id_cible"])):
            values[row["id_cible"]] = value
    for submission in accepted:
        for row in submission.rows:
            report = _last_report(row, submission)
            key = (submission.organisation, row["id_action"])
            if _supersedes(report, own.get(key)):
                own[key] = report
    by_body: dict[str, list[Reception]] = {}
    for reception in ordered:
        by_body.setdefault(str(archive.organisation_of(reception)), []).append(reception)
    withdrawn: dict[str, list[dict[str, str]]] = {}
    for sha, withdrawal in archive.withdrawals().items():
        first = next((r for r in archive.receptions() if r.sha256 == sha), None)
        body = archive.organisation_of(first) if first else None
        if body:
            withdrawn.setdefault(body, []).append(
                {
                    "fichier": withdrawal.file_name,
                    "date": withdrawal.date,
                    "motif": withdrawal.reason,
                    "id_soumission": sha,
                }
            )
    mails = MailJournal(resolved.layout.mail_journal).mails()
    contacts = ContactBook(resolved.layout.contacts).counts()
    bodies: list[BodyStatus] = []
    for body in sorted(o for o in plan.organisations if plan.actions_of(o)):
        status = _body_status(body, plan, own, latest, values, by_body.get(body, []), notes)
        status.retraits = sorted(withdrawn.get(body, []), key=lambda w: w["date"])
        status.contacts = contacts.get(body, 0)
        status.courriels = [_mail_note(m) for m in mails if m.planned.organisation == body][-LAST_MAILS:]
        bodies.append(status)
    attributed = {r.sha256 for r in ordered if r.accepted and archive.organisation_of(r)}
    unattributed = [
        notes.note(r, "erreurs")
        for r in ordered
        if not archive.organisation_of(r) and r.sha256 not in attributed
    ]
    refusals = [
        RefusalNote(r.origin.to_json(), r.file_name, r.code, r.reason, r.date) for r in archive.refusals()
    ]
    inbox = resolved.campaign.inbox
    reminders = [m.date for m in mails if m.planned.kind is MailKind.REMINDER and m.counts_as_sent]
    return CampaignStatus(
        resolved.config.slug,
        bodies,
        unattributed,
        refusals,
        source.sample,
        str(inbox) if inbox else "",
        resolved.campaign.deadline,
        max(reminders) if reminders else None,
    )


def _mail_note(mail: Mail) -> MailNote:
    refused = {c for o in mail.outcomes for c in o.refused}
    return MailNote(
        mail.planned.kind.value, mail.planned.subject, mail.date, mail.outcome.value, len(refused)
    )


def _last_report(row: dict[str, str], submission: AcceptedSubmission) -> LastReport:
    return LastReport(
        row["date_rapport"],
        row["statut"],
        row["avancement_pct"],
        submission.file_name,
        submission.arrived_at,
        submission.sha256,
        submission.organisation,
    )


def _body_status(
    body: str,
    plan: PlanFacts,
    own: dict[tuple[str, str], LastReport],
    latest: dict[str, LastReport],
    values: dict[str, LastValue],
    received: list[Reception],
    notes: _Notes,
) -> BodyStatus:
    status = BodyStatus(body, plan.organisation_names.get(body, body))
    for action in sorted(plan.actions_of(body)):
        mine = own.get((body, action))
        other = latest.get(action)
        later = (
            other is not None
            and other.organisme != body
            and (mine is None or other.date_rapport > mine.date_rapport)
        )
        status.actions.append(
            ActionStatus(
                action,
                plan.action_titles.get(action, ""),
                [b for b in plan.responsible_for(action) if b != body],
                mine,
                {"organisme": other.organisme, "date_rapport": other.date_rapport}
                if later and other
                else None,
            )
        )
    status.cibles = [
        TargetStatus(t.id_cible, t.id_action, t.deadline, values.get(t.id_cible))
        for t in plan.targets_of(body)
    ]
    status.fichiers = [notes.note(r, "erreurs" if not r.accepted else "avertissements") for r in received]
    accepted = [r for r in received if r.accepted]
    last_accepted = accepted[-1].order_key() if accepted else None
    status.rejets_en_attente = [
        notes.note(r, "erreurs")
        for r in received
        if not r.accepted and (last_accepted is None or r.order_key() > last_accepted)
    ]
    status.sans_effet = [n for n in status.fichiers if n.accepte and n.effet]
    if accepted:
        note = notes.note(accepted[-1], "avertissements")
        if note.premiers_messages:
            status.avertissements = [note]
    return status


def to_remind(status: CampaignStatus) -> list[BodyStatus]:
    """The bodies to chase: an action without any report, a target without a value, or a
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


def status_html(status: CampaignStatus, labels: dict[str, str], today: str | None = None) -> str:
    """The same state as a page a steward opens from the state folder: the published site's
    look (inlined, nothing loaded), the campaign at a glance, then body by body. No script.
    ``labels``: the French label of each status value (the ``statut`` field's); ``today``
    (ISO date): what the targets' deadlines are compared with."""
    today = today or dt.date.today().isoformat()

    def report_href(note: FileNote) -> str:
        return Path(note.rapport).as_uri()

    return (
        environment(True)
        .get_template("etat-collecte.html")
        .render(
            status=status,
            summary=status.summary(today),
            today=today,
            css=Markup(SITE_CSS),
            report_href=report_href,
            statut_fr=lambda code: labels.get(code, code),
        )
    )


def write_status(layout: ArchiveLayout, status: CampaignStatus, labels: dict[str, str]) -> Path:
    """``<state>/<slug>/etat-collecte.{json,html}``, rewritten after each collection."""
    write_atomically(
        layout.status("json"),
        (json.dumps(status.to_dict(), ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"),
    )
    write_atomically(layout.status("html"), status_html(status, labels).encode("utf-8"))
    return layout.status("json")
