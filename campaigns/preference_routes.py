"""Public unsubscribe and preferences pages (CASL, Law 25), and the RFC 8058 one-click POST.

- `GET /unsubscribe/{token}`: a confirmation page with one button (nothing changes on a
  GET: mail scanners and link previewers follow links).
- `POST /unsubscribe/{token}` with the body `List-Unsubscribe=One-Click`: the RFC 8058
  one-click unsubscribe a mail client sends on the person's behalf; unsubscribed at once,
  200 with an empty body, no page.
- `POST /unsubscribe/{token}` from the confirmation page's button (CSRF-checked): the
  same withdrawal, then a page saying it is done, with the link to the preferences.
- `GET/POST /preferences/{token}`: each purpose on or off (CSRF-checked form).

Why the one-click POST has no CSRF check. RFC 8058 has the mail provider send the POST
itself, with no cookie and no page before it, so no session token can exist; the request
is authenticated by the URL's signed token instead (144 bits of HMAC keyed by SECRET_KEY,
bound to one person and one purpose, checked in constant time). CSRF defends requests
that ride on ambient authority (a session cookie); here the whole authority is in the
URL, which a third-party site cannot know unless it already holds the person's own link,
and then it could POST anyway. What a forged request could do is bounded: withdraw the
consent of one purpose for that one person (idempotent, recorded, undone from the
preferences page); nothing is granted, nothing is read. The button of the confirmation
page, which does run with a session, goes through the usual CSRF check.

Every write is rate-limited per client address; a token with any character changed is a
404 before anything is written.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from campaigns import preferences
from core.http import client_ip_of, flash, read_form, settings_of
from core.i18n import _
from core.templating import render

# Per client address. A mail provider posts one-clicks for many people from few
# addresses: its ceiling is higher than the pages'. RATE_LIMIT_ENABLED=false: off.
ONE_CLICK_LIMIT = "120/minute"
PAGE_LIMIT = "20/minute"
ONE_CLICK = "One-Click"


def _token(request: Request) -> str:
    return str(request.path_params["token"])[:100]


async def _hit(request: Request, limit: str, name: str) -> None:
    await request.app.state.limiter.hit(limit, name, client_ip_of(request))


async def unsubscribe_page(request: Request) -> Response:
    person, label = await preferences.person_for_unsubscribe(settings_of(request), _token(request))
    return render(
        request,
        "campaigns/unsubscribe.html",
        {"person": person, "label": label, "token": _token(request), "done": False},
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def unsubscribe_submit(request: Request) -> Response:
    settings = settings_of(request)
    token = _token(request)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form(max_files=0, max_fields=5)
        if form.get("List-Unsubscribe") == ONE_CLICK:
            await _hit(request, ONE_CLICK_LIMIT, "unsubscribe-one-click")
            await preferences.withdraw(settings, token, ip=client_ip_of(request))
            return Response(status_code=200, headers={"Cache-Control": "no-store"})
    await read_form(request)  # the confirmation page's button (any other body: 4xx)
    await _hit(request, PAGE_LIMIT, "unsubscribe-page")
    await preferences.withdraw(settings, token, ip=client_ip_of(request))
    person, label = await preferences.person_for_unsubscribe(settings, token)
    return render(
        request,
        "campaigns/unsubscribe.html",
        {
            "person": person,
            "label": label,
            "token": token,
            "done": True,
            "preferences_url": preferences.preferences_url(settings, person.id),
        },
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def preferences_page(request: Request) -> Response:
    person = await preferences.person_for_preferences(settings_of(request), _token(request))
    return render(
        request,
        "campaigns/preferences.html",
        {
            "person": person,
            "choices": await preferences.preferences_of(person.id),
            "token": _token(request),
        },
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def preferences_submit(request: Request) -> Response:
    form = await read_form(request)
    await _hit(request, PAGE_LIMIT, "preferences")
    settings = settings_of(request)
    wanted = {str(v) for v in form.getlist("purpose")}
    choices = await preferences.set_preferences(
        settings, _token(request), wanted, ip=client_ip_of(request)
    )
    person = await preferences.person_for_preferences(settings, _token(request))
    flash(request, _("Vos préférences sont enregistrées. Elles s'appliquent dès maintenant."))
    return render(
        request,
        "campaigns/preferences.html",
        {"person": person, "choices": choices, "token": _token(request)},
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


routes: list[BaseRoute] = [
    Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"], name="unsubscribe"),
    Route("/unsubscribe/{token}", unsubscribe_submit, methods=["POST"], name="unsubscribe_submit"),
    Route("/preferences/{token}", preferences_page, methods=["GET"], name="preferences"),
    Route("/preferences/{token}", preferences_submit, methods=["POST"], name="preferences_submit"),
]
