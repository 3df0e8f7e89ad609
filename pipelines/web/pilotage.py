"""Web: the steward's console (``/pilotage``), on the door's server, for a steward's access.

What it shows is what ``ogp status`` and ``etat-collecte.html`` show, from the same library
calls and the same templates (``intake/templates/_campagne.html``): the campaign at a glance,
then body by body its actions and latest reports, its files with their verdicts and reports,
its withdrawals, its mails, its number of contacts. What it does is what the commands do:
reminders by ``intake.reminders`` (a page listing who gets which mail, then a POST with its
CSRF field), a withdrawal by ``withdraw_submission`` (the same journal line as ``ogp
withdraw``). Every route asks ``current_access(AccessKind.STEWARD)`` first; nothing here
shows an address.
"""

from __future__ import annotations

import datetime as dt
import logging

import jinja2
from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from pipelines.core.config import Settings
from pipelines.core.errors import ConfigError
from pipelines.core.problems import Severity
from pipelines.core.times import date_fr
from pipelines.intake.dropoff import DropOff
from pipelines.intake.links import AccessLinks
from pipelines.intake.mail import Postbox
from pipelines.intake.reminders import NO_CONTACT_REASON, ReminderPlan, plan_reminders, send_reminders
from pipelines.intake.render import kind_fr, outcome_fr, time_fr
from pipelines.intake.status import CampaignStatus, FileNote, campaign_status
from pipelines.intake.submissions import refresh_status, withdraw_submission
from pipelines.state.accesses import AccessKind, TokenPurpose
from pipelines.state.mails import MailJournal
from pipelines.validate.report import received_fr
from pipelines.web.app import current_access

log = logging.getLogger("ogp.pilotage")


class ConfirmForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type hints
    """A form of nothing but its CSRF field: the confirmation of an action."""


class WithdrawForm(FlaskForm):  # type: ignore[misc]
    motif = TextAreaField(
        "Motif du retrait",
        validators=[DataRequired("Indiquez pourquoi le fichier est retiré."), Length(max=500)],
    )


def register(
    app: Flask, door: DropOff, limiter: Limiter, landings: dict[AccessKind, str], settings: Settings
) -> None:
    """Adds the console to the application; a steward's link lands on it."""
    pages = Blueprint("pilotage", __name__, url_prefix="/pilotage")
    # The campaign's pieces are the status page's own templates.
    app.jinja_loader = jinja2.ChoiceLoader(
        [app.jinja_loader, jinja2.PackageLoader("pipelines.intake", "templates")]  # type: ignore[list-item]
    )
    app.jinja_env.filters.update(date_fr=date_fr, time_fr=time_fr)
    app.jinja_env.globals.update(kind_fr=kind_fr, outcome_fr=outcome_fr)

    def status_now() -> CampaignStatus:
        return campaign_status(door.resolved, door.plan)

    def report_href(note: FileNote) -> str:
        return url_for("pilotage.report", n=note.reception)

    def withdraw_href(note: FileNote) -> str:
        return url_for("pilotage.withdraw", n=note.reception)

    def reminder_plan(status: CampaignStatus) -> ReminderPlan:
        postbox = Postbox(door.layout, settings)
        return plan_reminders(
            status,
            door.plan,
            MailJournal(door.layout.mail_journal).mails(),
            now=dt.datetime.now(dt.UTC),
            deadline=door.resolved.campaign.deadline,
            contacts=postbox.contacts.counts(),
        )

    @pages.get("/")
    def page() -> ResponseReturnValue:
        current_access(AccessKind.STEWARD)
        status = status_now()
        today = dt.date.today().isoformat()
        return render_template(
            "pilotage.html",
            status=status,
            summary=status.summary(today),
            today=today,
            report_href=report_href,
            withdraw_href=withdraw_href,
            statut_fr=lambda code: door.status_labels.get(code, code),
            withdrawn=request.args.get("retire"),
        )

    @pages.get("/reception/<int:n>/rapport")
    def report(n: int) -> ResponseReturnValue:
        current_access(AccessKind.STEWARD)
        found = door.any_reception(n)
        if found is None:
            abort(404)
        view, name = found
        return render_template(
            "pilotage-rapport.html",
            view=view,
            organisation_name=name,
            severities=(Severity.ERROR, Severity.WARNING, Severity.CORRECTION),
            received_fr=received_fr,
        )

    @pages.route("/reception/<int:n>/retrait", methods=["GET", "POST"])
    def withdraw(n: int) -> ResponseReturnValue:
        access = current_access(AccessKind.STEWARD)
        found = door.any_reception(n)
        if found is None:
            abort(404)
        view, name = found
        form = WithdrawForm()
        problem = ""
        if form.validate_on_submit():
            try:
                done = withdraw_submission(
                    door.resolved.config, settings, view.reception.sha256, str(form.motif.data)
                )
            except ConfigError as exc:  # already withdrawn: said as ogp withdraw says it
                problem = exc.message
            else:
                log.info("retrait : accès %s, soumission %s", access.id, done.sha256[:16])
                anchor = (
                    f"org-{view.reception.organisation}" if view.reception.organisation else "non-attribues"
                )
                return redirect(url_for(".page", retire=done.file_name, _anchor=anchor), 303)
        status = 400 if request.method == "POST" else 200
        return (
            render_template(
                "pilotage-retrait.html", view=view, organisation_name=name, form=form, problem=problem
            ),
            status,
        )

    @pages.get("/relances")
    def reminders() -> ResponseReturnValue:
        current_access(AccessKind.STEWARD)
        plan = reminder_plan(status_now())
        return render_template(
            "pilotage-relances.html",
            plan=plan,
            form=ConfirmForm(),
            configured=settings.mail_configured,
            without=[s.organisation for s in plan.skipped if s.reason == NO_CONTACT_REASON],
            skipped=[s for s in plan.skipped if s.reason != NO_CONTACT_REASON],
            deadline=door.resolved.campaign.deadline,
        )

    @pages.post("/relances")
    def send() -> ResponseReturnValue:
        access = current_access(AccessKind.STEWARD)
        form = ConfirmForm()
        if not form.validate_on_submit():
            abort(400)
        if not settings.mail_configured:
            abort(409)
        plan = reminder_plan(status_now())
        run = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        postbox = Postbox(door.layout, settings)
        done = send_reminders(
            postbox, plan.reminders, AccessLinks(settings, door.layout, TokenPurpose.REMINDER), run=run
        )
        log.info("relances : accès %s, %s courriel(s)", access.id, len(done))
        if done:
            refresh_status(door.resolved, settings, door.plan)
        return redirect(url_for(".sent", run=run), 303)

    @pages.get("/relances/<run>")
    def sent(run: str) -> ResponseReturnValue:
        current_access(AccessKind.STEWARD)
        mails = [
            m for m in MailJournal(door.layout.mail_journal).mails() if m.planned.key.endswith(f":{run}")
        ]
        return render_template(
            "pilotage-envoi.html", mails=mails, names=door.plan.organisation_names, run=run
        )

    app.register_blueprint(pages)
    landings[AccessKind.STEWARD] = "pilotage.page"
