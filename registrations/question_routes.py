"""Back-office pages of an event's custom questions (list, add, edit, reorder,
deactivate, delete). Thin: the rules live in `registrations.questions`."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.auth import requires
from core.errors import ValidationFailed
from core.http import actor_of, flash, path_id, read_form, redirect
from core.i18n import _
from core.templating import render
from registrations import access, labels, questions
from registrations.models import Question


def _form_data(form: FormData) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    return {
        "kind": text("kind").strip(),
        "label": text("label").strip(),
        "help_text": text("help_text").strip(),
        "required": text("required") in ("1", "on", "true"),
        "choices": [line.strip() for line in text("choices").splitlines() if line.strip()],
    }


def _questions_url(event_id: int) -> str:
    return f"/admin/events/{event_id}/questions"


async def _questions_page(
    request: Request,
    event_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    editing: Question | None = None,
    status_code: int = 200,
) -> Response:
    actor = actor_of(request)
    event = await access.get_event(actor, event_id)
    context = {
        "event": event,
        "questions": await questions.list_questions(actor, event_id),
        "answered": await questions.answer_counts(event_id),
        "values": values or {"kind": "", "label": "", "help_text": "", "choices": []},
        "errors": errors or {},
        "editing": editing,
        "kind_options": labels.kind_choices(),
        "can_manage": actor.can("registrations.manage", event_id=event_id),
        **labels.template_helpers(),
    }
    template = (
        "registrations/admin/question_edit.html"
        if editing
        else "registrations/admin/questions.html"
    )
    return render(request, template, context, status_code=status_code)


@requires("events.view")
async def questions_list(request: Request) -> Response:
    return await _questions_page(request, path_id(request, "event_id"))


@requires("registrations.manage")
async def question_create(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request, "event_id")
    data = _form_data(form)
    try:
        await questions.create_question(actor_of(request), event_id, data)
    except ValidationFailed as error:
        return await _questions_page(
            request, event_id, values=data, errors=error.fields, status_code=422
        )
    flash(request, _("Question ajoutée."))
    return redirect(_questions_url(event_id))


@requires("registrations.manage")
async def question_edit(request: Request) -> Response:
    event_id = path_id(request, "event_id")
    question = await questions.get_question(actor_of(request), event_id, path_id(request, "qid"))
    values = {
        "kind": question.kind.value,
        "label": question.label,
        "help_text": question.help_text,
        "required": question.required,
        "choices": question.choices,
    }
    return await _questions_page(request, event_id, values=values, editing=question)


@requires("registrations.manage")
async def question_update(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request, "event_id")
    question = await questions.get_question(actor_of(request), event_id, path_id(request, "qid"))
    data = _form_data(form)
    try:
        await questions.update_question(actor_of(request), event_id, question.id, data)
    except ValidationFailed as error:
        return await _questions_page(
            request, event_id, values=data, errors=error.fields, editing=question, status_code=422
        )
    flash(request, _("Question modifiée."))
    return redirect(_questions_url(event_id))


@requires("registrations.manage")
async def question_delete(request: Request) -> Response:
    await read_form(request)
    event_id = path_id(request, "event_id")
    outcome = await questions.delete_question(actor_of(request), event_id, path_id(request, "qid"))
    if outcome == "deactivated":
        flash(
            request,
            _(
                "Des personnes ont déjà répondu : la question est désactivée (retirée du "
                "formulaire, ses réponses restent dans les exports)."
            ),
        )
    else:
        flash(request, _("Question supprimée."))
    return redirect(_questions_url(event_id))


@requires("registrations.manage")
async def question_activate(request: Request) -> Response:
    await read_form(request)
    event_id = path_id(request, "event_id")
    await questions.reactivate_question(actor_of(request), event_id, path_id(request, "qid"))
    flash(request, _("Question réactivée."))
    return redirect(_questions_url(event_id))


@requires("registrations.manage")
async def question_move(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request, "event_id")
    await questions.move_question(
        actor_of(request), event_id, path_id(request, "qid"), str(form.get("direction", ""))
    )
    return redirect(_questions_url(event_id))


QUESTIONS = "/admin/events/{event_id:int}/questions"
QUESTION = QUESTIONS + "/{qid:int}"

routes: list[BaseRoute] = [
    Route(QUESTIONS, questions_list, name="admin_questions"),
    Route(QUESTIONS, question_create, methods=["POST"], name="admin_question_create"),
    Route(QUESTION, question_edit, name="admin_question_edit"),
    Route(QUESTION, question_update, methods=["POST"], name="admin_question_update"),
    Route(QUESTION + "/delete", question_delete, methods=["POST"], name="admin_question_delete"),
    Route(
        QUESTION + "/activate", question_activate, methods=["POST"], name="admin_question_activate"
    ),
    Route(QUESTION + "/move", question_move, methods=["POST"], name="admin_question_move"),
]
