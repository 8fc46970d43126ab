"""The invitee's RSVP pages (public, no login): the personal link of an invitation.

GET /rsvp/{token}: the invitation and its two answers. POST /rsvp/{token} answer=no →
decline recorded; answer=yes → the registration form pre-filled from the directory, one
more click to confirm (POST /rsvp/{token}/register). A bad token is a 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campaigns import rsvp
from campaigns.models import Rsvp
from core.errors import AppError, ValidationFailed
from core.http import client_ip_of, read_form, redirect, settings_of
from core.i18n import _, current_language
from core.templating import render
from registrations.manage_links import manage_token

RSVP_LIMIT = "30/minute"


def _token(request: Request) -> str:
    return str(request.path_params["token"])[:100]


async def _limit(request: Request) -> None:
    await request.app.state.limiter.hit(RSVP_LIMIT, "rsvp", client_ip_of(request))


async def _form(
    request: Request,
    found: rsvp.Invitation,
    *,
    errors: dict[str, str] | None = None,
    message: str = "",
    status_code: int = 200,
    clientele: str | None = None,
) -> Response:
    language = current_language.get()
    offered = await rsvp.form_choices(found, language)
    return render(
        request,
        "campaigns/rsvp_register.html",
        {
            "found": found,
            "token": _token(request),
            "clientele_options": offered,
            "clientele": clientele
            if clientele is not None
            else await rsvp.default_clientele(found, offered),
            "errors": errors or {},
            "message": message,
        },
        status_code=status_code,
    )


async def rsvp_page(request: Request) -> Response:
    found = await rsvp.invitation(settings_of(request), _token(request))
    return render(request, "campaigns/rsvp.html", {"found": found, "token": _token(request)})


async def rsvp_answer(request: Request) -> Response:
    form = await read_form(request)
    await _limit(request)
    value = form.get("answer")
    if value not in ("yes", "no"):
        raise ValidationFailed(fields={"answer": _("Répondez oui ou non.")})
    found = await rsvp.answer(settings_of(request), _token(request), Rsvp(value))
    if value == "no":
        return render(
            request,
            "campaigns/rsvp.html",
            {"found": found, "token": _token(request), "declined": True},
        )
    return await _form(request, found)


async def rsvp_register(request: Request) -> Response:
    form = await read_form(request)
    await _limit(request)
    settings = settings_of(request)
    found = await rsvp.invitation(settings, _token(request))
    clientele = form.get("clientele")
    clientele = clientele if isinstance(clientele, str) else ""
    try:
        result = await rsvp.register(
            settings, _token(request), clientele=clientele, language=current_language.get()
        )
    except ValidationFailed as error:
        return await _form(
            request,
            found,
            errors=error.fields,
            message=error.message,
            status_code=422,
            clientele=clientele,
        )
    except AppError as error:  # closed, full, already registered
        return await _form(
            request,
            found,
            message=error.message,
            status_code=error.status_code,
            clientele=clientele,
        )
    return redirect(f"/manage/{manage_token(settings, result.registration)}")


routes = [
    Route("/rsvp/{token}", rsvp_page, methods=["GET"], name="rsvp"),
    Route("/rsvp/{token}", rsvp_answer, methods=["POST"], name="rsvp_answer"),
    Route("/rsvp/{token}/register", rsvp_register, methods=["POST"], name="rsvp_register"),
]
