"""The console's Falcon shell: routes, sessions and the checks of :mod:`.security`.

Thin by design: each resource reads its data (:mod:`.data`, :mod:`.actions`), renders a
page (:mod:`.pages`) and sets the response. :class:`Guard` runs first on every request:
the ``Host`` check, the session cookie (a new session for a browser that has none), the
login, and for every POST the same-origin, CSRF and read-only checks. A refused POST is
a 403 page and changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dramatiq
import falcon
import redis

from gateway import sfid
from gateway.console import actions, pages
from gateway.console.data import ApiUsage, fetch_api_usage, read_opportunity, read_overview
from gateway.console.layout import Chrome
from gateway.console.security import (
    COOKIE,
    CSRF_FIELD,
    SECURITY_HEADERS,
    Session,
    cookie_header,
    host_refusal,
    origin_of,
    post_refusal,
    tokens_equal,
)
from gateway.console.selection import LetterFilter, orgs, reason_groups, select
from gateway.console.sessions import SessionStore
from gateway.console.settings import ConsoleSettings
from gateway.pipeline.status import read_contracts
from gateway.pipeline.stores import DeadLetters
from gateway.redis_connection import connect
from gateway.trail import build_trail

log = logging.getLogger("sfgw.console")

MAX_FORM_BYTES = 1024 * 1024
OPEN_PATHS = ("/login", "/static/", "/healthz")
STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


class Refused(Exception):
    """A request the console will not serve: answered ``status`` with a short page."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Console:
    """The per-process state every resource shares."""

    def __init__(self, settings: ConsoleSettings, client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        core = settings.core
        self.sessions = SessionStore(client, core, settings.session_ttl_s)
        self.letters = DeadLetters(client, core, build_trail(client, core, settings.trail))
        #: read from the contracts once (no Redis): their queues are on the overview
        self.contracts = read_contracts(core, settings.routes)
        self._broker: dramatiq.Broker | None = None
        self._api: tuple[float, ApiUsage] | None = None

    def broker(self) -> dramatiq.Broker:
        if self._broker is None:
            from gateway.broker import make_broker

            self._broker = make_broker(self.settings.core, self.settings.broker)
        return self._broker

    def api_usage(self) -> ApiUsage:
        """The workers' figures, asked at most every 10 s (every page polls)."""
        now = time.monotonic()
        if self._api is None or now - self._api[0] > 10:
            self._api = (now, fetch_api_usage(self.settings.worker_metrics_url))
        return self._api[1]

    def chrome(self, req: falcon.Request, active: str = "") -> Chrome:
        session: Session | None = req.context.session
        flash = ""
        if session is not None and session.flash:
            flash = self.sessions.pop_flash(req.context.session_id, session)
        return Chrome(
            csrf=None if session is None else session.csrf,
            read_only=self.settings.read_only,
            login_required=self.settings.login_required,
            authenticated=session is not None and session.authenticated,
            flash=flash,
            active=active,
            seen=time.time(),
        )

    def flash(self, req: falcon.Request, text: str) -> None:
        self.sessions.set_flash(req.context.session_id, req.context.session, text)


#: GETs a script or a probe makes (with the page's cookie, or none at all)
_NO_SESSION_PATHS = ("/static/", "/healthz", "/api/", "/overview/live", "/opportunity/live")


def _starts_a_session(path: str, settings: ConsoleSettings) -> bool:
    """Whether a GET without a session gets one: a page a person opens. With a login,
    only the login page (its form needs the CSRF token); never a probe or a poll, which
    would leave a session in Redis for every unauthenticated request."""
    if settings.login_required:
        return path == "/login"
    return not path.startswith(_NO_SESSION_PATHS)


class Guard:
    """Host, session, login, and the POST checks, before any resource runs."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        settings = self.console.settings
        refusal = host_refusal(
            req.get_header("Host") or "",
            loopback_without_login=settings.loopback and not settings.login_required,
        )
        if refusal:
            raise Refused(falcon.HTTP_421, refusal)
        session_id = req.cookies.get(COOKIE)
        session = self.console.sessions.get(session_id)
        if session is None and req.method == "GET" and _starts_a_session(req.path, settings):
            session_id, session = self.console.sessions.create(
                authenticated=not settings.login_required
            )
            resp.append_header(
                "Set-Cookie",
                cookie_header(
                    session_id, max_age=settings.session_ttl_s, secure=req.scheme == "https"
                ),
            )
        req.context.session_id, req.context.session = session_id, session
        req.context.form = {}
        if req.method == "POST":
            req.context.form = _read_form(req)
            headers = {k.lower(): v for k, v in req.headers.items()}
            reason = post_refusal(
                headers,
                own_origin=origin_of(req.scheme, req.get_header("Host") or ""),
                session=session,
                form_csrf=(req.context.form.get(CSRF_FIELD) or [None])[0],
                read_only=settings.read_only,
                action=req.path not in ("/login", "/logout"),
            )
            if reason:
                log.warning("refused POST %s: %s", req.path, reason)
                raise Refused(falcon.HTTP_403, reason)
        elif req.method not in ("GET", "HEAD"):
            raise Refused(falcon.HTTP_405, "GET pages, POST actions")
        open_path = req.path.startswith(OPEN_PATHS)
        if settings.login_required and not open_path and not (session and session.authenticated):
            if req.method == "GET" and not req.path.startswith(
                ("/api/", "/overview/live", "/opportunity/live")
            ):
                raise falcon.HTTPSeeOther("/login")
            raise Refused(falcon.HTTP_401, "log in first")

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        for name, value in SECURITY_HEADERS.items():
            resp.set_header(name, value)


def _read_form(req: falcon.Request) -> dict[str, list[str]]:
    if not (req.content_type or "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = req.bounded_stream.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise Refused(falcon.HTTP_413, "form too large")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def _html(resp: falcon.Response, text: str, status: str = falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_HTML
    resp.text = text


class Overview:
    def __init__(self, console: Console, part: str) -> None:
        self.console, self.part = console, part

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        c = self.console
        overview = read_overview(
            c.client,
            c.settings.core,
            api=c.api_usage,
            heartbeat_timeout_ms=c.settings.broker.heartbeat_timeout_ms,
            contracts=c.contracts,
        )
        if self.part == "json":
            resp.content_type = falcon.MEDIA_JSON
            resp.text = json.dumps(overview.to_dict(), default=str)
        elif self.part == "live":
            _html(resp, pages.overview_live(overview))
        else:
            _html(resp, pages.overview_page(overview, c.chrome(req, "overview")))


class Letters:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        every = list(self.console.letters.iter())
        wanted = LetterFilter.from_params(req.params)
        _html(
            resp,
            pages.letters_page(
                select(every, wanted),
                len(every),
                wanted,
                reason_groups(every),
                orgs(every),
                chrome=self.console.chrome(req, "letters"),
            ),
        )

    def on_get_one(self, req: falcon.Request, resp: falcon.Response, letter_id: str) -> None:
        letter = self.console.letters.get(letter_id)
        if letter is None:
            raise Refused(falcon.HTTP_404, f"no dead letter {letter_id} (replayed or purged?)")
        _html(resp, pages.letter_page(letter, self.console.chrome(req, "letters")))


class Replay:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        c = self.console
        choice = actions.Choice.from_form(req.context.form)
        letters = actions.chosen(c.letters, choice)
        count = actions.replay_letters(c.broker, c.letters, letters)
        log.info("replayed %d dead letters (%s)", count, choice.scope)
        c.flash(req, f"Replayed {actions.plural(count)}.")
        back = (req.context.form.get("back") or [""])[0]
        target = back if _local(back) else f"/dead-letters?{choice.letter_filter.query()}"
        raise falcon.HTTPSeeOther(target)


class Purge:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = {k: v if isinstance(v, list) else [v] for k, v in req.params.items()}
        chrome = self.console.chrome(req, "letters")
        if not chrome.actions:
            raise Refused(falcon.HTTP_403, "the console is read-only (SFGW_CONSOLE_READ_ONLY=true)")
        asked = actions.Choice.from_form(form)
        seen = asked.seen or chrome.seen  # the list's time, carried on to the confirmation
        choice = replace(asked, seen=seen)
        count = len(actions.chosen(self.console.letters, choice))
        _html(
            resp,
            pages.purge_confirm_page(
                count, choice.scope, list(choice.ids), choice.letter_filter, chrome, seen=seen
            ),
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        c = self.console
        choice = actions.Choice.from_form(req.context.form)
        if (req.context.form.get("confirm") or [""])[0] != "yes":
            raise Refused(falcon.HTTP_400, "a purge needs its confirmation")
        count = actions.purge_letters(c.letters, actions.chosen(c.letters, choice))
        log.info("purged %d dead letters (%s)", count, choice.scope)
        c.flash(req, f"Purged {actions.plural(count)}.")
        raise falcon.HTTPSeeOther(f"/dead-letters?{choice.letter_filter.query()}")


class Opportunity:
    def __init__(self, console: Console, live: bool) -> None:
        self.console, self.live = console, live

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        c = self.console
        query = (req.get_param("id") or "").strip()[:40]
        chrome = c.chrome(req, "opportunity")
        if not query:
            _html(resp, pages.opportunity_page(None, "", None, chrome))
            return
        try:
            record = sfid.to18(query)
        except sfid.InvalidSalesforceId:
            problem = f"{query!r} is not a 15- or 18-character Salesforce id"
            _html(resp, pages.opportunity_page(None, query, problem, chrome))
            return
        view = read_opportunity(c.client, c.settings.core, c.settings.trail, record)
        if self.live:
            _html(resp, pages.opportunity_live(view, chrome))
        else:
            _html(resp, pages.opportunity_page(view, query, None, chrome))


class Login:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.console.settings.login_required:
            raise falcon.HTTPSeeOther("/")
        _html(resp, pages.login_page(self.console.chrome(req)))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        c = self.console
        expected = c.settings.token
        given = (req.context.form.get("token") or [""])[0]
        if expected is None or not tokens_equal(given, expected):
            log.warning("failed console login from %s", req.remote_addr)
            time.sleep(0.5)  # a guess costs time; the token is long and random anyway
            _html(resp, pages.login_page(c.chrome(req), "wrong token"), falcon.HTTP_401)
            return
        c.sessions.delete(req.context.session_id)  # a new id after the login
        session_id, _ = c.sessions.create(authenticated=True)
        resp.append_header(
            "Set-Cookie",
            cookie_header(
                session_id, max_age=c.settings.session_ttl_s, secure=req.scheme == "https"
            ),
        )
        raise falcon.HTTPSeeOther("/")


class Logout:
    def __init__(self, console: Console) -> None:
        self.console = console

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.console.sessions.delete(req.context.session_id)
        resp.append_header("Set-Cookie", cookie_header("", max_age=0, secure=req.scheme == "https"))
        raise falcon.HTTPSeeOther("/login" if self.console.settings.login_required else "/")


class Static:
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if name not in STATIC:
            raise Refused(falcon.HTTP_404, "no such file")
        resp.content_type = STATIC[name]
        resp.data = files("gateway.console").joinpath("static", name).read_bytes()


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "ok\n"


def _local(path: str) -> bool:
    parts = urlsplit(path)
    return path.startswith("/") and not path.startswith("//") and not parts.netloc


def create_app(
    settings: ConsoleSettings, client: redis.Redis | None = None
) -> falcon.App[falcon.Request, falcon.Response]:
    client = client or connect(
        settings.core.require_redis(), timeout_s=10, connect_timeout_s=5, client_name="sfgw-console"
    )
    console = Console(settings, client)
    app = falcon.App(middleware=[Guard(console)])
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route("/", Overview(console, "page"))
    app.add_route("/overview/live", Overview(console, "live"))
    app.add_route("/api/overview", Overview(console, "json"))
    letters = Letters(console)
    app.add_route("/dead-letters", letters)
    app.add_route("/dead-letters/replay", Replay(console))
    app.add_route("/dead-letters/purge", Purge(console))
    app.add_route("/dead-letters/{letter_id}", letters, suffix="one")
    app.add_route("/opportunity", Opportunity(console, live=False))
    app.add_route("/opportunity/live", Opportunity(console, live=True))
    app.add_route("/login", Login(console))
    app.add_route("/logout", Logout(console))
    app.add_route("/static/{name}", Static())
    app.add_route("/healthz", Health())
    app.add_error_handler(Refused, _refused(console))
    return app


def _refused(console: Console) -> Callable[..., None]:
    def handle(req: falcon.Request, resp: falcon.Response, error: Refused, params: Any) -> None:
        for name, value in SECURITY_HEADERS.items():
            resp.set_header(name, value)
        title = {falcon.HTTP_403: "Refused", falcon.HTTP_404: "Not found"}.get(
            error.status, "Error"
        )
        session = getattr(req.context, "session", None)
        chrome = Chrome(
            csrf=None,
            read_only=console.settings.read_only,
            login_required=console.settings.login_required,
            authenticated=bool(session and session.authenticated),
        )
        _html(resp, pages.message_page(title, error.reason, chrome), error.status)

    return handle
