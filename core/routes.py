"""Core routes: home, health, login/logout, back-office shell, users, tokens, audit, OpenAPI."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise import connections

from core import accounts, audit
from core.auth import Principal, current_principal, requires, start_session
from core.errors import AppError, NotFound, ValidationFailed
from core.http import client_ip_of, flash, read_form, redirect, safe_next
from core.i18n import _
from core.models import ApiToken, AuditEntry, Role, User
from core.openapi import api_doc, build_openapi
from core.paging import page_number
from core.panels import panels_for
from core.security import new_csrf_token
from core.templating import render


async def home(request: Request) -> Response:
    await current_principal(request)
    return render(request, "core/home.html")


async def privacy(request: Request) -> Response:
    """The public privacy notice (Loi 25): what is kept, why, and for how long."""
    await current_principal(request)
    return render(request, "core/privacy.html")


@api_doc(
    summary="État du service et de la base de données",
    tags=["système"],
    auth="public",
    errors=[503],
)
async def health(request: Request) -> Response:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means the database is not usable
        return JSONResponse({"status": "degraded", "database": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def openapi(request: Request) -> Response:
    document = build_openapi(list(request.app.routes), request.app.state.settings.base_url)
    return JSONResponse(document)


async def login_page(request: Request) -> Response:
    principal = await current_principal(request)
    next_url = safe_next(request.query_params.get("next"))
    if principal is not None:
        return redirect(next_url)
    return render(request, "core/login.html", {"next": next_url, "email": ""})


async def login_submit(request: Request) -> Response:
    form = await read_form(request)
    email = str(form.get("email", ""))[:254]
    password = str(form.get("password", ""))[:1024]
    next_url = safe_next(str(form.get("next", "")))
    settings = request.app.state.settings
    try:
        user = await accounts.authenticate(
            request.app.state.limiter,
            accounts.LoginLimits.from_settings(settings),
            email,
            password,
            client_ip_of(request),
        )
    except AppError as error:
        headers = (
            {"Retry-After": str(error.extra["retry_after"])} if error.status_code == 429 else None
        )
        return render(
            request,
            "core/login.html",
            {"next": next_url, "email": email, "error": error.message},
            status_code=error.status_code if error.status_code == 429 else 400,
            headers=headers,
        )
    request.session.clear()
    start_session(request.session, user)
    request.session["csrf"] = new_csrf_token()
    if user.language in {"fr", "en"} and not request.cookies.get("lang"):
        pass
    return redirect(next_url)


async def logout(request: Request) -> Response:
    await read_form(request)
    principal = await current_principal(request)
    if principal is not None:
        # A copy of the cookie must not outlive the logout: end every session.
        await accounts.sign_out(principal)
    request.session.clear()
    flash(request, _("Vous êtes déconnecté."))
    return redirect("/login")


@requires("backoffice.access")
async def dashboard(request: Request) -> Response:
    panels = await panels_for(request.state.principal, datetime.now(UTC))
    return render(request, "core/dashboard.html", {"panels": panels})


@requires("tokens.own")
async def account_page(request: Request) -> Response:
    principal: Principal = request.state.principal
    tokens = await ApiToken.filter(user_id=principal.user_id, scope="").order_by("-created_at")
    return render(request, "core/account.html", {"tokens": tokens, "new_token": None})


@requires("tokens.own")
async def token_create(request: Request) -> Response:
    form = await read_form(request)
    principal: Principal = request.state.principal
    user = await User.get(id=principal.user_id)
    _token, raw = await accounts.create_token(principal, user, str(form.get("name", "")))
    tokens = await ApiToken.filter(user_id=principal.user_id, scope="").order_by("-created_at")
    return render(request, "core/account.html", {"tokens": tokens, "new_token": raw})


@requires("tokens.own")
async def token_revoke(request: Request) -> Response:
    await read_form(request)
    await accounts.revoke_token(request.state.principal, int(request.path_params["token_id"]))
    flash(request, _("Le jeton a été révoqué."))
    return redirect("/admin/account")


@requires("tokens.own")
async def password_change(request: Request) -> Response:
    form = await read_form(request)
    principal: Principal = request.state.principal
    try:
        user = await accounts.change_password(
            principal, str(form.get("current_password", "")), str(form.get("new_password", ""))
        )
    except ValidationFailed as error:
        for message in error.fields.values():
            flash(request, message, "error")
        return redirect("/admin/account")
    # The password change ended every session; this one goes on with the new version.
    start_session(request.session, user)
    flash(request, _("Votre mot de passe a été changé."))
    return redirect("/admin/account")


@requires("tokens.own")
async def sign_out_everywhere(request: Request) -> Response:
    await read_form(request)
    await accounts.sign_out_everywhere(request.state.principal)
    request.session.clear()
    flash(request, _("Vous êtes déconnecté sur tous vos appareils."))
    return redirect("/login")


@requires("users.manage")
async def users_page(request: Request) -> Response:
    users = await User.all().order_by("email")
    return render(
        request,
        "core/users.html",
        {"users": users, "roles": list(Role), "errors": {}, "values": {}},
    )


@requires("users.manage")
async def user_create(request: Request) -> Response:
    form = await read_form(request)
    values = {k: str(form.get(k, "")) for k in ("email", "full_name", "role")}
    try:
        await accounts.create_user(
            request.state.principal,
            values["email"],
            str(form.get("password", "")),
            values["role"],
            values["full_name"],
        )
    except (ValidationFailed, AppError) as error:
        users = await User.all().order_by("email")
        errors = error.fields or {"email": error.message}
        return render(
            request,
            "core/users.html",
            {"users": users, "roles": list(Role), "errors": errors, "values": values},
            status_code=422 if isinstance(error, ValidationFailed) else error.status_code,
        )
    flash(request, _("Le compte a été créé."))
    return redirect("/admin/users")


@requires("users.manage")
async def user_update(request: Request) -> Response:
    form = await read_form(request)
    user_id = int(request.path_params["user_id"])
    principal = request.state.principal
    if "role" in form:
        await accounts.set_role(principal, user_id, str(form["role"]))
    if "active" in form:
        await accounts.set_active(principal, user_id, str(form["active"]) == "1")
    flash(request, _("Le compte a été mis à jour."))
    return redirect("/admin/users")


@requires("audit.view")
async def audit_page(request: Request) -> Response:
    query = AuditEntry.all().order_by("-at", "-id")
    action = request.query_params.get("action", "").strip()
    if action:
        query = query.filter(action__icontains=action)
    page = page_number(request.query_params.get("page", "1"))
    entries = await query.offset((page - 1) * 50).limit(51)
    return render(
        request,
        "core/audit.html",
        {
            "entries": entries[:50],
            "has_next": len(entries) > 50,
            "page": page,
            "action": action,
            "actions": audit.action_choices(),
            "action_label": audit.action_label,
            "details_text": audit.details_text,
        },
    )


async def not_found_page(request: Request) -> Response:
    raise NotFound()


routes = [
    Route("/", home, name="home"),
    Route("/confidentialite", privacy, name="privacy"),
    Route("/api/v1/health", health, name="health"),
    Route("/api/v1/openapi.json", openapi, name="openapi"),
    Route("/login", login_page, name="login"),
    Route("/login", login_submit, methods=["POST"], name="login_submit"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/admin", dashboard, name="dashboard"),
    Route("/admin/account", account_page, name="account"),
    Route("/admin/account/tokens", token_create, methods=["POST"], name="token_create"),
    Route(
        "/admin/account/tokens/{token_id:int}/revoke",
        token_revoke,
        methods=["POST"],
        name="token_revoke",
    ),
    Route("/admin/account/password", password_change, methods=["POST"], name="password_change"),
    Route(
        "/admin/account/sessions/end",
        sign_out_everywhere,
        methods=["POST"],
        name="sign_out_everywhere",
    ),
    Route("/admin/users", users_page, name="users"),
    Route("/admin/users", user_create, methods=["POST"], name="user_create"),
    Route("/admin/users/{user_id:int}", user_update, methods=["POST"], name="user_update"),
    Route("/admin/audit", audit_page, name="audit"),
]
