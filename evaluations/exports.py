"""The responses of an evaluation form as a spreadsheet: CSV (UTF-8 with a BOM) or XLSX.

One row per response: the activity, for a linked form the clientele and MRC snapshot,
then one column per question (a rating or NPS number, the chosen option's text, the
options joined by « ; », the text as typed). Texts are kept as typed; a cell a
spreadsheet would read as a formula is neutralized (core.spreadsheet). Responses of an
anonymous form are numbered, nothing else.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import NotFound
from core.i18n import _
from core.spreadsheet import keep_as_text, neutralize_formula
from evaluations import forms
from evaluations.models import Answer, QuestionKind, Response
from evaluations.results import VIEW
from events.models import Event
from people.models import Clientele, Territory
from registrations.exports import clean_text


@dataclass
class ResponsesExport:
    headers: list[str]
    rows: list[list[Any]]
    event: Event

    @property
    def filename_stem(self) -> str:
        return f"evaluation-evenement-{self.event.id}"


async def export_responses(actor: Principal, event_id: int) -> ResponsesExport:
    authorize(actor, VIEW)
    event = await forms.get_event(event_id)
    form = await forms.form_for_event(event)
    if form is None:
        raise NotFound(_("Cet événement n'a pas de questionnaire d'évaluation."))
    questions = await forms.questions_of(form)
    responses = Response.filter(form_id=form.id)
    if form.event_id != event.id:
        responses = responses.filter(event_id=event.id)
    rows_by_response = {r.id: r for r in await responses.order_by("id")}
    titles = {
        e.id: e.title
        for e in await Event.filter(id__in={r.event_id for r in rows_by_response.values()})
    }
    clienteles = {c.id: c.code for c in await Clientele.all()}
    territories = {t.id: t.name for t in await Territory.filter(kind="mrc")}
    values: dict[int, dict[int, list[Any]]] = {}
    for answer in await Answer.filter(response_id__in=list(rows_by_response)).order_by("id"):
        values.setdefault(answer.response_id, {}).setdefault(answer.question_id, []).append(
            answer.text if answer.text is not None else answer.number
        )
    headers = [_("Réponse"), _("Activité")]
    if not form.anonymous:
        headers += [_("Clientèle"), _("MRC")]
    headers += [q.code for q in questions]
    rows: list[list[Any]] = []
    for number, (response_id, response) in enumerate(rows_by_response.items(), start=1):
        row: list[Any] = [number, titles.get(response.event_id, "")]
        if not form.anonymous:
            row += [
                clienteles.get(response.clientele_id or 0, ""),
                territories.get(response.territory_id or 0, ""),
            ]
        given = values.get(response_id, {})
        for question in questions:
            items = given.get(question.id, [])
            if question.kind in (QuestionKind.CHOICE, QuestionKind.MULTI):
                options = question.options_fr
                row.append(" ; ".join(options[i] for i in items if 0 <= i < len(options)))
            elif question.kind in (QuestionKind.RATING, QuestionKind.NPS):
                row.append(items[0] if items else "")
            else:
                row.append(clean_text(str(items[0])) if items else "")
        rows.append(row)
    await audit(actor, "evaluation.exported", ("events.Event", event.id), {"count": len(rows)})
    return ResponsesExport([clean_text(h) for h in headers], rows, event)


def to_csv(export: ResponsesExport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralize_formula(h) for h in export.headers])
    for row in export.rows:
        writer.writerow([neutralize_formula(c) if isinstance(c, str) else c for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(export: ResponsesExport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("Réponses")[:31]
    sheet.append(export.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in export.rows:
        sheet.append([None if cell == "" else cell for cell in row])
    for sheet_row in sheet.iter_rows():
        for cell in sheet_row:
            keep_as_text(cell)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
