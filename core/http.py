"""HTTP plumbing shared by every package: middlewares, form/JSON parsing, flash messages."""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import unquote_plus

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import i18n
from core.auth import Principal
from core.errors import AppError, Forbidden, PayloadTooLarge, ValidationFailed
from core.i18n import _
from core.inputs import InputRefused, check_json, parse_json_int, text_problem
from core.security import same_token
from core.settings import Settings

M = TypeVar("M", bound=BaseModel)

# Paths (prefix match) allowed a larger body than the default, e.g. CSV uploads.
LARGE_BODY_PATHS = ("/api/v1/people/import", "/admin/people/import")
LARGE_BODY_LIMIT = 20 * 1024 * 1024


class LanguageMiddleware:
    """Picks the language (?lang=, then cookie, then Accept-Language) for the request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.default = settings.default_language
        self.time_zone = settings.time_zone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        query_lang = request.query_params.get("lang")
        chosen = i18n.negotiate_language(
            query_lang or request.cookies.get("lang"),
            request.headers.get("accept-language"),
            self.default,
        )
        token = i18n.current_language.set(chosen)
        tz_token = i18n.current_timezone.set(self.time_zone)
        remember = query_lang is not None and query_lang[:2].lower() in i18n.LANGUAGES

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-language", chosen.encode()))
                if remember:
                    cookie = f"lang={chosen}; Path=/; Max-Age=31536000; SameSite=Lax"
                    headers.append((b"set-cookie", cookie.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            i18n.current_language.reset(token)
            i18n.current_timezone.reset(tz_token)


class BodySizeLimitMiddleware:
    """Refuses request bodies over the limit with 413 before the app reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = LARGE_BODY_LIMIT if path.startswith(LARGE_BODY_PATHS) else self.max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _send_error(scope, send, PayloadTooLarge())
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge()
            return message

        await self.app(scope, limited_receive, send)


class TextGuardMiddleware:
    """A NUL character in the path or the query string → 422 before any route runs:
    PostgreSQL cannot store it, and no identifier, token or search contains one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
            if "\x00" in str(scope.get("path", "")) or "\x00" in query:
                error = ValidationFailed(_("Le caractère nul (\\0) n'est pas permis."))
                await _send_error(scope, send, error)
                return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _v in headers}
                defaults = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (
                        b"content-security-policy",
                        b"default-src 'self'; img-src 'self' data: blob:; "
                        b"style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
                        b"form-action 'self'; base-uri 'self'",
                    ),
                ]
                if self.https:
                    defaults.append(
                        (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
                    )
                for key, value in defaults:
                    if key not in present:
                        headers.append((key, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


async def _send_error(scope: Scope, send: Send, error: AppError) -> None:
    """An error answered before the app runs: JSON under /api/, a small page elsewhere."""
    if str(scope.get("path", "")).startswith("/api/"):
        body = json.dumps(error.payload()).encode()
        content_type = b"application/json"
    else:
        from markupsafe import escape

        home = escape(_("Retour à l'accueil"))
        title = escape(error.message)
        lang = i18n.current_language.get()
        body = (
            f'<!doctype html><html lang="{lang}"><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{error.status_code}</title><link rel="stylesheet" href="/static/css/app.css">'
            f'<main class="container error-page"><h1>{title}</h1>'
            f'<p><a href="/">{home}</a></p></main></html>'
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def client_ip_of(request: Request) -> str:
    return request.client.host if request.client else ""


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def read_form(request: Request) -> FormData:
    """Parse a submitted form and check its CSRF token (every HTML form goes through here)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        raise ValidationFailed(_("Le formulaire envoyé est dans un format inattendu."))
    form = await request.form(max_part_size=LARGE_BODY_LIMIT)
    check_form_text(form)
    given = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not same_token(request.session.get("csrf"), given if isinstance(given, str) else None):
        raise Forbidden(
            _(
                "Le formulaire a expiré ou ne provient pas de ce site. "
                "Rechargez la page et réessayez."
            ),
            code="csrf_failed",
        )
    return form


def check_form_text(form: FormData) -> None:
    """Text fields of a form that cannot be stored (NUL, lone surrogate) → 422 by field.
    Uploaded files are the importers' business (they report per line)."""
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        problem = text_problem(key) or (text_problem(value) if isinstance(value, str) else None)
        if problem:
            fields.setdefault(key[:40] if not text_problem(key) else "__root__", problem)
    if fields:
        # The page that shows this error has no form around it: say what is wrong.
        raise ValidationFailed(next(iter(fields.values())), fields=fields)


def check_csrf_header(request: Request) -> None:
    """For JSON calls authenticated by the session cookie (e.g. the tablet app)."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if "session" not in request.scope or request.session.get("user_id") is None:
        return
    if not same_token(request.session.get("csrf"), request.headers.get("x-csrf-token")):
        raise Forbidden(_("Jeton CSRF manquant ou invalide."), code="csrf_failed")


# French (and English through the catalog) messages for pydantic's error types.
_PYDANTIC_MESSAGES = {
    "missing": i18n.N_("Ce champ est obligatoire."),
    "string_too_short": i18n.N_("Ce champ est obligatoire."),
    "string_too_long": i18n.N_("Ce texte est trop long (%(max_length)s caractères au maximum)."),
    "string_type": i18n.N_("Une chaîne de caractères est attendue."),
    "int_parsing": i18n.N_("Un nombre entier est attendu."),
    "int_type": i18n.N_("Un nombre entier est attendu."),
    "int_from_float": i18n.N_("Un nombre entier est attendu."),
    "float_parsing": i18n.N_("Un nombre est attendu."),
    "bool_parsing": i18n.N_("Oui ou non est attendu."),
    "bool_type": i18n.N_("Oui ou non est attendu."),
    "greater_than_equal": i18n.N_("La valeur doit être d'au moins %(ge)s."),
    "greater_than": i18n.N_("La valeur doit être supérieure à %(gt)s."),
    "less_than_equal": i18n.N_("La valeur doit être d'au plus %(le)s."),
    "less_than": i18n.N_("La valeur doit être inférieure à %(lt)s."),
    "datetime_parsing": i18n.N_("Date et heure invalides (format attendu : 2027-02-16T09:00)."),
    "datetime_from_date_parsing": i18n.N_(
        "Date et heure invalides (format attendu : 2027-02-16T09:00)."
    ),
    "datetime_type": i18n.N_("Date et heure invalides (format attendu : 2027-02-16T09:00)."),
    "date_parsing": i18n.N_("Date invalide (format attendu : 2027-02-16)."),
    "date_from_datetime_parsing": i18n.N_("Date invalide (format attendu : 2027-02-16)."),
    "enum": i18n.N_("Valeur non permise."),
    "literal_error": i18n.N_("Valeur non permise."),
    "list_type": i18n.N_("Une liste est attendue."),
    "dict_type": i18n.N_("Un objet est attendu."),
    "model_type": i18n.N_("Un objet est attendu."),
    "extra_forbidden": i18n.N_("Ce champ n'est pas reconnu."),
    "url_parsing": i18n.N_("Adresse web invalide."),
    "url_scheme": i18n.N_("Adresse web invalide (http ou https)."),
    "value_error": i18n.N_("Valeur invalide."),
    "too_long": i18n.N_("Trop d'éléments."),
}


def field_errors(exc: PydanticValidationError) -> dict[str, str]:
    """Pydantic errors as {"field.path": "message in the user's language"}."""
    fields: dict[str, str] = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "__root__"
        kind = err.get("type", "value_error")
        ctx = err.get("ctx") or {}
        if kind == "value_error" and "email" in str(ctx.get("reason", err.get("msg", ""))).lower():
            message = _("Adresse courriel invalide.")
        elif kind == "value_error" and isinstance(ctx.get("error"), ValueError):
            # Validators in schemas raise ValueError with an already translated message.
            message = str(ctx["error"])
        else:
            template = _PYDANTIC_MESSAGES.get(kind, _PYDANTIC_MESSAGES["value_error"])
            try:
                message = _(
                    template, **{k: v for k, v in ctx.items() if isinstance(v, int | str | float)}
                )
            except (KeyError, TypeError, ValueError):
                message = _(template)
        fields.setdefault(loc, message)
    return fields


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationFailed(fields=field_errors(exc)) from None


def validate_json(model: type[M], data: Any) -> M:
    """A decoded JSON body into `model`, strictly as the OpenAPI document types it: no
    number for a boolean, no string for a number (pydantic's strict JSON mode, which
    still reads dates, datetimes and enum values from their JSON strings)."""
    try:
        return model.model_validate_json(json.dumps(data), strict=True)
    except PydanticValidationError as exc:
        raise ValidationFailed(fields=field_errors(exc)) from None


async def parse_json(request: Request, model: type[M]) -> M:
    """Read a JSON body into `model`; bad content types and malformed JSON give clear 4xx."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise AppError(
            _("Le corps de la requête doit être du JSON (Content-Type: application/json)."),
            code="unsupported_media_type",
            status_code=415,
        )
    raw = await request.body()
    data = load_json(raw)
    if not isinstance(data, dict):
        raise ValidationFailed(_("Un objet JSON est attendu."))
    return validate_json(model, data)


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InputRefused({}, structural=_("Un nombre du JSON envoyé est trop grand."))
    return value


def load_json(raw: bytes) -> Any:
    """Decode a JSON body: malformed or too deeply nested → 400; a number too large or
    text that cannot be stored (NUL, lone surrogate) → 422 with the field's path."""
    if not raw:
        return {}
    try:
        data = json.loads(
            raw,
            parse_int=parse_json_int,
            parse_float=_finite_float,
            parse_constant=_refuse_constant,
        )
    except InputRefused as exc:
        raise ValidationFailed(exc.structural) from None
    except RecursionError:
        raise AppError(_("Le JSON envoyé est trop imbriqué."), code="malformed_json") from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise AppError(_("Le JSON envoyé est mal formé."), code="malformed_json") from None
    try:
        check_json(data)
    except InputRefused as exc:
        if exc.structural:
            raise AppError(exc.structural, code="malformed_json") from None
        raise ValidationFailed(fields=exc.fields) from None
    return data


def int_query_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter in [low, high] (what the OpenAPI document declares);
    not a number or out of bounds → 422 field error."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    raw = raw.strip()
    if not raw.lstrip("-").isdigit() or len(raw) > 12:
        raise ValidationFailed(fields={name: _("Un nombre entier est attendu.")})
    value = int(raw)
    if not low <= value <= high:
        raise ValidationFailed(
            fields={
                name: _(
                    "La valeur doit être comprise entre %(low)s et %(high)s.", low=low, high=high
                )
            }
        )
    return value


def flash(request: Request, message: str, kind: str = "success") -> None:
    messages = request.session.setdefault("flash", [])
    messages.append({"kind": kind, "message": message})
    request.session["flash"] = messages


def pop_flashes(request: Request) -> list[dict[str, str]]:
    if "session" not in request.scope:
        return []
    return list(request.session.pop("flash", []) or [])


def redirect(url: str, status_code: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status_code)


def json_response(
    data: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(data, status_code=status_code, headers=headers)


def safe_next(url: str | None, default: str = "/admin") -> str:
    """Only local paths are allowed as redirect targets after login."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    return url


def actor_of(request: Request) -> Principal:
    """The principal the auth middleware or `requires` attached to this request."""
    principal: Principal = request.state.principal
    return principal


def settings_of(request: Request) -> Settings:
    """The application's settings (set by `create_app`)."""
    settings: Settings = request.app.state.settings
    return settings


def path_id(request: Request, name: str = "id") -> int:
    """An integer path parameter (routes declare it `{name:int}`, so this cannot fail)."""
    return int(request.path_params[name])
