"""Jinja2 environment (autoescape on) with the catalog's gettext and fr_CA date helpers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from core import charts, i18n
from core.http import pop_flashes
from core.security import new_csrf_token
from core.settings import PROJECT_ROOT

TEMPLATE_DIR = PROJECT_ROOT / "templates"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return str(token)


def csrf_input(request: Request) -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="%s">') % escape(
        csrf_token(request)
    )


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html", "xml", "j2"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates are compiled once per process (a deploy restarts the processes):
        # no file-system check at every render (it showed in the registration profile).
        auto_reload=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message, **kw: i18n.gettext(message, **kw),
        lambda singular, plural, n, **kw: i18n.ngettext(singular, plural, n, **kw),
        newstyle=True,
    )
    env.filters["day"] = i18n.format_day
    env.filters["clock"] = i18n.format_clock
    env.filters["when"] = i18n.format_when
    env.filters["short"] = i18n.format_short
    env.filters["dates"] = i18n.format_event_dates
    env.filters["number"] = i18n.format_number
    env.globals["iso"] = i18n.iso_utc
    env.globals["Bar"] = charts.Bar
    env.globals["bar_chart"] = charts.bar_chart
    env.globals["column_chart"] = charts.column_chart
    env.globals["csrf_input"] = csrf_input
    env.globals["csrf_token"] = csrf_token
    env.globals["current_language"] = i18n.current_language.get
    env.globals["language_link"] = language_link
    return env


def language_link(request: Request, language: str) -> str:
    """The current page in `language`: its query string with `lang` set, so switching
    language keeps the page's filters (a dashboard's period, a list's search)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return "?" + urlencode([*query, ("lang", language)])


templates = Jinja2Templates(env=make_environment())


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    ctx = dict(context or {})
    ctx.setdefault("principal", getattr(request.state, "principal", None))
    ctx.setdefault("lang", i18n.current_language.get())
    ctx.setdefault("settings", request.app.state.settings)
    ctx.setdefault("flashes", pop_flashes(request))
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)


def render_string(name: str, context: dict[str, Any]) -> str:
    """Render a template outside a request (e-mails)."""
    return templates.env.get_template(name).render(**context)
