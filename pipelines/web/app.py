"""Web: the door's application, made once per server by ``create_app``.

What every page shares lives here: the session an access's link opens (``/acces/<jeton>``
exchanges the token for a session cookie, so the token is in one request line only and
never in a ``Referer``), CSRF on every POST (Flask-WTF's hidden field: forms work without
JavaScript), rate limits (Flask-Limiter: every request per address, links that open
nothing per address, uploads per access), the security headers, the body size limit and
the French error pages. Each part of the site is a blueprint made by a function given the
door and the limiter (``guichet.blueprint``; the steward's console is added the same way)
and registers, for its kind of access, the page a link lands on.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import time
from typing import Any

import jinja2
from flask import Flask, Response, abort, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from pipelines.core.config import PROJECT_ROOT, Settings
from pipelines.core.errors import PipelineError
from pipelines.intake.dropoff import DropOff
from pipelines.io.lock import LockHeld
from pipelines.state.accesses import Access, AccessKind
from publish.site import STYLESHEET

log = logging.getLogger("ogp.guichet")

# What a multipart form adds around the file (boundaries, headers, the CSRF field).
FORM_OVERHEAD = 64 * 1024
SESSION_HOURS = 8
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# The French error pages: title, what happened, what to do.
ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "Demande refusée",
        "Le formulaire a expiré ou ne vient pas de cette page.",
        "Revenez à votre page, rechargez-la, puis envoyez de nouveau votre fichier.",
    ),
    403: (
        "Lien invalide ou expiré",
        "Ce lien ne donne accès à aucun guichet : il est inconnu, a expiré ou a été révoqué.",
        "Demandez un nouveau lien personnel à l'équipe qui suit le plan d'action.",
    ),
    404: (
        "Page introuvable",
        "Cette adresse ne correspond à aucune page du guichet.",
        "Ouvrez de nouveau le lien personnel reçu par courriel.",
    ),
    405: (
        "Demande refusée",
        "Cette page ne s'utilise pas ainsi.",
        "Revenez à votre page et utilisez ses boutons.",
    ),
    413: (
        "Fichier trop volumineux",
        "Le fichier envoyé dépasse la taille permise ; il n'a pas été reçu.",
        "Enregistrez le modèle sans images ni onglets ajoutés, ou en .csv, puis envoyez-le de nouveau.",
    ),
    429: (
        "Trop de demandes",
        "Trop de demandes ont été faites en peu de temps depuis cette adresse ou ce lien.",
        "Patientez quelques minutes, puis réessayez.",
    ),
    500: (
        "Erreur du guichet",
        "Le guichet n'a pas pu traiter la demande ; rien n'a été perdu de ce qui était déjà reçu.",
        "Réessayez dans quelques minutes ; si cela persiste, écrivez à l'équipe qui suit le plan.",
    ),
    503: (
        "Guichet occupé",
        "Le guichet reçoit d'autres fichiers en ce moment ; le vôtre n'a pas été reçu.",
        "Réessayez dans une minute.",
    ),
}
INVALID_LINK = 403


def error_page(code: int) -> Response:
    """One French error page; the « invalid link » page names no body and no access."""
    title, message, hint = ERRORS.get(code, ERRORS[500])
    response = Response(
        render_template("erreur.html", code=code, title=title, message=message, hint=hint),
        status=code,
    )
    return response


def create_app(door: DropOff, settings: Settings) -> Flask:
    """The door's WSGI application, over one :class:`DropOff` made beforehand (warm)."""
    from pipelines.web import guichet, pilotage

    app = Flask(__name__, static_folder="static", static_url_path="/statique")
    https = settings.dropoff_url.startswith("https://")
    secret = settings.dropoff_secret_key.get_secret_value() if settings.dropoff_secret_key else None
    app.config.update(
        SECRET_KEY=secret or secrets.token_bytes(32),
        # Werkzeug's default is unlimited: a body over this is refused from its
        # Content-Length, before it is read (and waitress refuses it first, see server.py).
        MAX_CONTENT_LENGTH=door.max_bytes + FORM_OVERHEAD,
        SESSION_COOKIE_NAME="ogp_guichet",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        PERMANENT_SESSION_LIFETIME=SESSION_HOURS * 3600,
        # The token lives as long as the session; no Referer check (Referrer-Policy:
        # no-referrer sends none): the token and the SameSite cookie stand for it.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_HEADERS_ENABLED=False,
        PREFERRED_URL_SCHEME="https" if https else "http",
    )
    app.jinja_env.undefined = jinja2.StrictUndefined
    csrf = CSRFProtect(app)
    limiter = Limiter(get_remote_address, app=app, default_limits=[settings.dropoff_address_limit])
    landings: dict[AccessKind, str] = {}
    app.extensions["ogp_door"] = door
    app.extensions["ogp_landings"] = landings

    @app.context_processor
    def shared() -> dict[str, Any]:
        return {"campaign": door.resolved.config.title, "max_megabytes": door.max_bytes / 2**20}

    @app.get("/site.css")
    @limiter.exempt
    def stylesheet() -> Response:
        """The published site's look, from the very file its pages inline."""
        response = Response(STYLESHEET.read_bytes(), mimetype="text/css")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @app.get("/")
    def home() -> ResponseReturnValue:
        kind = session.get("type")
        if session.get("acces") and kind in {k.value for k in landings}:
            return redirect(url_for(landings[AccessKind(kind)]), 303)
        return render_template("accueil.html")

    @app.get("/guide")
    def guide() -> ResponseReturnValue:
        """The bodies' guide (``docs/guide-organismes.md``), linked from their page and mails."""
        return render_template("guide.html", guide=Markup(guide_html()))

    @app.get("/sante")
    @limiter.exempt
    def health() -> Response:
        return Response("ok\n", mimetype="text/plain")

    def _failed(response: Response) -> bool:
        return response.status_code == INVALID_LINK

    @app.get("/acces/<token>")
    @limiter.limit(settings.dropoff_failed_limit, deduct_when=_failed, override_defaults=False)
    def open_link(token: str) -> ResponseReturnValue:
        """A personal link: its token opens a session for its access, then the token leaves
        the address bar (303 to the access's page). An unknown, expired or revoked link
        gets one page that names nobody."""
        access = door.open(token) if len(token) <= 128 else None
        if access is None or access.kind not in landings:
            log.info("lien refusé depuis %s", request.remote_addr)
            return error_page(INVALID_LINK)
        session.clear()
        session.permanent = True
        session["acces"] = access.id
        session["type"] = access.kind.value
        door.accesses.touch(access.id)
        log.info("lien ouvert : accès %s", access.id)
        # A receipt's link to its report: « ?suite=reception-<n> » (nothing else is followed).
        then = re.fullmatch(r"reception-(\d{1,9})", request.args.get("suite", ""))
        if then is not None and access.kind is AccessKind.BODY:
            return redirect(url_for("guichet.report", n=int(then.group(1))), 303)
        return redirect(url_for(landings[access.kind]), 303)

    @app.post("/deconnexion")
    def sign_out() -> ResponseReturnValue:
        session.clear()
        return redirect(url_for("home"), 303)

    guichet.register(app, door, limiter, landings, settings)
    pilotage.register(app, door, limiter, landings, settings)

    @app.before_request
    def started() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def secured(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers.setdefault("Cache-Control", "no-store")
        # One line per request; the access id, never a token (a link's path is hidden).
        path = "/acces/…" if request.path.startswith("/acces/") else request.path
        access = g.get("access")
        log.info(
            "%s %s %s%s %.3f s",
            request.method,
            path,
            response.status_code,
            f" accès {access.id}" if access is not None else "",
            time.perf_counter() - g.get("started", time.perf_counter()),
        )
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError) -> Response:
        return error_page(400)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return error_page(exc.code or 500)

    @app.errorhandler(PipelineError)
    def pipeline_error(exc: PipelineError) -> Response:
        log.log(logging.ERROR, "erreur du guichet : %s", exc.message)
        # LockHeld: the state lock was held too long (a long collection): try again.
        return error_page(503 if isinstance(exc, LockHeld) else 500)

    del csrf  # registered on the app
    return app


@functools.cache
def guide_html() -> str:
    """The bodies' guide in HTML: Markdown read once, raw HTML in it not passed through."""
    from markdown_it import MarkdownIt

    text = (PROJECT_ROOT / "docs" / "guide-organismes.md").read_text(encoding="utf-8")
    return str(MarkdownIt("commonmark", {"html": False}).render(text))


def current_access(kind: AccessKind) -> Access:
    """The active access of this request's session, of that kind; else the « invalid link »
    page (an access revoked or expired since the session opened ends it at once)."""
    from flask import current_app

    door: DropOff = current_app.extensions["ogp_door"]
    access_id = session.get("acces")
    access = door.active(access_id, kind) if isinstance(access_id, str) else None
    if access is None:
        session.clear()
        abort(INVALID_LINK)
    g.access = access
    door.accesses.touch(access.id)
    return access


def per_access() -> str:
    """The rate-limit key of the session's access (uploads are limited per access)."""
    return f"acces:{session.get('acces', request.remote_addr)}"
