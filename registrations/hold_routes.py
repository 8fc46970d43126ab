"""The "confirmer par courriel" link (`registrations.holds`): the page it opens and the
button that confirms. The page does not confirm by itself, so a mail scanner that
fetches every link of a message confirms nothing; only the person's click does. A wrong
link is a 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.errors import Conflict
from core.http import flash, read_form, redirect, settings_of
from core.i18n import _
from core.templating import render
from registrations import holds
from registrations.manage_links import by_confirm_token, manage_token
from registrations.models import RegistrationStatus
from registrations.public_routes import MANAGE_LIMIT, hit_limit, token_of

NO_STORE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


async def confirm_page(request: Request) -> Response:
    settings = settings_of(request)
    registration = await by_confirm_token(settings, token_of(request))
    if registration.status == RegistrationStatus.CONFIRMED:
        return redirect(f"/manage/{manage_token(settings, registration)}")
    context = {
        "registration": registration,
        "event": registration.event,
        "token": token_of(request),
    }
    if registration.status != RegistrationStatus.PENDING_EMAIL:
        context["problem"] = holds.HoldGone().message
    elif holds.is_expired(registration):  # released at the click or by the upkeep
        context["problem"] = holds.HoldExpired().message
    if "problem" in context:
        return render(
            request, "registrations/confirm.html", context, status_code=409, headers=NO_STORE
        )
    return render(request, "registrations/confirm.html", context, headers=NO_STORE)


async def confirm_submit(request: Request) -> Response:
    await read_form(request)
    await hit_limit(request, MANAGE_LIMIT, "manage-write")
    settings = settings_of(request)
    registration = await by_confirm_token(settings, token_of(request))
    try:
        await holds.confirm(settings, registration.id)
    except Conflict as exc:  # expired (places released) or no longer held
        context = {
            "registration": registration,
            "event": registration.event,
            "problem": exc.message,
        }
        return render(
            request, "registrations/confirm.html", context, status_code=409, headers=NO_STORE
        )
    flash(request, _("Votre inscription est confirmée. Voici votre billet."))
    return redirect(f"/manage/{manage_token(settings, registration)}")


routes: list[BaseRoute] = [
    Route("/confirm/{token}", confirm_page, methods=["GET"], name="hold_confirm"),
    Route("/confirm/{token}", confirm_submit, methods=["POST"], name="hold_confirm_submit"),
]
