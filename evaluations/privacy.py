"""What the evaluations hold on a person (Law 25): export and erasure.

Only linked (nominative) forms hold anything: their responses point at the registration.
An anonymous form's responses point at nobody, so they are neither exported nor erased
for one person (nothing could find them).

- Export: each linked response of the person, with its answers (question code, value).
- Erasure: the link is cut (`registration_id` NULL) and the written answers (texts,
  which may name the person) are deleted; the numbers and the clientele/MRC snapshot
  stay, so results and their breakdowns keep their counts.
"""

from __future__ import annotations

from typing import Any

from core.i18n import iso_or_none
from evaluations.models import Answer, Question, Response
from people.signals import PersonErasing, PersonExporting
from registrations.models import Registration


async def _responses_of(person_id: int) -> list[Response]:
    registration_ids = list(
        await Registration.filter(person_id=person_id).values_list("id", flat=True)
    )
    if not registration_ids:
        return []
    return list(
        await Response.filter(registration_id__in=registration_ids)
        .select_related("event")
        .order_by("id")
    )


async def export_responses(signal: PersonExporting) -> dict[str, Any]:
    responses = await _responses_of(signal.person.id)
    answers = await Answer.filter(response_id__in=[r.id for r in responses]).order_by("id")
    codes = {q.id: q.code for q in await Question.filter(id__in={a.question_id for a in answers})}
    given: dict[int, list[dict[str, Any]]] = {}
    for answer in answers:
        given.setdefault(answer.response_id, []).append(
            {
                "question": codes.get(answer.question_id, ""),
                "value": answer.text if answer.text is not None else answer.number,
            }
        )
    return {
        "evaluation_responses": [
            {
                "event": {"id": r.event.id, "title": r.event.title},
                "submitted_at": iso_or_none(r.submitted_at),
                "answers": given.get(r.id, []),
            }
            for r in responses
        ]
    }


async def erase_responses(signal: PersonErasing) -> dict[str, int]:
    ids = [r.id for r in await _responses_of(signal.person.id)]
    if not ids:
        return {"evaluation_responses_detached": 0}
    await Answer.filter(response_id__in=ids, text__not_isnull=True).delete()
    detached = await Response.filter(id__in=ids).update(registration_id=None)
    return {"evaluation_responses_detached": detached}
