"""JPS activity submissions over HTTP: the public form, the submitter's edit link and the
organizers' moderation queue (thin; the rules live in `events.submissions`)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.auth import requires
from core.errors import Conflict, ValidationFailed
from core.http import actor_of, client_ip_of, flash, path_id, read_form, redirect, settings_of
from core.i18n import N_, _, current_language
from core.settings import local_tz
from core.templating import render
from events import editions, submissions
from events import service as events_service
from events.models import ActivitySubmission, Event, SubmissionStatus

SUBMIT_LIMIT = "10/hour"
TEXT_FIELDS = (
    "title",
    "description",
    "starts_at",
    "ends_at",
    "venue_name",
    "address",
    "territory",
    "organization_name",
    "contact_name",
    "contact_email",
    "contact_phone",
    "expected_participants",
)
NO_STORE = {"Cache-Control": "no-store"}


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = form.get(name, "")
        values[name] = value if isinstance(value, str) else ""
    values["clienteles"] = [v for v in form.getlist("clienteles") if isinstance(v, str)]
    values["wants_registration"] = form.get("wants_registration") == "1"
    return values


def _submission_values(submission: ActivitySubmission) -> dict[str, Any]:
    """A stored submission as form values (local datetimes for datetime-local inputs)."""
    local = local_tz()
    return {
        "title": submission.title,
        "description": submission.description,
        "starts_at": submission.starts_at.astimezone(local).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": submission.ends_at.astimezone(local).strftime("%Y-%m-%dT%H:%M"),
        "venue_name": submission.venue_name,
        "address": submission.address,
        "territory": submission.territory.code,
        "clienteles": list(submission.clientele_codes or []),
        "organization_name": submission.organization_name,
        "contact_name": submission.contact_name,
        "contact_email": submission.contact_email,
        "contact_phone": submission.contact_phone,
        "expected_participants": ""
        if submission.expected_participants is None
        else str(submission.expected_participants),
        "wants_registration": submission.wants_registration,
    }


async def _form_context(edition: Event) -> dict[str, Any]:
    first_day, last_day = editions.edition_days(edition)
    language = current_language.get()
    return {
        "edition": edition,
        "first_day": first_day,
        "last_day": last_day,
        "mrc_groups": await submissions.mrc_choices(edition),
        "clientele_options": [
            (c.code, c.name(language)) for c in await submissions.clientele_choices()
        ],
    }


async def _clientele_names() -> dict[str, str]:
    return await submissions.clientele_names(current_language.get())


# --------------------------------------------------------------------------- public form


async def _current_open_edition() -> Event | None:
    edition = await editions.current_jps_edition()
    return edition if edition is not None and submissions.is_open(edition) else None


def _closed(request: Request, edition: Event | None = None, status_code: int = 200) -> Response:
    return render(
        request,
        "events/submissions/closed.html",
        {"edition": edition},
        status_code=status_code,
    )


async def _public_form(
    request: Request,
    edition: Event,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    context = await _form_context(edition)
    context.update(values=values, errors=errors)
    return render(request, "events/submissions/form.html", context, status_code=status_code)


async def submission_form(request: Request) -> Response:
    edition = await _current_open_edition()
    if edition is None:
        return _closed(request)
    return await _public_form(request, edition, {"clienteles": []}, {})


async def submission_create(request: Request) -> Response:
    form = await read_form(request)
    await request.app.state.limiter.hit(SUBMIT_LIMIT, "jps-submit", client_ip_of(request))
    edition = await _current_open_edition()
    if edition is None:
        return _closed(request, status_code=409)
    values = _form_values(form)
    try:
        submission = await submissions.submit_activity(
            edition.id,
            values,
            language=current_language.get(),
            ip=client_ip_of(request),
            settings=settings_of(request),
        )
    except ValidationFailed as error:
        return await _public_form(
            request, edition, values, error.fields, status_code=error.status_code
        )
    except Conflict:
        return _closed(request, edition, status_code=409)
    request.session["jps_submission"] = submission.id
    return redirect("/jps/proposer/merci")


async def submission_thanks(request: Request) -> Response:
    submission = await submissions.just_submitted(request.session.get("jps_submission"))
    if submission is None:
        return redirect("/jps/proposer")
    return render(
        request,
        "events/submissions/thanks.html",
        {
            "submission": submission,
            "clientele_names": await _clientele_names(),
            "edit_url": submissions.edit_url("", submission.token),
        },
        headers=NO_STORE,
    )


# --------------------------------------------------------------------------- edit link


async def _token_page(
    request: Request,
    submission: ActivitySubmission,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "submission": submission,
        "status_label": submissions.status_label(submission.status),
        "clientele_names": await _clientele_names(),
        "values": values if values is not None else _submission_values(submission),
        "errors": errors or {},
        "notice": notice,
        "event_url": submissions.event_url("", submission.event_id) if submission.event_id else "",
        "editable": submission.status == SubmissionStatus.CHANGES_REQUESTED,
    }
    context.update(await _form_context(submission.edition))
    return render(
        request,
        "events/submissions/status.html",
        context,
        status_code=status_code,
        headers=NO_STORE,
    )


async def submission_status(request: Request) -> Response:
    submission = await submissions.get_by_token(request.path_params["token"])
    return await _token_page(request, submission)


async def submission_update(request: Request) -> Response:
    form = await read_form(request)
    await request.app.state.limiter.hit(SUBMIT_LIMIT, "jps-resubmit", client_ip_of(request))
    token = request.path_params["token"]
    submission = await submissions.get_by_token(token)
    values = _form_values(form)
    try:
        await submissions.resubmit(
            token, values, ip=client_ip_of(request), settings=settings_of(request)
        )
    except ValidationFailed as error:
        return await _token_page(
            request, submission, values=values, errors=error.fields, status_code=422
        )
    except Conflict as error:
        return await _token_page(request, submission, notice=error.message, status_code=409)
    flash(
        request,
        _(
            "Merci! Votre proposition modifiée a été transmise à l'équipe "
            "pour une nouvelle lecture."
        ),
    )
    return redirect(f"/jps/proposer/{token}")


# --------------------------------------------------------------------------- back office


async def _queue_page(
    request: Request,
    edition_id: int,
    *,
    decision_errors: dict[int, dict[str, str]] | None = None,
    decision_values: dict[int, str] | None = None,
    status_code: int = 200,
) -> Response:
    actor = actor_of(request)
    edition = await events_service.get_event(actor, edition_id)
    items = await submissions.list_submissions(actor, edition.id)
    groups = [
        (status, submissions.status_label(status), [s for s in items if s.status == status])
        for status in submissions.STATUS_ORDER
    ]
    return render(
        request,
        "events/submissions/queue.html",
        {
            "edition": edition,
            "groups": groups,
            "total": len(items),
            "clientele_names": await _clientele_names(),
            "can_decide": actor.can("events.edit"),
            "decision_errors": decision_errors or {},
            "decision_values": decision_values or {},
            "open": submissions.is_open(edition),
        },
        status_code=status_code,
    )


@requires("events.view")
async def submission_queue(request: Request) -> Response:
    return await _queue_page(request, path_id(request))


DECISIONS: dict[str, tuple[Any, str]] = {
    "approve": (submissions.approve, N_("L'activité a été acceptée et publiée au calendrier.")),
    "changes": (
        submissions.request_changes,
        N_("La demande de modifications a été envoyée au partenaire."),
    ),
    "refuse": (
        submissions.refuse,
        N_("La proposition a été refusée; le partenaire en est avisé."),
    ),
}


def _decision_endpoint(decision: str) -> Any:
    function, done = DECISIONS[decision]

    @requires("events.edit")
    async def endpoint(request: Request) -> Response:
        form = await read_form(request)
        submission_id = path_id(request)
        actor = actor_of(request)
        submission = await submissions.get_submission(actor, submission_id)
        edition_id: int = submission.edition_id
        raw = form.get("message", "")
        message = raw if isinstance(raw, str) else ""
        try:
            await function(actor, submission_id, message, settings=settings_of(request))
        except ValidationFailed as error:
            if "message" in error.fields:
                return await _queue_page(
                    request,
                    edition_id,
                    decision_errors={submission_id: error.fields},
                    decision_values={submission_id: message},
                    status_code=error.status_code,
                )
            flash(request, error.message, "error")
        except Conflict as error:
            flash(request, error.message, "error")
        else:
            flash(request, _(done))
        return redirect(f"/admin/events/{edition_id}/submissions#s-{submission_id}")

    endpoint.__name__ = f"submission_{decision}"
    return endpoint


routes: list[BaseRoute] = [
    Route("/jps/proposer", submission_form, methods=["GET"]),
    Route("/jps/proposer", submission_create, methods=["POST"]),
    Route("/jps/proposer/merci", submission_thanks, methods=["GET"]),
    Route("/jps/proposer/{token}", submission_status, methods=["GET"]),
    Route("/jps/proposer/{token}", submission_update, methods=["POST"]),
    Route("/admin/events/{id:int}/submissions", submission_queue, methods=["GET"]),
    *(
        Route(
            f"/admin/events/submissions/{{id:int}}/{decision}",
            _decision_endpoint(decision),
            methods=["POST"],
        )
        for decision in DECISIONS
    ),
]
