"""Participant-facing registration pages: the public form, the manage pages (ticket, QR,
ICS, edit, cancel) and the manage-link resend form (the registrant's JSON API is
`registrations.api_routes`).

Thin: the capacity, waitlist and approval rules live in `registrations.service` and
`registrations.capacity`, which both the HTML pages and the JSON API call. A manage
token only ever opens its own registration; a wrong token is a 404.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core import i18n
from core.auth import current_principal
from core.errors import Conflict, NotFound, RateLimited, ValidationFailed
from core.http import (
    client_ip_of,
    field_errors,
    flash,
    path_id,
    read_form,
    redirect,
    settings_of,
)
from core.i18n import _
from core.templating import render
from events import labels as event_labels
from events import service as events_service
from events.ics import event_ics
from events.models import AttendanceMode, Event, PhoneField
from people import reference as people_reference
from people.models import ConsentPurpose
from people.phones import format_phone
from registrations import attestations, limits, opening, service, tickets
from registrations.answers import clean_answers, event_questions
from registrations.capacity import EventFull, waitlist_position
from registrations.error_summary import error_summary
from registrations.manage_links import by_manage_token, manage_token
from registrations.models import (
    Question,
    QuestionKind,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)
from registrations.opening import RegistrationClosed
from registrations.schemas import (
    MAX_PARTY_SIZE,
    ManagePatch,
    RegistrationIn,
    ResendIn,
)
from registrations.service import AlreadyRegistered

# Per client address. Constants (not settings); RATE_LIMIT_ENABLED=false turns them off.
FORM_LIMIT = "20/minute"
RESEND_LIMIT = "10/minute"
MANAGE_LIMIT = "30/minute"
QR_CACHE = "private, max-age=300"
YOUTH = "youth"
FORM_CONSENTS = (
    ConsentPurpose.EVENT_COMMUNICATIONS,
    ConsentPurpose.NEWSLETTER,
    ConsentPurpose.PHOTOS,
)
YES = "oui"
NO = "non"


# --------------------------------------------------------------------------- helpers


def token_of(request: Request) -> str:
    """The manage token of the path (bounded: it is only ever compared)."""
    return str(request.path_params["token"])[:100]


async def hit_limit(request: Request, limit: str, name: str) -> None:
    await request.app.state.limiter.hit(limit, name, client_ip_of(request))


def seat_limit_of(request: Request) -> limits.SeatLimit:
    """Where a public registration comes from, to count its seats (registrations.limits)."""
    per_hour = settings_of(request).public_seats_per_address_hour
    return limits.SeatLimit(request.app.state.limiter, client_ip_of(request), per_hour)


def status_label(status: str) -> str:
    return {
        RegistrationStatus.CONFIRMED: _("Inscription confirmée"),
        RegistrationStatus.WAITLISTED: _("Sur la liste d'attente"),
        RegistrationStatus.PENDING_APPROVAL: _("En attente d'approbation"),
        RegistrationStatus.DECLINED: _("Inscription refusée"),
        RegistrationStatus.CANCELLED: _("Inscription annulée"),
        RegistrationStatus.PENDING_EMAIL: _("En attente de confirmation par courriel"),
    }.get(RegistrationStatus(status), status)


def question_kind_hint(kind: str) -> str:
    return {
        QuestionKind.MULTIPLE_CHOICE: _("Cochez toutes les réponses qui s'appliquent."),
    }.get(QuestionKind(kind), "")


def _read_answers(form: FormData, questions: list[Question]) -> dict[str, Any]:
    """The questions' raw values from a submitted form (lists for multiple choice)."""
    answers: dict[str, Any] = {}
    for question in questions:
        name = f"q-{question.id}"
        if question.kind == QuestionKind.MULTIPLE_CHOICE:
            values = [str(v) for v in form.getlist(name) if isinstance(v, str) and v]
            if values:
                answers[str(question.id)] = values
        else:
            raw = form.get(name)
            if isinstance(raw, str) and raw.strip():
                answers[str(question.id)] = raw
    return answers


def _display_answers(questions: list[Question], answers: dict[str, Any]) -> dict[str, Any]:
    """Stored answers as form values (yes/no as "oui"/"non", numbers as text)."""
    shown: dict[str, Any] = {}
    for question in questions:
        key = str(question.id)
        if key not in answers:
            continue
        value = answers[key]
        if isinstance(value, bool):
            shown[key] = YES if value else NO
        elif isinstance(value, list):
            shown[key] = [str(v) for v in value]
        else:
            shown[key] = str(value)
    return shown


def _answer_text(question: Question, value: Any) -> str:
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _text(form: FormData, name: str, limit: int = 300) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _checked(form: FormData, name: str) -> bool:
    return isinstance(form.get(name), str) and form.get(name) not in ("", "0", "off")


async def _form_context(
    request: Request, event: Event, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    clienteles = await people_reference.offered_clienteles(event.clienteles)
    questions = await event_questions(event.id)
    codes = [c.code for c in clienteles]
    language = i18n.current_language.get()
    return {
        "event": event,
        "values": values,
        "errors": errors,
        "summary": error_summary(errors, questions, codes, FORM_CONSENTS[0]),
        "clienteles": [(c.code, c.name(language)) for c in clienteles],
        "has_youth": YOUTH in codes,
        "mrc_groups": await people_reference.territories_by_region(),
        "questions": questions,
        "consents": [(p.value, service.CONSENT_WORDING[p]) for p in FORM_CONSENTS],
        "parental_wording": service.CONSENT_WORDING[ConsentPurpose.PARENTAL],
        "full": event.is_full,
        "max_party": MAX_PARTY_SIZE,
        "kind_hint": question_kind_hint,
        "yes": YES,
        "no": NO,
        "offer_group": bool(values.get("group_request")),
        "hold_minutes": settings_of(request).email_hold_minutes,
    }


def _blank_values() -> dict[str, Any]:
    return {
        "language": i18n.current_language.get(),
        "party_size": "1",
        "consents": [],
        "answers": {},
    }


def _values_from(form: FormData, questions: list[Question]) -> dict[str, Any]:
    return {
        "first_name": _text(form, "first_name", 100),
        "last_name": _text(form, "last_name", 100),
        "email": _text(form, "email", 254),
        "phone": _text(form, "phone", 40),
        "clientele": _text(form, "clientele", 32),
        "organization": _text(form, "organization", 200),
        "territory": _text(form, "territory", 10),
        "language": _text(form, "language", 5) or "fr",
        "party_size": _text(form, "party_size", 12) or "1",
        "consents": [str(v) for v in form.getlist("consents") if isinstance(v, str)][:10],
        "answers": _read_answers(form, questions),
        "under_14": _checked(form, "under_14"),
        "guardian_consent": _checked(form, "guardian_consent"),
        "group_request": _checked(form, "group_request"),
    }


def _registration_in(
    values: dict[str, Any], questions: list[Question], event: Event
) -> RegistrationIn:
    """The form values as the service's input; ValidationFailed with every field error."""
    data = {
        "first_name": values["first_name"],
        "last_name": values["last_name"],
        "email": values["email"],
        # A hidden phone field is not shown: whatever is posted is ignored.
        "phone": "" if event.phone_field == PhoneField.HIDDEN else values["phone"],
        "clientele": values["clientele"],
        "organization": values["organization"],
        "territory": values["territory"] or None,
        "language": values["language"],
        "party_size": values["party_size"],
        "answers": values["answers"],
        "consents": values["consents"],
        "under_14": values["under_14"],
        "guardian_consent": values["guardian_consent"],
        "group_request": values["group_request"],
    }
    try:
        return RegistrationIn.model_validate(data)
    except ValidationError as exc:
        fields = field_errors(exc)
        # Report the questions' problems at once too, not only after a second submit.
        _cleaned, answer_errors = clean_answers(questions, values["answers"])
        for key, message in answer_errors.items():
            fields.setdefault(key, message)
        try:
            service.registration_phone(event, data["phone"], RegistrationSource.FORM)
        except ValueError as problem:
            fields.setdefault("phone", str(problem))
        raise ValidationFailed(fields=fields) from None


# --------------------------------------------------------------------------- public form


async def _open_event(request: Request) -> tuple[Event, str | None]:
    """The event and, when registering is not possible now, the French reason."""
    return await opening.form_event(path_id(request), await current_principal(request))


async def register_form(request: Request) -> Response:
    event, closed = await _open_event(request)
    context = await _form_context(request, event, _blank_values(), {})
    if closed:
        context["blocked"] = {"code": "registration_closed", "message": closed}
    elif context["full"] and not event.waitlist and not event.requires_approval:
        context["blocked"] = {"code": "event_full", "message": EventFull().message}
    return render(request, "registrations/form.html", context)


async def register_submit(request: Request) -> Response:
    form = await read_form(request)
    await hit_limit(request, FORM_LIMIT, "register-form")
    event, closed = await _open_event(request)
    questions = await event_questions(event.id)
    values = _values_from(form, questions)
    if closed:
        context = await _form_context(request, event, values, {})
        context["blocked"] = {"code": "registration_closed", "message": closed}
        return render(request, "registrations/form.html", context, status_code=409)
    settings = settings_of(request)
    actor = await current_principal(request)
    try:
        data = _registration_in(values, questions, event)
        result = await service.register(
            event.id,
            data,
            settings=settings,
            source=RegistrationSource.FORM,
            actor=actor,
            seat_limit=seat_limit_of(request),
        )
    except ValidationFailed as exc:
        context = await _form_context(request, event, values, exc.fields or {})
        if not exc.fields:
            context["form_error"] = exc.message
        # Over the public maximum: offer to send it as a group request (to approve).
        context["offer_group"] |= isinstance(exc, limits.GroupRequestRequired)
        return render(request, "registrations/form.html", context, status_code=422)
    except RateLimited as exc:  # too many seats from this address for this event
        context = await _form_context(request, event, values, {})
        context["blocked"] = {"code": exc.code, "message": exc.message}
        headers = {"Retry-After": str(exc.retry_after)}
        return render(request, "registrations/form.html", context, status_code=429, headers=headers)
    except AlreadyRegistered as exc:
        if actor is None:
            # Anonymous: no "already registered" (it would tell anyone who attends what).
            # The registrant is mailed their manage link; the page says only that.
            await service.resend_manage_link(settings, event.id, data.email)
            return render(
                request,
                "registrations/check_email.html",
                {"event": event, "message": service.check_email_message()},
            )
        context = await _form_context(request, event, values, {})
        context["blocked"] = {"code": exc.code, "message": exc.message}
        return render(request, "registrations/form.html", context, status_code=409)
    except (EventFull, RegistrationClosed) as exc:
        context = await _form_context(request, event, values, {})
        context["blocked"] = {"code": exc.code, "message": exc.message}
        return render(request, "registrations/form.html", context, status_code=409)
    registration = result.registration
    flash(
        request,
        {
            RegistrationStatus.CONFIRMED: _("Votre inscription est confirmée. Voici votre billet."),
            RegistrationStatus.WAITLISTED: _("Vous êtes sur la liste d'attente."),
            RegistrationStatus.PENDING_APPROVAL: _(
                "Votre demande d'inscription est reçue; l'équipe vous répondra par courriel."
            ),
            RegistrationStatus.PENDING_EMAIL: _(
                "Vos places sont retenues : confirmez votre inscription avec le lien envoyé "
                "par courriel."
            ),
        }.get(RegistrationStatus(registration.status), _("Votre inscription est enregistrée.")),
    )
    return redirect(f"/manage/{manage_token(settings, registration)}")


# --------------------------------------------------------------------------- resend


async def resend_form(request: Request) -> Response:
    event = await events_service.get_event(await current_principal(request), path_id(request))
    return render(
        request,
        "registrations/resend.html",
        {"event": event, "values": {}, "errors": {}},
    )


async def resend_submit(request: Request) -> Response:
    form = await read_form(request)
    await hit_limit(request, RESEND_LIMIT, "register-resend")
    event = await events_service.get_event(await current_principal(request), path_id(request))
    email = _text(form, "email", 254)
    try:
        data = ResendIn.model_validate({"email": email})
    except ValidationError:
        errors = {"email": _("Indiquez l'adresse courriel utilisée pour l'inscription.")}
        return render(
            request,
            "registrations/resend.html",
            {"event": event, "values": {"email": email}, "errors": errors},
            status_code=422,
        )
    await service.resend_manage_link(settings_of(request), event.id, data.email)
    flash(request, _("Si une inscription existe pour cette adresse, le lien vient d'être envoyé."))
    return redirect(f"/events/{event.id}/resend")


# --------------------------------------------------------------------------- manage pages


async def _manage_context(request: Request, registration: Registration) -> dict[str, Any]:
    settings = settings_of(request)
    event = await service.event_of(registration)
    token = manage_token(settings, registration)
    questions = await event_questions(event.id)
    answers = registration.answers or {}
    return {
        "registration": registration,
        "person": registration.person,
        "event": event,
        "token": token,
        "base": f"/manage/{token}",
        "status": registration.status.value
        if isinstance(registration.status, RegistrationStatus)
        else str(registration.status),
        "status_label": status_label(registration.status),
        "position": await waitlist_position(registration),
        "active": registration.is_active,
        "phone": format_phone(registration.person.phone)
        if event.phone_field != PhoneField.HIDDEN
        else "",
        "clientele_name": registration.clientele.name(i18n.current_language.get()),
        "answered": [
            (q.label, _answer_text(q, answers[str(q.id)]))
            for q in questions
            if str(q.id) in answers
        ],
        "online": event.mode != AttendanceMode.IN_PERSON and bool(event.online_url),
        "mode_label": event_labels.mode_label,
        "attestation_offer": await attestations.offer(registration, event),
    }


async def manage_page(request: Request) -> Response:
    registration = await by_manage_token(settings_of(request), token_of(request))
    context = await _manage_context(request, registration)
    return render(
        request,
        "registrations/manage.html",
        context,
        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
    )


async def manage_qr_png(request: Request) -> Response:
    settings = settings_of(request)
    registration = await by_manage_token(settings, token_of(request))
    payload = await service.ticket(settings, registration)
    return Response(
        tickets.qr_png(payload),
        media_type="image/png",
        headers={"Cache-Control": QR_CACHE},
    )


async def manage_qr_svg(request: Request) -> Response:
    settings = settings_of(request)
    registration = await by_manage_token(settings, token_of(request))
    payload = await service.ticket(settings, registration)
    return Response(
        tickets.qr_svg(payload),
        media_type="image/svg+xml",
        headers={"Cache-Control": QR_CACHE},
    )


async def manage_ics(request: Request) -> Response:
    settings = settings_of(request)
    registration = await by_manage_token(settings, token_of(request))
    if not registration.is_active:
        raise NotFound(_("Cette inscription est annulée."))
    event = await service.event_of(registration)
    body = event_ics(
        event,
        settings.base_url,
        include_online_url=registration.status == RegistrationStatus.CONFIRMED,
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="evenement-{event.id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


async def cancel_page(request: Request) -> Response:
    registration = await by_manage_token(settings_of(request), token_of(request))
    context = await _manage_context(request, registration)
    if not context["active"]:
        flash(request, _("Cette inscription est déjà annulée."), "warning")
        return redirect(context["base"])
    return render(request, "registrations/cancel.html", context)


async def cancel_submit(request: Request) -> Response:
    await read_form(request)
    await hit_limit(request, MANAGE_LIMIT, "manage-write")
    settings = settings_of(request)
    registration = await by_manage_token(settings, token_of(request))
    target = f"/manage/{manage_token(settings, registration)}"
    try:
        await service.cancel(settings, registration.id)
    except Conflict as exc:
        flash(request, exc.message, "warning")
        return redirect(target)
    flash(request, _("Votre inscription est annulée. Un courriel de confirmation vous est envoyé."))
    return redirect(target)


async def _edit_context(
    request: Request, registration: Registration, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    context = await _manage_context(request, registration)
    questions = await event_questions(registration.event_id)
    context.update(
        {
            "questions": questions,
            "values": values,
            "errors": errors,
            "summary": error_summary(errors, questions, [], FORM_CONSENTS[0]),
            "max_party": MAX_PARTY_SIZE,
            "kind_hint": question_kind_hint,
            "yes": YES,
            "no": NO,
        }
    )
    return context


async def edit_page(request: Request) -> Response:
    registration = await by_manage_token(settings_of(request), token_of(request))
    if not registration.is_active:
        flash(request, _("Une inscription annulée ne peut pas être modifiée."), "warning")
        return redirect(f"/manage/{token_of(request)}")
    questions = await event_questions(registration.event_id)
    values = {
        "party_size": str(registration.party_size),
        "answers": _display_answers(questions, registration.answers or {}),
    }
    context = await _edit_context(request, registration, values, {})
    return render(request, "registrations/edit.html", context)


async def edit_submit(request: Request) -> Response:
    form = await read_form(request)
    await hit_limit(request, MANAGE_LIMIT, "manage-write")
    settings = settings_of(request)
    registration = await by_manage_token(settings, token_of(request))
    base = f"/manage/{manage_token(settings, registration)}"
    if not registration.is_active:
        flash(request, _("Une inscription annulée ne peut pas être modifiée."), "warning")
        return redirect(base)
    questions = await event_questions(registration.event_id)
    values: dict[str, Any] = {
        "party_size": _text(form, "party_size", 12) or "1",
        "answers": _read_answers(form, questions),
    }
    errors: dict[str, str] = {}
    party_size = registration.party_size
    try:
        patch = ManagePatch.model_validate({"party_size": values["party_size"]})
        party_size = patch.party_size or registration.party_size
    except ValidationError as exc:
        errors.update(field_errors(exc))
    _cleaned, answer_errors = clean_answers(questions, values["answers"])
    errors.update(answer_errors)
    if errors:
        context = await _edit_context(request, registration, values, errors)
        return render(request, "registrations/edit.html", context, status_code=422)
    try:
        await service.modify_registration(
            settings,
            registration.id,
            party_size=party_size,
            answers=values["answers"],
            seat_limit=seat_limit_of(request),
        )
    except ValidationFailed as exc:  # a party larger than the whole capacity
        context = await _edit_context(request, registration, values, exc.fields)
        return render(request, "registrations/edit.html", context, status_code=422)
    except EventFull as exc:
        message = exc.message
        left = exc.extra.get("places_left")  # read by the service inside its transaction
        if left is not None and registration.status == RegistrationStatus.CONFIRMED:
            message += " " + i18n.ngettext(
                "Il reste %(num)s place : votre groupe peut compter au plus %(most)s personnes.",
                "Il reste %(num)s places : votre groupe peut compter au plus %(most)s personnes.",
                left,
                most=registration.party_size + left,
            )
        errors = {"party_size": message}
        context = await _edit_context(request, registration, values, errors)
        return render(request, "registrations/edit.html", context, status_code=409)
    except Conflict as exc:
        flash(request, exc.message, "warning")
        return redirect(base)
    flash(request, _("Vos modifications sont enregistrées."))
    return redirect(base)


routes: list[BaseRoute] = [
    Route("/events/{id:int}/register", register_form, methods=["GET"], name="register_form"),
    Route("/events/{id:int}/register", register_submit, methods=["POST"], name="register_submit"),
    Route("/events/{id:int}/resend", resend_form, methods=["GET"], name="register_resend"),
    Route(
        "/events/{id:int}/resend", resend_submit, methods=["POST"], name="register_resend_submit"
    ),
    Route("/manage/{token}", manage_page, methods=["GET"], name="manage"),
    Route("/manage/{token}/qr.png", manage_qr_png, methods=["GET"], name="manage_qr_png"),
    Route("/manage/{token}/qr.svg", manage_qr_svg, methods=["GET"], name="manage_qr_svg"),
    Route("/manage/{token}/event.ics", manage_ics, methods=["GET"], name="manage_ics"),
    Route("/manage/{token}/cancel", cancel_page, methods=["GET"], name="manage_cancel"),
    Route("/manage/{token}/cancel", cancel_submit, methods=["POST"], name="manage_cancel_submit"),
    Route("/manage/{token}/edit", edit_page, methods=["GET"], name="manage_edit"),
    Route("/manage/{token}/edit", edit_submit, methods=["POST"], name="manage_edit_submit"),
]
