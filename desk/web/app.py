"""The web desk application: wiring of sessions, CSRF, sign-in, error pages and the page routers."""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from config import Settings
from desk.web import (
    pages_admin,
    pages_audit,
    pages_customers,
    pages_delivery,
    pages_desk,
    pages_discrepancies,
    pages_erp,
    pages_export,
    pages_finance,
    pages_language,
    pages_mutations,
    pages_payments,
    pages_prices,
    pages_reports,
    signin_entra,
)
from desk.web.auth import (
    LoginRequired,
    client_address,
    csrf_guard,
    current_actor,
    log,
    refusal_text,
    safe_next,
    session_secret,
    sign_in,
    sign_out,
)
from desk.web.background import BackgroundJobs
from desk.web.render import render
from desk.web.transport import SecurityHeaders, SessionCookies, TrustedProxies
from services.access import Actor
from services.batches import list_batches
from services.clock import Clock, SystemClock
from services.desk import list_discrepancies
from services.errors import NotAllowed, NotAvailableYet, NotFound, NotSignedIn, UserFacingError
from services.identity import sign_in_password
from services.operations import METRICS_CONTENT_TYPE, health, job_runs, render_metrics, scheduled_jobs
from services.sync import last_sync_runs

SESSION_COOKIE = "cspbill_session"


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """The web desk for ``settings``; ``clock`` is what the services take as now (tests and the demo inject one)."""
    app = FastAPI(title="cspbill desk", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(csrf_guard)])
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.background_jobs = BackgroundJobs()
    app.add_middleware(
        SessionCookies,
        secure=settings.web.secure_cookies,
        secret_key=session_secret(settings),
        session_cookie=SESSION_COOKIE,
        max_age=settings.auth.web_session_hours * 3600,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedProxies, proxies=settings.web.trusted_proxies,
                       sign_in_header=settings.web.trusted_proxy_header)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static")
    _error_pages(app)
    _routes(app)
    app.include_router(pages_desk.router)
    app.include_router(pages_discrepancies.router)
    app.include_router(pages_customers.router)
    app.include_router(pages_mutations.router)
    app.include_router(pages_finance.router)
    app.include_router(pages_prices.router)
    app.include_router(pages_payments.router)
    app.include_router(pages_admin.router)
    app.include_router(pages_erp.router)
    app.include_router(pages_delivery.router)
    app.include_router(pages_export.router)
    app.include_router(pages_reports.router)
    app.include_router(signin_entra.router)
    app.include_router(pages_audit.router)
    app.include_router(pages_language.router)
    return app


def _routes(app: FastAPI) -> None:
    @app.get("/healthz")
    def healthz(request: Request) -> JSONResponse:
        state = health(request.app.state.settings)
        body = {"ok": state.ok, "database": state.database, "migrations_at_head": state.at_head,
                "revisions": state.revisions, "heads": state.heads}
        if state.problem:
            body["problem"] = state.problem
        return JSONResponse(body, status_code=200 if state.ok else 503)

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        settings = request.app.state.settings
        if settings.web.metrics_token_env:
            token = os.environ.get(settings.web.metrics_token_env)
            given = request.headers.get("authorization", "").removeprefix("Bearer ")
            if not token or not hmac.compare_digest(given.encode(), token.encode()):
                return Response("metrics need the bearer token named by web.metrics_token_env\n", status_code=401,
                                media_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
        return Response(render_metrics(settings, request.app.state.clock), media_type=METRICS_CONTENT_TYPE)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return render(request, "login.html", next=safe_next(next), error=None,
                      entra=request.app.state.settings.auth.entra is not None)

    @app.post("/login", response_model=None)
    def login(
        request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")
    ) -> Response:
        try:
            issued = sign_in_password(request.app.state.settings, username, password, "web", client_address(request))
        except NotSignedIn as exc:  # the services' refusal: the same for an unknown name as for a wrong password
            return render(request, "login.html", status_code=401, next=safe_next(next), error=refusal_text(exc),
                          username_value=username, entra=request.app.state.settings.auth.entra is not None)
        sign_in(request, issued)
        log.info("web: %s signed in", issued.actor.username)
        return RedirectResponse(safe_next(next), status_code=303)

    @app.post("/logout")
    def logout(request: Request) -> RedirectResponse:
        sign_out(request)
        return RedirectResponse("/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, who: Actor = Depends(current_actor)) -> HTMLResponse:
        settings = request.app.state.settings
        open_issues = list_discrepancies(settings, who, status="open", limit=5)
        recent = list_batches(settings, who, per_page=5) if who.has_role("finance") else None
        return render(request, "home.html", who=who, discrepancies=open_issues, batches=recent)

    @app.get("/operations", response_class=HTMLResponse)
    def operations(request: Request, offset: int = 0, who: Actor = Depends(current_actor)) -> HTMLResponse:
        settings = request.app.state.settings
        finance = who.has_role("finance")
        jobs = job_runs(settings, who, offset=offset) if finance else None
        scheduled = scheduled_jobs(settings, who, request.app.state.clock) if finance else None
        exact_tenants = [t.code for t in settings.tenants if finance and who.can_see(t.code)
                         and t.erp.kind == "exact_online"]
        return render(request, "operations.html", who=who, runs=last_sync_runs(settings, who), jobs=jobs,
                      scheduled=scheduled, exact_tenants=exact_tenants)


def _error_pages(app: FastAPI) -> None:
    def page(request: Request, status: int, title: str, message: str) -> Response:
        if request.url.path == "/healthz":
            return JSONResponse({"ok": False, "problem": message}, status_code=status)
        return render(request, "error.html", status_code=status, title=title, message=message)

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, _exc: LoginRequired) -> Response:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
        return page(request, 401, "Sign-in required", "Please sign in again.")

    @app.exception_handler(NotFound)
    def not_found(request: Request, exc: NotFound) -> Response:
        return page(request, 404, "Not found", str(exc))

    @app.exception_handler(NotAllowed)
    def not_allowed(request: Request, exc: NotAllowed) -> Response:
        log.info("web: %s refused: %s", request.url.path, exc)
        return page(request, 403, "Not allowed", str(exc))

    @app.exception_handler(NotAvailableYet)
    def not_available(request: Request, exc: NotAvailableYet) -> Response:
        return page(request, 503, "Not available yet", str(exc))

    @app.exception_handler(UserFacingError)
    def user_error(request: Request, exc: UserFacingError) -> Response:
        return page(request, 400, "Cannot do that", str(exc))

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> Response:
        titles = {403: "Forbidden", 404: "Not found", 405: "Method not allowed"}
        return page(request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> Response:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("path", "query", "body"))
        return page(request, 400, "Cannot read the request", f"{where}: {error.get('msg', 'invalid')}")

    @app.exception_handler(404)
    def unknown_path(request: Request, _exc: Exception) -> Response:
        return page(request, 404, "Not found", f"{request.url.path}: no such page")
