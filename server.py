"""Rassembleur: the application factory. `python server.py` serves it (see README)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.staticfiles import StaticFiles
from tortoise.contrib.starlette import RegisterTortoise

from core.db import load_packages, tortoise_config
from core.errors import AppError, NotAuthenticated, NotFound
from core.http import (
    BodySizeLimitMiddleware,
    LanguageMiddleware,
    SecurityHeadersMiddleware,
    TextGuardMiddleware,
    is_api,
)
from core.i18n import _
from core.ratelimit import RateLimiter
from core.settings import PROJECT_ROOT, Settings, load_settings

log = logging.getLogger("rassembleur")

# Feature packages whose `routes` module contributes routes, in order.
ROUTE_MODULES = [
    "core.routes",
    "core.mail.routes",
    "people.admin_routes",
    "people.api_routes",
    "events.api_routes",
    "events.feed_routes",
    "events.submission_routes",
    "events.public_routes",
    "events.admin_routes",
    "events.launch_routes",
    "registrations.public_routes",
    "registrations.api_routes",
    "registrations.admin_routes",
    "registrations.question_routes",
    "registrations.checkin_routes",
    "registrations.checkin_admin_routes",
    "registrations.tablet_routes",
    "registrations.hold_routes",
    "registrations.attestation_routes",
    "campaigns.preference_routes",
    "campaigns.api_routes",
    "campaigns.admin_routes",
    "campaigns.rsvp_routes",
    "campaigns.tracking_routes",
    "campaigns.certification.public_routes",
    "campaigns.certification.api_routes",
    "campaigns.certification.admin_routes",
    "campaigns.certification.directory_routes",
    "campaigns.certification.verify_routes",
    "evaluations.api_routes",
    "evaluations.public_routes",
    "evaluations.admin_routes",
    "reports.api_routes",
    "reports.dashboard_routes",
    "reports.event_report_routes",
    "reports.plan_api_routes",
    "reports.plan_routes",
    "reports.accountability_routes",
]


def collect_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        routes.extend(module.routes)
    routes.append(Mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static"))
    return routes


async def app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    headers = {"Retry-After": str(exc.extra["retry_after"])} if exc.status_code == 429 else None
    if is_api(request):
        return JSONResponse(exc.payload(), status_code=exc.status_code, headers=headers)
    if isinstance(exc, NotAuthenticated):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return error_page(request, exc.status_code, exc.message, headers)


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    from core.templating import render

    titles = {
        403: _("Accès refusé"),
        404: _("Page introuvable"),
        405: _("Action non permise"),
        413: _("Contenu trop volumineux"),
        429: _("Trop de tentatives"),
        500: _("Une erreur est survenue"),
    }
    title = titles.get(status, _("La requête n'a pas pu être traitée"))
    try:
        return render(
            request,
            "errors/error.html",
            {"status": status, "title": title, "message": message},
            status_code=status,
            headers=headers,
        )
    except Exception:  # noqa: BLE001 - last resort: never show a trace
        log.exception("error page failed")
        return Response(f"{status} — {title}", status_code=status, media_type="text/plain")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return await app_error(request, NotFound())
    error = AppError(
        _("Cette action n'est pas permise ici.") if exc.status_code == 405 else None,
        status_code=exc.status_code,
        code="method_not_allowed" if exc.status_code == 405 else "http_error",
    )
    response = await app_error(request, error)
    for name, value in (exc.headers or {}).items():  # e.g. Allow on 405
        response.headers[name] = value
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request))
    return response


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path: Starlette's 405 names only the first
    route that matched the path, and a path often has one route per method."""
    methods: set[str] = set()
    pending: list[tuple[BaseRoute, dict]] = [(r, dict(request.scope)) for r in request.app.routes]
    while pending:
        route, scope = pending.pop()
        if isinstance(route, Mount):
            match, child = route.matches(scope)
            if match != Match.NONE:
                sub = {**scope, **child}
                pending.extend((r, sub) for r in route.routes)
        elif isinstance(route, Route) and route.methods:
            scope = {**scope, "method": next(iter(route.methods))}
            match, _child = route.matches(scope)
            if match == Match.FULL:
                methods |= route.methods
    return sorted(methods)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = _(
        "Une erreur inattendue est survenue. L'équipe a été avertie; veuillez réessayer "
        "dans quelques instants."
    )
    if is_api(request):
        return JSONResponse(
            {"error": {"code": "server_error", "message": message}}, status_code=500
        )
    return error_page(request, 500, message)


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """Build the application.

    `manage_database=False` is for tests, which set up the ORM themselves.
    """
    settings = settings or load_settings()
    settings.validate()
    load_packages(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        worker: asyncio.Task[None] | None = None
        upkeep: asyncio.Task[None] | None = None
        async with contextlib.AsyncExitStack() as stack:
            if manage_database:
                await stack.enter_async_context(
                    RegisterTortoise(app, config=tortoise_config(settings))
                )
            if settings.run_worker_in_server:
                from core.mail.worker import run_worker
                from core.maintenance import run_maintenance

                worker = asyncio.create_task(run_worker(settings, stop), name="mail-worker")
                upkeep = asyncio.create_task(run_maintenance(stop), name="maintenance")
            try:
                yield
            finally:
                stop.set()
                for task in (worker, upkeep):
                    if task is not None:
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await asyncio.wait_for(task, timeout=10)

    middleware = [
        Middleware(SecurityHeadersMiddleware, https=settings.https),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie="rassembleur_session",
            max_age=12 * 3600,
            same_site="lax",
            https_only=settings.https,
        ),
        Middleware(LanguageMiddleware, settings=settings),
        Middleware(TextGuardMiddleware),
    ]
    app = Starlette(
        routes=collect_routes(),
        middleware=middleware,
        exception_handlers={
            AppError: app_error,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings)
    return app


def main() -> None:
    import cli

    cli.main(["serve"])


if __name__ == "__main__":
    main()
