"""The answering page of a personal evaluation link: `GET/POST /evaluation/{token}`.

Phone first, no login. The page works without JavaScript (the submit button posts the
whole form, CSRF-checked); with it, `static/evaluations/answer.js` saves each answer as
it is given through the JSON endpoint (`evaluations.api_routes.answer`, authenticated by
the link). A link with any character changed is a 404; after closing, a French message
and nothing saved.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.errors import ValidationFailed
from core.http import client_ip_of, read_form, settings_of
from core.i18n import current_language
from core.templating import render
from evaluations import answering
from evaluations.links import TOKEN_MAX
from evaluations.models import QuestionKind

PAGE_LIMIT = "20/minute"
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _token(request: Request) -> str:
    return str(request.path_params["token"])[:TOKEN_MAX]


def _page(
    request: Request,
    found: answering.Answering,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    language = current_language.get()
    return render(
        request,
        "evaluations/answer.html",
        {
            "found": found,
            "token": _token(request),
            "values": found.values if values is None else values,
            "errors": errors or {},
            "message": message,
            "saved": saved,
            "language": language,
            "intro": (found.form.intro_en if language == "en" else "") or found.form.intro_fr,
        },
        status_code=status_code,
        headers=HEADERS,
    )


async def answer_page(request: Request) -> Response:
    found = await answering.load(settings_of(request), _token(request))
    return _page(request, found)


def _typed(found: answering.Answering, form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for question in found.questions:
        name = f"q_{question.code}"
        if question.kind == QuestionKind.MULTI:
            values[question.code] = [str(v) for v in form.getlist(name)]
        else:
            raw = form.get(name)
            values[question.code] = raw if isinstance(raw, str) else None
    return values


def _shown(found: answering.Answering, typed: dict[str, Any]) -> dict[str, Any]:
    """What the participant typed, in the page's shapes (numbers for options)."""
    shown: dict[str, Any] = {}
    for question in found.questions:
        value = typed.get(question.code)
        if question.kind == QuestionKind.MULTI:
            shown[question.code] = [int(v) for v in value or [] if v.isdigit()]
        elif question.kind in (QuestionKind.TEXT, QuestionKind.LONG_TEXT):
            shown[question.code] = value or ""
        else:
            shown[question.code] = int(value) if value and value.isdigit() else None
    return shown


async def answer_submit(request: Request) -> Response:
    settings = settings_of(request)
    token = _token(request)
    form = await read_form(request)  # CSRF first: a forged post learns nothing
    found = await answering.load(settings, token)
    await request.app.state.limiter.hit(PAGE_LIMIT, "evaluation-page", client_ip_of(request))
    typed = _typed(found, form)
    if not found.is_open:
        message = answering.closed_message(found, datetime.now(UTC))
        return _page(request, found, values=_shown(found, typed), message=message, status_code=409)
    try:
        found = await answering.save_answers(settings, token, typed, complete=True)
    except ValidationFailed as exc:
        return _page(
            request, found, values=_shown(found, typed), errors=exc.fields, status_code=422
        )
    return _page(request, found, saved=True)


routes: list[BaseRoute] = [
    Route("/evaluation/{token}", answer_page, methods=["GET"], name="evaluation_page"),
    Route("/evaluation/{token}", answer_submit, methods=["POST"], name="evaluation_submit"),
]
