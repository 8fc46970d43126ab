"""Evaluations back office (HTML): the form editor, sending, the results and exports.

Thin: each handler reads the form, calls one domain operation and renders or redirects.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campaigns.editor import local_datetime
from core.auth import requires
from core.charts import Bar, bar_chart
from core.errors import AppError, ValidationFailed
from core.http import actor_of, flash, path_id, read_form, redirect, settings_of, validate
from core.i18n import N_, _, current_language, format_number, to_local
from core.templating import render
from evaluations import exports, forms, results, sending
from evaluations.models import CHOICE_KINDS, QuestionKind
from evaluations.schemas import FormSettingsIn, QuestionIn

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = [
    ("rating", N_("Appréciation de 1 à 5")),
    ("choice", N_("Choix unique")),
    ("multi", N_("Choix multiples")),
    ("text", N_("Texte court")),
    ("long_text", N_("Texte long")),
    ("nps", N_("Recommandation de 0 à 10")),
]


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _lines(form: FormData, name: str) -> list[str]:
    return [line.strip() for line in _text(form, name).splitlines() if line.strip()]


def _local_input(value: Any) -> str:
    return to_local(value).strftime("%Y-%m-%dT%H:%M") if value else ""


def _url(event_id: int, tail: str = "") -> str:
    return f"/admin/events/{event_id}/evaluation{tail}"


async def _editor(
    request: Request,
    event_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    question_errors: dict[str, dict[str, str]] | None = None,
    question_values: dict[str, dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    actor = actor_of(request)
    event = await forms.get_event(event_id)
    form = await forms.own_form(actor, event_id)
    questions = await forms.questions_of(form) if form else []
    inherited = None if form else await forms.form_for_event(event)
    settings_values = values or (
        {
            "anonymous": form.anonymous,
            "shared_with_children": form.shared_with_children,
            "intro_fr": form.intro_fr,
            "intro_en": form.intro_en,
            "opens_at": _local_input(form.opens_at),
            "closes_at": _local_input(form.closes_at),
            "reminder_days": form.reminder_days,
        }
        if form
        else {"anonymous": True, "reminder_days": 7}
    )
    opening = forms.opening(form, event) if form else None
    return render(
        request,
        "evaluations/admin/editor.html",
        {
            "event": event,
            "form": form,
            "inherited": inherited,
            "questions": questions,
            "values": settings_values,
            "errors": errors or {},
            "question_errors": question_errors or {},
            "question_values": question_values or {},
            "kinds": [(k, _(label)) for k, label in KINDS],
            "choice_kinds": [k.value for k in CHOICE_KINDS],
            "opening": opening,
            "had_checkin": await sending.had_checkin(event.id),
        },
        status_code=status_code,
    )


@requires("events.edit")
async def editor_page(request: Request) -> Response:
    return await _editor(request, path_id(request))


@requires("events.edit")
async def settings_submit(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request)
    time_zone = settings_of(request).time_zone
    values: dict[str, Any] = {
        "anonymous": form.get("anonymous") == "1",
        "shared_with_children": form.get("shared_with_children") == "1",
        "intro_fr": _text(form, "intro_fr"),
        "intro_en": _text(form, "intro_en"),
        "opens_at": _text(form, "opens_at"),
        "closes_at": _text(form, "closes_at"),
        "reminder_days": _text(form, "reminder_days") or "0",
    }
    data = dict(values)
    data["opens_at"] = local_datetime(_text(form, "opens_at"), time_zone)
    data["closes_at"] = local_datetime(_text(form, "closes_at"), time_zone)
    try:
        await forms.save_settings(actor_of(request), event_id, validate(FormSettingsIn, data))
    except ValidationFailed as exc:
        return await _editor(
            request,
            event_id,
            errors=exc.fields or {"__root__": exc.message},
            values=values,
            status_code=422,
        )
    except AppError as exc:
        if exc.status_code != 409:
            raise
        return await _editor(
            request, event_id, errors={"__root__": exc.message}, values=values, status_code=409
        )
    flash(request, _("Les réglages du questionnaire sont enregistrés."))
    return redirect(_url(event_id))


def _question_input(form: FormData, code: str | None = None) -> dict[str, Any]:
    return {
        "code": code if code is not None else _text(form, "code"),
        "kind": _text(form, "kind"),
        "label_fr": _text(form, "label_fr"),
        "label_en": _text(form, "label_en"),
        "options": _lines(form, "options"),
        "options_en": _lines(form, "options_en"),
        "required": form.get("required") == "1",
    }


@requires("events.edit")
async def question_add(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request)
    values = _question_input(form)
    try:
        await forms.add_question(actor_of(request), event_id, validate(QuestionIn, values))
    except ValidationFailed as exc:
        fields = exc.fields or {"__root__": exc.message}
        return await _editor(
            request,
            event_id,
            question_errors={"__new__": fields},
            question_values={"__new__": values},
            status_code=422,
        )
    flash(request, _("Question ajoutée."))
    return redirect(_url(event_id) + "#questions")


@requires("events.edit")
async def question_change(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request)
    code = str(request.path_params["code"])[:40]
    actor = actor_of(request)
    action = _text(form, "action")
    if action in ("up", "down"):
        await forms.move_question(actor, event_id, code, -1 if action == "up" else 1)
        return redirect(_url(event_id) + f"#question-{code}")
    if action == "delete":
        await forms.delete_question(actor, event_id, code)
        flash(request, _("Question retirée."))
        return redirect(_url(event_id) + "#questions")
    values = _question_input(form, code)
    try:
        await forms.update_question(actor, event_id, code, validate(QuestionIn, values))
    except (ValidationFailed, AppError) as exc:
        if exc.status_code not in (409, 422):
            raise
        fields = exc.fields or {"__root__": exc.message}
        return await _editor(
            request,
            event_id,
            question_errors={code: fields},
            question_values={code: values},
            status_code=exc.status_code,
        )
    flash(request, _("Question enregistrée."))
    return redirect(_url(event_id) + f"#question-{code}")


@requires("events.edit")
async def send_submit(request: Request) -> Response:
    await read_form(request)
    event_id = path_id(request)
    try:
        queued = await sending.send_now(actor_of(request), settings_of(request), event_id)
    except AppError as exc:
        if exc.status_code != 409:
            raise
        flash(request, exc.message, "error")
        return redirect(_url(event_id))
    flash(request, _("%(n)s invitation(s) mise(s) en file d'envoi.", n=queued))
    return redirect(_url(event_id))


# --------------------------------------------------------------------------- results


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{format_number(round(rate * 100, 1))} %"


def _question_chart(stats: results.QuestionStats, language: str) -> Any:
    if not stats.distribution:
        return None
    total = sum(n for _v, _label, n in stats.distribution)
    if stats.mean is None:
        description = _("%(count)s réponse(s)", count=total)
    else:
        description = _(
            "%(count)s réponse(s) · moyenne %(mean)s", count=total, mean=format_number(stats.mean)
        )
    return bar_chart(
        [
            Bar(
                label=label,
                value=n,
                display=f"{format_number(n)} ({_percent(n / total if total else None)})",
            )
            for _v, label, n in stats.distribution
        ],
        title=stats.question.label(language),
        description=description,
    )


@requires(results.VIEW)
async def results_page(request: Request) -> Response:
    language = current_language.get()
    event, found = await results.results_for_event(actor_of(request), path_id(request), language)
    comparison = await results.edition_comparison(event)
    return render(
        request,
        "evaluations/admin/results.html",
        {
            "event": event,
            "results": found,
            "summary": found.summary,
            "charts": {s.question.id: _question_chart(s, language) for s in found.questions},
            "comparison": [row for row in comparison if row.summary is not None],
            "percent": _percent,
            "language": language,
            "number_kinds": [QuestionKind.RATING, QuestionKind.NPS],
        },
    )


async def _download(request: Request, fmt: str) -> Response:
    export = await exports.export_responses(actor_of(request), path_id(request))
    if fmt == "xlsx":
        body, media_type = exports.to_xlsx(export), XLSX_TYPE
    else:
        body, media_type = exports.to_csv(export), "text/csv; charset=utf-8"
    filename = f"{export.filename_stem}.{fmt}"
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"; '
            f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


@requires(results.VIEW)
async def export_csv(request: Request) -> Response:
    return await _download(request, "csv")


@requires(results.VIEW)
async def export_xlsx(request: Request) -> Response:
    return await _download(request, "xlsx")


routes = [
    Route(
        "/admin/events/{id:int}/evaluation", editor_page, methods=["GET"], name="evaluation_editor"
    ),
    Route(
        "/admin/events/{id:int}/evaluation",
        settings_submit,
        methods=["POST"],
        name="evaluation_settings",
    ),
    Route(
        "/admin/events/{id:int}/evaluation/questions",
        question_add,
        methods=["POST"],
        name="evaluation_question_add",
    ),
    Route(
        "/admin/events/{id:int}/evaluation/questions/{code}",
        question_change,
        methods=["POST"],
        name="evaluation_question_change",
    ),
    Route(
        "/admin/events/{id:int}/evaluation/send",
        send_submit,
        methods=["POST"],
        name="evaluation_send",
    ),
    Route(
        "/admin/events/{id:int}/evaluation/results",
        results_page,
        methods=["GET"],
        name="evaluation_results",
    ),
    Route(
        "/admin/events/{id:int}/evaluation/results.csv",
        export_csv,
        methods=["GET"],
        name="evaluation_export_csv",
    ),
    Route(
        "/admin/events/{id:int}/evaluation/results.xlsx",
        export_xlsx,
        methods=["GET"],
        name="evaluation_export_xlsx",
    ),
]
