"""Web: a body's pages at the door: its page, its template, an upload and its verdict.

Every route asks ``current_access(AccessKind.BODY)`` first: the body is the access's,
never a field of a form or a part of an address. An upload is one plain POST (multipart,
the CSRF field beside the file), answered by a 303 to the reception's page: reloading the
answer never sends the file again, and it works the same with JavaScript off or on.
"""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Flask, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from pipelines.core.config import Settings
from pipelines.core.problems import Severity
from pipelines.intake.dropoff import TEMPLATE_SUFFIXES, DropOff, ReceptionView
from pipelines.state.accesses import AccessKind
from pipelines.validate.report import received_fr
from pipelines.web.app import current_access, per_access

log = logging.getLogger("ogp.guichet")

MEDIA_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
}


class UploadForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type hints
    fichier = FileField("Fichier de suivi", validators=[FileRequired("Choisissez le fichier à déposer.")])


def register(
    app: Flask, door: DropOff, limiter: Limiter, landings: dict[AccessKind, str], settings: Settings
) -> None:
    """Adds the body's pages to the application; a body's link lands on its page."""
    pages = Blueprint("guichet", __name__, url_prefix="/organisme")

    def show_page(form: UploadForm, status: int = 200) -> ResponseReturnValue:
        access = current_access(AccessKind.BODY)
        assert access.organisation is not None
        page = door.body_page(access.organisation)
        return (
            render_template(
                "organisme.html",
                page=page,
                form=form,
                access=access,
                status_labels=door.status_labels,
                names=door.plan.organisation_names,
                received_fr=received_fr,
            ),
            status,
        )

    @pages.get("/")
    def page() -> ResponseReturnValue:
        return show_page(UploadForm())

    @pages.get("/modele<suffix>")
    def template(suffix: str) -> Response:
        access = current_access(AccessKind.BODY)
        if suffix not in TEMPLATE_SUFFIXES or access.organisation is None:
            abort(404)
        content = door.template(access.organisation, suffix)
        response = Response(content, mimetype=MEDIA_TYPES[suffix])
        response.headers["Content-Disposition"] = (
            f'attachment; filename="modele-suivi-{access.organisation}{suffix}"'
        )
        return response

    @pages.post("/depot")
    @limiter.limit(settings.dropoff_upload_limit, key_func=per_access, override_defaults=False)
    def upload() -> ResponseReturnValue:
        access = current_access(AccessKind.BODY)
        form = UploadForm()
        if not form.validate_on_submit():
            return show_page(form, 400)
        sent = form.fichier.data
        # Read within the limit: one byte more says it is over (413, nothing received).
        content = sent.stream.read(door.max_bytes + 1)
        if len(content) > door.max_bytes:
            abort(413)
        done = door.receive(access, sent.filename or "", content)
        reception = done.view.reception
        log.info(
            "dépôt : accès %s, réception %s, %s%s",
            access.id,
            reception.n,
            reception.verdict.value,
            " (déjà reçu)" if done.already else "",
        )
        if done.view.accepted and not done.already and settings.dropoff_publish_deployment:
            _trigger(settings.dropoff_publish_deployment, door.publication_parameters())
        target = url_for(".reception", n=reception.n, deja=1 if done.already else None)
        return redirect(target, 303)

    def own_reception(n: int) -> tuple[str, ReceptionView]:
        """The session's body and its reception ``n``; 404 for another body's or none."""
        access = current_access(AccessKind.BODY)
        assert access.organisation is not None
        view = door.reception(access.organisation, n)
        if view is None:
            abort(404)
        return access.organisation, view

    @pages.get("/reception/<int:n>")
    def reception(n: int) -> ResponseReturnValue:
        _, view = own_reception(n)
        return render_template(
            "reception.html",
            view=view,
            already=request.args.get("deja") == "1",
            severities=(Severity.ERROR, Severity.WARNING),
            received_fr=received_fr,
        )

    @pages.get("/reception/<int:n>/rapport")
    def report(n: int) -> ResponseReturnValue:
        organisation, view = own_reception(n)
        return render_template(
            "rapport.html",
            view=view,
            organisation_name=door.organisation_name(organisation),
            severities=(Severity.ERROR, Severity.WARNING, Severity.CORRECTION),
            received_fr=received_fr,
        )

    app.register_blueprint(pages)
    landings[AccessKind.BODY] = "guichet.page"


def _trigger(deployment: str, parameters: dict[str, str]) -> None:
    """Starts the publication's Prefect deployment in the background (the body does not
    wait); a failure is logged, the reception stands."""

    def run() -> None:
        try:
            from pipelines.flows import trigger_deployment

            log.info(
                "publication demandée : déploiement %s, exécution %s",
                deployment,
                trigger_deployment(deployment, parameters),
            )
        except Exception as exc:  # noqa: BLE001 - any failure of Prefect leaves the reception as it is
            log.log(logging.WARNING, "publication non demandée (%s) : %s", deployment, exc)

    threading.Thread(target=run, name="ogp-publication", daemon=True).start()
