"""Intake: the bodies' door, what it does below the web: who opens it, what a body sees,
and the reception of an upload, by the same code as a collection of ``ogp run``.

``DropOff`` is made once per server: it reads the campaign recorded in the state folder
(a real one: the door never serves the invented samples), the plan, both submission
formats, and warms the validators (frictionless, great-expectations, openpyxl) so that
the first body waits no longer than the next. An upload is received under the campaign's
state lock by ``open_intake(...)`` then ``Intake.receive`` (exactly what ``ogp run`` does
for a file of its inbox): journalled with the server's reception time, archived under a
name the archive chooses (its hash), validated against the archive's history, reported,
and attributed to the access's body, never to a form field or a file name. Then the
campaign's status is written again, as after a collection. The web layer only adapts this.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import tempfile
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.core.config import Settings, load_dataset
from pipelines.core.errors import ConfigError, PipelineError
from pipelines.core.problems import Problem, Severity
from pipelines.core.schema import TableSchema, load_schema
from pipelines.core.vocabulary import labels
from pipelines.gather.submissions.plan_facts import (
    PROGRESS_SLUG,
    SUBMISSION_SCHEMA,
    TARGETS_SUBMISSION_SCHEMA,
    PlanFacts,
    campaign_plan,
)
from pipelines.gather.submissions.read import TARGETS_SHEET
from pipelines.gather.submissions.records import merge_archive
from pipelines.gather.submissions.template import write_template
from pipelines.intake.links import AccessLinks
from pipelines.intake.mail import Postbox
from pipelines.intake.receipts import send_receipts
from pipelines.intake.status import BodyStatus, campaign_status, effect_sentence, write_status
from pipelines.intake.submissions import CollectionSummary, limits_of, open_intake
from pipelines.io.atomic import remove_stale_temporaries
from pipelines.io.lock import exclusive
from pipelines.state.accesses import Access, AccessKind, AccessStore, Minted, TokenPurpose, parse_expiry
from pipelines.state.archive import SubmissionArchive
from pipelines.state.campaign import ResolvedCampaign, read_campaign, record_campaign, resolve_campaign
from pipelines.state.journal import Door, Origin, Reception
from pipelines.state.received import Received
from pipelines.validate.submission import validate_submission

log = logging.getLogger("ogp.guichet")

MAX_NAME = 120  # characters of a file name as the door keeps it (shown, journalled)
TEMPLATE_SUFFIXES = (".xlsx", ".csv")


def clean_file_name(name: str) -> str:
    """The name a body's file is shown and journalled with: the last part of what the
    browser sent (never a path), without control characters, at most ``MAX_NAME``
    characters with its suffix kept. The bytes are stored under the archive's own name."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C")
    base = base.strip().strip(".") or "depot"
    if len(base) > MAX_NAME:
        suffix = PurePosixPath(base).suffix[:10]
        base = base[: MAX_NAME - len(suffix)] + suffix
    return base


def door_campaign(settings: Settings) -> ResolvedCampaign:
    """The campaign the door serves: the one recorded in the state folder, recorded now if
    it was not yet (from ``OGP_SUBMISSIONS_INBOX``). The invented samples are refused: real
    bodies' files never go into a sample campaign."""
    config = load_dataset(settings.datasets_dir / PROGRESS_SLUG)
    resolved = resolve_campaign(config, settings)
    if resolved.campaign.sample:
        raise ConfigError(
            f"Le dossier d'état {resolved.layout.root} ne sert pas de campagne réelle : le guichet ne "
            "reçoit pas de fichiers dans la campagne des données d'exemple.",
            hint="Indiquez une fois la boîte de dépôt réelle (OGP_SUBMISSIONS_INBOX=/chemin/de/la/boite) : "
            "la campagne est alors enregistrée dans le dossier d'état (--state-dir), puis lue par "
            "ogp run, ogp status et le guichet.",
        )
    if resolved.campaign.inbox is None:
        raise ConfigError(
            f"La campagne du dossier d'état {resolved.layout.root} n'a pas de boîte de dépôt enregistrée.",
            hint="Indiquez-la une fois : OGP_SUBMISSIONS_INBOX=/chemin/de/la/boite.",
        )
    if not resolved.recorded:
        with exclusive(resolved.layout.root, timeout=settings.lock_timeout, what="Ouverture du guichet"):
            record_campaign(resolved)
        resolved = resolve_campaign(config, settings)
    return resolved


def access_store(settings: Settings) -> AccessStore:
    """The accesses of the campaign the door serves (``ogp dropoff grant``, ``list``, ``revoke``)."""
    return AccessStore(door_campaign(settings).layout, lock_timeout=settings.lock_timeout)


def grant_steward_access(settings: Settings, label: str, expires: str | None) -> Minted:
    """A steward's link to the console (``/pilotage``): every body's state, reminders,
    withdrawals. ``label`` says whose it is (shown by ``ogp dropoff list``)."""
    resolved = door_campaign(settings)
    store = AccessStore(resolved.layout, lock_timeout=settings.lock_timeout)
    return store.grant(
        None, kind=AccessKind.STEWARD, expires=parse_expiry(expires, store.today()), label=label
    )


def grant_body_access(settings: Settings, organisation: str, expires: str | None) -> tuple[Minted, str]:
    """A new personal link for a body of the plan that reports on actions (the body's
    name is returned with it). ``expires``: ``AAAA-MM-JJ``, the last day the link works."""
    resolved = door_campaign(settings)
    plan = campaign_plan(resolved.config)
    reporting = sorted(o for o in plan.organisations if plan.actions_of(o))
    if organisation not in reporting:
        raise ConfigError(
            f"« {organisation} » n'est pas un organisme qui rend compte d'actions du plan.",
            hint="Choisissez l'identifiant d'un organisme : " + ", ".join(reporting) + ".",
        )
    store = AccessStore(resolved.layout, lock_timeout=settings.lock_timeout)
    minted = store.grant(organisation, expires=parse_expiry(expires, store.today()))
    return minted, plan.organisation_names.get(organisation, organisation)


@dataclass(frozen=True)
class ShownProblem:
    """A problem as a body reads it: the sheet, the row, the column by its template label."""

    problem: Problem
    column: str

    @property
    def sheet(self) -> str:
        return self.problem.table or "Suivi"


@dataclass(frozen=True)
class ReceptionView:
    """One reception of a body, with its report: what the answer page and the report page show."""

    reception: Reception
    report: dict[str, Any]
    findings: dict[Severity, list[ShownProblem]]
    door: str
    effect: str = ""
    withdrawn: str | None = None  # the reason, when the steward withdrew the file

    @property
    def accepted(self) -> bool:
        return self.reception.accepted


@dataclass(frozen=True)
class Upload:
    """What one upload gave: its reception (a new one, or the earlier one of an identical
    file, ``already``)."""

    view: ReceptionView
    already: bool


@dataclass
class BodyPage:
    """What a body's page shows: its actions and targets with the last report or value, its
    files of this campaign (newest first), the campaign's deadline."""

    organisation: str
    name: str
    status: BodyStatus
    files: list[ReceptionView] = field(default_factory=list)
    deadline: str | None = None


class DropOff:
    """The door of one campaign, made once per server (see the module's docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.resolved = door_campaign(settings)
        self.layout = self.resolved.layout
        self.plan: PlanFacts = campaign_plan(self.resolved.config)
        self.schema: TableSchema = load_schema(settings.schemas_dir, SUBMISSION_SCHEMA)
        self.targets_schema: TableSchema = load_schema(settings.schemas_dir, TARGETS_SUBMISSION_SCHEMA)
        self.accesses = AccessStore(self.layout, lock_timeout=settings.lock_timeout)
        self.max_bytes = limits_of(self.resolved.source).max_bytes
        self.status_labels = labels(self.schema, "statut")
        self._columns = {
            None: {f["name"]: f.get("title", f["name"]) for f in self.schema["fields"]},
            TARGETS_SHEET: {f["name"]: f.get("title", f["name"]) for f in self.targets_schema["fields"]},
        }
        self._templates: dict[tuple[str, str], bytes] = {}
        # Receipts go on their own thread, in order: the body reads its verdict at once.
        self._receipts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="accuses")
        self._templates_lock = threading.Lock()
        with exclusive(self.layout.root, timeout=settings.lock_timeout, what="Ouverture du guichet"):
            # Whatever a killed process was writing: under the lock nobody else writes.
            remove_stale_temporaries(self.layout.root, skip=(self.layout.accesses.name,))

    # --- what is costly, once -------------------------------------------------------------

    def warm(self) -> None:
        """Validates a few files once, archiving nothing: a body's own templates, then a
        report of progress and one of a target value (the rules run only on rows), so that
        imports and caches (openpyxl, frictionless, great-expectations: 10 s and more) are
        paid before the first body comes, not by it."""
        body = next(o for o in sorted(self.plan.organisations) if self.plan.targets_of(o))
        action = sorted(self.plan.actions_of(body))[0]
        target = self.plan.targets_of(body)[0].id_cible
        day = self.plan.start.isoformat()
        files = [(f"modele{suffix}", self.template(body, suffix)) for suffix in TEMPLATE_SUFFIXES]
        files.append(
            (
                "suivi.csv",
                "id_action,date_rapport,statut,avancement_pct,commentaire,preuve_url\n"
                f"{action},{day},non_commence,,,\n".encode(),
            )
        )
        files.append(
            (
                "cibles.csv",
                f"id_cible,date_rapport,valeur_atteinte,commentaire,preuve_url\n{target},{day},0,,\n".encode(),
            )
        )
        for name, content in files:
            validate_submission(
                Received(name, content, Origin(Door.FILE, "amorce"), "", body),
                self.schema,
                self.plan,
                today=dt.date.today(),
                limits=limits_of(self.resolved.source),
                targets_schema=self.targets_schema,
            )

    def template(self, organisation: str, suffix: str) -> bytes:
        """The body's prefilled template (what ``ogp template`` writes), made once per body."""
        key = (organisation, suffix)
        with self._templates_lock:
            if key not in self._templates:
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / f"modele{suffix}"
                    write_template(path, organisation, self.plan, self.schema, self.targets_schema)
                    self._templates[key] = path.read_bytes()
            return self._templates[key]

    def publication_parameters(self) -> dict[str, str]:
        """What a publication run triggered by an upload is given: this campaign's state and
        datasets folders, and its recorded output (else the deployment's own)."""
        parameters = {
            "state_dir": str(self.settings.state_dir.resolve()),
            "datasets_dir": str(self.settings.datasets_dir.resolve()),
        }
        recorded = read_campaign(self.layout)
        if recorded is not None and recorded.output is not None:
            parameters["out"] = str(recorded.output)
        return parameters

    # --- who --------------------------------------------------------------------------------

    def open(self, token: str) -> Access | None:
        return self.accesses.open(token)

    def active(self, access_id: str, kind: AccessKind) -> Access | None:
        """The access a session holds, if it is still active and of that kind."""
        access = self.accesses.get(access_id)
        if access is None or access.kind is not kind or not access.active(self.accesses.today()):
            return None
        return access

    def organisation_name(self, organisation: str) -> str:
        return self.plan.organisation_names.get(organisation, organisation)

    # --- what a body sees ---------------------------------------------------------------------

    def _accesses_of(self, organisation: str) -> set[str]:
        return {a.id for a in self.accesses.all() if a.organisation == organisation}

    def _is_of(
        self, archive: SubmissionArchive, reception: Reception, organisation: str, ids: set[str]
    ) -> bool:
        """A reception is a body's when it is attributed to it, or came through its door."""
        if reception.sample:
            return False
        if reception.origin.door is Door.DROPOFF and reception.origin.where in ids:
            return True
        return archive.organisation_of(reception) == organisation

    def column_label(self, problem: Problem) -> str:
        """The column as the template heads it (« Avancement (%) »), or as the file named it."""
        if not problem.field:
            return ""
        return str(self._columns.get(problem.table, self._columns[None]).get(problem.field, problem.field))

    def _view(self, archive: SubmissionArchive, reception: Reception, effect: str = "") -> ReceptionView:
        report = archive.report(reception)
        findings: dict[Severity, list[ShownProblem]] = {}
        for severity, key in (
            (Severity.ERROR, "erreurs"),
            (Severity.WARNING, "avertissements"),
            (Severity.CORRECTION, "corrections"),
        ):
            problems = [Problem.from_dict(p) for p in report.get(key, [])]
            findings[severity] = [ShownProblem(p, self.column_label(p)) for p in problems]
        withdrawal = archive.withdrawals().get(reception.sha256)
        return ReceptionView(
            reception,
            report,
            findings,
            reception.origin.door.label,
            effect,
            withdrawal.reason if withdrawal else None,
        )

    def any_reception(self, n: int) -> tuple[ReceptionView, str] | None:
        """Reception ``n`` with its report and its body's name, whoever sent it: what the
        steward's console shows (``None`` if the journal has no such reception)."""
        archive = SubmissionArchive(self.layout.root)
        found = next((r for r in archive.receptions() if r.n == n), None)
        if found is None:
            return None
        body = archive.organisation_of(found)
        return self._view(archive, found), self.organisation_name(body) if body else "organisme non identifié"

    def body_page(self, organisation: str) -> BodyPage:
        """The body's page, read from the archive as ``ogp status`` reads it."""
        archive = SubmissionArchive(self.layout.root)
        status = campaign_status(self.resolved, self.plan, archive=archive)
        body = next(b for b in status.organismes if b.id_organisation == organisation)
        ids = self._accesses_of(organisation)
        merged = merge_archive(archive, False)
        by_n = {r.n: r for r in archive.receptions()}
        files = [
            self._view(archive, r, effect_sentence(merged.effect_of(r), by_n))
            for r in archive.receptions()
            if self._is_of(archive, r, organisation, ids)
        ]
        files.reverse()
        return BodyPage(
            organisation,
            self.organisation_name(organisation),
            body,
            files,
            self.resolved.campaign.deadline,
        )

    def reception(self, organisation: str, n: int) -> ReceptionView | None:
        """Reception ``n`` if it is this body's (else ``None``: a body never sees another's)."""
        archive = SubmissionArchive(self.layout.root)
        found = next((r for r in archive.receptions() if r.n == n), None)
        if found is None or not self._is_of(archive, found, organisation, self._accesses_of(organisation)):
            return None
        merged = merge_archive(archive, False)
        by_n = {r.n: r for r in archive.receptions()}
        return self._view(archive, found, effect_sentence(merged.effect_of(found), by_n))

    # --- an upload ----------------------------------------------------------------------------

    def receive(self, access: Access, file_name: str, content: bytes) -> Upload:
        """Receives one uploaded file for the access's body, under the campaign's state lock
        (an upload of the same body, of another, and ``ogp run`` wait for each other).

        A file identical to one this body already sent through the door is not received
        again: the earlier reception is returned (``already``)."""
        organisation = access.organisation
        if access.kind is not AccessKind.BODY or organisation is None:
            raise ConfigError("Seul l'accès d'un organisme dépose un fichier.")
        name = clean_file_name(file_name)
        sha256 = hashlib.sha256(content).hexdigest()
        ids = self._accesses_of(organisation)
        root = self.layout.root
        with exclusive(root, timeout=self.settings.lock_timeout, what="Dépôt au guichet"):
            intake = open_intake(self.resolved, self.settings, self.plan)
            archive = intake.archive
            earlier = next(
                (
                    r
                    for r in reversed(archive.receptions())
                    if r.sha256 == sha256 and r.origin.door is Door.DROPOFF and r.origin.where in ids
                ),
                None,
            )
            if earlier is not None:
                return Upload(self._view(archive, earlier), already=True)
            received = Received(name, content, Origin(Door.DROPOFF, access.id), intake.clock(), organisation)
            receipt = intake.receive(received, CollectionSummary())
            assert receipt is not None  # an identical file from this access was found above
            status = campaign_status(self.resolved, self.plan, archive=archive)
            write_status(self.layout, status, self.status_labels)
            done = receipt.reception
            effect = next(
                (
                    note.effet
                    for body in status.organismes
                    for note in body.fichiers
                    if note.id_soumission == done.sha256 and note.arrivee == done.arrived_at
                ),
                "",
            )
            view = self._view(archive, done, effect)
        self._receipts.submit(self._send_receipt, receipt.reception)
        return Upload(view, already=False)

    def _send_receipt(self, reception: Reception) -> None:
        """The upload's « accusé de réception » to the body's contacts (a receipt like every
        reception's, once: see ``intake.receipts``); what became of it is logged by body."""
        try:
            sent = send_receipts(
                Postbox(self.layout, self.settings),
                SubmissionArchive(self.layout.root),
                [reception],
                self.plan.organisation_names,
                AccessLinks(self.settings, self.layout, TokenPurpose.RECEIPT),
            )
        except PipelineError as exc:
            log.error("accusé de réception de la réception %s non envoyé : %s", reception.n, exc.message)
            return
        for line in sent.lines():
            log.info("réception %s : %s", reception.n, line)

    def wait_for_receipts(self) -> None:
        """Waits until the receipts of the uploads so far are sent (tests, shutdown)."""
        self._receipts.submit(lambda: None).result()
