"""Results of an evaluation form: response rate, distributions, averages, breakdowns.

Everything is counted by the database (GROUP BY on `evaluations_answer`, one row per
chosen value), so a form with thousands of responses costs a handful of queries:

- the response rate: responses / invitations (the personal links sent);
- per question: the count of respondents, the distribution (ratings, NPS, options), the
  mean (ratings 1–5 and NPS 0–10) with the count behind it, the NPS score
  (% of 9–10 minus % of 0–6), and the texts (staff only; the page lists the latest);
- the mean satisfaction: the mean of every rating (1–5) answer of the form, with its
  count; and the NPS over every recommendation answer;
- for a linked form, the same satisfaction by clientele and by MRC (the snapshot taken
  when the person answered; an anonymous form keeps none).

`evaluation_summary(event_id)` is what other packages read (the event's report, the
accountability table): for an activity answering its edition's shared form, only the
activity's own invitations and responses count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.auth import Principal, authorize
from core.db import fetch_values
from core.errors import NotFound
from core.i18n import _
from evaluations import forms
from evaluations.models import (
    TEXT_KINDS,
    Answer,
    EvaluationForm,
    Invitation,
    Question,
    QuestionKind,
    Response,
)
from events.models import Event
from people.models import Clientele, Territory

VIEW = "reports.view"
TEXTS_SHOWN = 100

A = Answer._meta.db_table
R = Response._meta.db_table
INV = Invitation._meta.db_table


@dataclass(frozen=True)
class EvaluationSummary:
    form_id: int
    anonymous: bool
    invited: int
    responses: int
    response_rate: float | None  # 0–1
    mean_satisfaction: float | None  # 1–5
    satisfaction_count: int
    nps: int | None  # -100–100


@dataclass
class QuestionStats:
    question: Question
    count: int = 0
    mean: float | None = None
    nps: int | None = None
    distribution: list[tuple[int, str, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


@dataclass
class GroupStats:
    code: str
    name: str
    responses: int
    mean_satisfaction: float | None
    satisfaction_count: int


@dataclass
class Results:
    form: EvaluationForm
    event_id: int | None  # the activity counted; None: every activity of the form
    summary: EvaluationSummary
    questions: list[QuestionStats]
    by_clientele: list[GroupStats] | None = None
    by_territory: list[GroupStats] | None = None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: float, count: int) -> float | None:
    return round(total / count, 2) if count else None


def nps_of(values: dict[int, int]) -> int | None:
    count = sum(values.values())
    if not count:
        return None
    promoters = sum(n for v, n in values.items() if v >= 9)
    detractors = sum(n for v, n in values.items() if v <= 6)
    return round(100 * (promoters - detractors) / count)


def _where(
    form: EvaluationForm, event_id: int | None, question_ids: list[int]
) -> tuple[str, list[Any]]:
    """The answers counted: every answer of the form's questions (no join needed: the
    index on (question_id, number) serves), or one activity's (joined to the response)."""
    if event_id is None:
        marks = ", ".join("?" for _ in question_ids) or "NULL"
        return f"{A} a WHERE a.question_id IN ({marks})", list(question_ids)
    return (
        f"{A} a JOIN {R} r ON r.id = a.response_id WHERE r.form_id = ? AND r.event_id = ?",
        [form.id, event_id],
    )


async def _counts(form: EvaluationForm, event_id: int | None) -> tuple[int, int]:
    invitations = Invitation.filter(form_id=form.id)
    responses = Response.filter(form_id=form.id)
    if event_id is not None:
        invitations = invitations.filter(event_id=event_id)
        responses = responses.filter(event_id=event_id)
    return await invitations.count(), await responses.count()


async def _numbers(
    form: EvaluationForm, event_id: int | None, question_ids: list[int]
) -> list[dict[str, Any]]:
    source, values = _where(form, event_id, question_ids)
    sql = (
        f"SELECT a.question_id AS q, a.number AS v, COUNT(*) AS n FROM {source} "  # noqa: S608
        "AND a.number IS NOT NULL GROUP BY a.question_id, a.number"
    )
    return await fetch_values(Answer, sql, values)


async def _respondents(
    form: EvaluationForm, event_id: int | None, question_ids: list[int], distinct: bool
) -> dict[int, int]:
    """Respondents per question: rows (a text), or distinct responses (a multiple choice
    has one row per option chosen). Single-value questions count their distribution."""
    if not question_ids:
        return {}
    source, values = _where(form, event_id, question_ids)
    if event_id is not None:
        marks = ", ".join("?" for _ in question_ids)
        source += f" AND a.question_id IN ({marks})"
        values += question_ids
    counted = "COUNT(DISTINCT a.response_id)" if distinct else "COUNT(*)"
    sql = (
        f"SELECT a.question_id AS q, {counted} AS n "  # noqa: S608
        f"FROM {source} GROUP BY a.question_id"
    )
    return {int(row["q"]): int(row["n"]) for row in await fetch_values(Answer, sql, values)}


async def _texts(question: Question, event_id: int | None, limit: int | None) -> list[str]:
    rows = Answer.filter(question_id=question.id, text__not_isnull=True)
    if event_id is not None:
        rows = rows.filter(response__event_id=event_id)
    rows = rows.order_by("-response_id", "-id")
    if limit is not None:
        rows = rows.limit(limit)
    return [str(t) for t in await rows.values_list("text", flat=True)]


async def _satisfaction_groups(
    form: EvaluationForm, event_id: int | None, rating_ids: list[int]
) -> dict[tuple[int | None, int | None], tuple[int, float, int]]:
    """{(clientele id, MRC id): (responses, sum of ratings, count of ratings)}: one pass
    over the responses and one over the ratings, for both breakdowns at once (`event_id`:
    one activity of a shared form)."""
    scope, scoped = ("", []) if event_id is None else (" AND r.event_id = ?", [event_id])
    sql = (
        f"SELECT r.clientele_id AS c, r.territory_id AS t, COUNT(*) AS n "  # noqa: S608
        f"FROM {R} r WHERE r.form_id = ?{scope} GROUP BY r.clientele_id, r.territory_id"
    )
    groups: dict[tuple[int | None, int | None], tuple[int, float, int]] = {
        (row["c"], row["t"]): (int(row["n"]), 0.0, 0)
        for row in await fetch_values(Response, sql, [form.id, *scoped])
    }
    if rating_ids:
        marks = ", ".join("?" for _ in rating_ids)
        sql = (
            f"SELECT r.clientele_id AS c, r.territory_id AS t, SUM(a.number) AS s, "  # noqa: S608
            f"COUNT(*) AS n FROM {A} a JOIN {R} r ON r.id = a.response_id "
            f"WHERE a.question_id IN ({marks}) AND a.number IS NOT NULL{scope} "
            "GROUP BY r.clientele_id, r.territory_id"
        )
        for row in await fetch_values(Answer, sql, [*rating_ids, *scoped]):
            key = (row["c"], row["t"])
            responses, _s, _n = groups.get(key, (0, 0.0, 0))
            groups[key] = (responses, float(row["s"] or 0), int(row["n"]))
    return groups


def _fold(
    groups: dict[tuple[int | None, int | None], tuple[int, float, int]], side: int
) -> dict[int | None, tuple[int, float, int]]:
    folded: dict[int | None, tuple[int, float, int]] = {}
    for key, (responses, total, count) in groups.items():
        r0, t0, c0 = folded.get(key[side], (0, 0.0, 0))
        folded[key[side]] = (r0 + responses, t0 + total, c0 + count)
    return folded


async def _groups(
    groups: dict[int | None, tuple[int, float, int]], clienteles: bool, language: str
) -> list[GroupStats]:
    ids = [g for g in groups if g is not None]
    names: dict[int, tuple[str, str]] = {}
    if clienteles:
        for c in await Clientele.filter(id__in=ids):
            names[c.id] = (c.code, c.name(language))
    else:
        for t in await Territory.filter(id__in=ids):
            names[t.id] = (t.code, t.name)
    rows = [
        GroupStats(
            code=names.get(g, ("", ""))[0] if g is not None else "",
            name=names.get(g, ("", ""))[1] if g is not None else _("Non précisé"),
            responses=responses,
            mean_satisfaction=_mean(total, count),
            satisfaction_count=count,
        )
        for g, (responses, total, count) in groups.items()
    ]
    return sorted(rows, key=lambda r: (r.code == "", r.name.casefold()))


async def compute(
    form: EvaluationForm,
    event_id: int | None,
    language: str = "fr",
    *,
    texts: int | None = TEXTS_SHOWN,
    breakdowns: bool = True,
) -> Results:
    questions = await forms.questions_of(form)
    invited, responses = await _counts(form, event_id)
    numbers: dict[int, dict[int, int]] = {}
    question_ids = [q.id for q in questions]
    for row in await _numbers(form, event_id, question_ids):
        numbers.setdefault(int(row["q"]), {})[int(row["v"])] = int(row["n"])
    respondents = await _respondents(
        form, event_id, [q.id for q in questions if q.kind == QuestionKind.MULTI], True
    )
    respondents.update(
        await _respondents(form, event_id, [q.id for q in questions if q.kind in TEXT_KINDS], False)
    )
    stats: list[QuestionStats] = []
    rating_total, rating_count, nps_values = 0.0, 0, dict[int, int]()
    for question in questions:
        values = numbers.get(question.id, {})
        item = QuestionStats(
            question=question,
            count=respondents.get(question.id, sum(values.values())),
        )
        if question.kind in (QuestionKind.RATING, QuestionKind.NPS):
            total = sum(v * n for v, n in values.items())
            count = sum(values.values())
            item.mean = _mean(total, count)
            item.distribution = [(v, str(v), values.get(v, 0)) for v in question.scale]
            if question.kind == QuestionKind.RATING:
                rating_total += total
                rating_count += count
            else:
                item.nps = nps_of(values)
                for v, n in values.items():
                    nps_values[v] = nps_values.get(v, 0) + n
        elif question.kind in (QuestionKind.CHOICE, QuestionKind.MULTI):
            options = question.options(language)
            item.distribution = [(i, label, values.get(i, 0)) for i, label in enumerate(options)]
        elif texts is None or texts > 0:
            item.texts = await _texts(question, event_id, texts)
        stats.append(item)
    summary = EvaluationSummary(
        form_id=form.id,
        anonymous=form.anonymous,
        invited=invited,
        responses=responses,
        response_rate=_rate(responses, invited),
        mean_satisfaction=_mean(rating_total, rating_count),
        satisfaction_count=rating_count,
        nps=nps_of(nps_values),
    )
    results = Results(form=form, event_id=event_id, summary=summary, questions=stats)
    if breakdowns and not form.anonymous:
        rating_ids = [q.id for q in questions if q.kind == QuestionKind.RATING]
        groups = await _satisfaction_groups(form, event_id, rating_ids)
        results.by_clientele = await _groups(_fold(groups, 0), True, language)
        results.by_territory = await _groups(_fold(groups, 1), False, language)
    return results


def _scope(form: EvaluationForm, event: Event) -> int | None:
    """Count every activity for the form's own event; only this one for a borrower."""
    return None if form.event_id == event.id else event.id


async def evaluation_summary(event_id: int) -> EvaluationSummary | None:
    """The event's evaluation in figures (None: the event has no form)."""
    event = await Event.get_or_none(id=event_id)
    if event is None:
        return None
    form = await forms.form_for_event(event)
    if form is None:
        return None
    found = await compute(form, _scope(form, event), texts=0, breakdowns=False)
    return found.summary


async def results_for_event(
    actor: Principal, event_id: int, language: str = "fr", *, texts: int | None = TEXTS_SHOWN
) -> tuple[Event, Results]:
    authorize(actor, VIEW)
    event = await forms.get_event(event_id)
    form = await forms.form_for_event(event)
    if form is None:
        raise NotFound(_("Cet événement n'a pas de questionnaire d'évaluation."))
    return event, await compute(form, _scope(form, event), language, texts=texts)


@dataclass
class ActivityRow:
    event: Event
    summary: EvaluationSummary | None


async def edition_comparison(event: Event) -> list[ActivityRow]:
    """One row per activity of an edition (its children): responses, rate, satisfaction."""
    children = await Event.filter(parent_id=event.id).order_by("starts_at", "id")
    return [
        ActivityRow(event=child, summary=await evaluation_summary(child.id)) for child in children
    ]


def results_out(results: Results) -> dict[str, Any]:
    """The JSON API's answer (evaluations.schemas.ResultsOut)."""
    summary = results.summary

    def groups(rows: list[GroupStats] | None) -> list[dict[str, Any]] | None:
        if rows is None:
            return None
        return [
            {
                "code": g.code,
                "name": g.name,
                "responses": g.responses,
                "mean_satisfaction": g.mean_satisfaction,
                "satisfaction_count": g.satisfaction_count,
            }
            for g in rows
        ]

    return {
        "form_id": results.form.id,
        "event_id": results.event_id or results.form.event_id,
        "anonymous": results.form.anonymous,
        "invited": summary.invited,
        "responses": summary.responses,
        "response_rate": summary.response_rate,
        "mean_satisfaction": summary.mean_satisfaction,
        "satisfaction_count": summary.satisfaction_count,
        "nps": summary.nps,
        "questions": [
            {
                "code": s.question.code,
                "kind": s.question.kind.value,
                "label": s.question.label_fr,
                "count": s.count,
                "mean": s.mean,
                "nps": s.nps,
                "distribution": [
                    {"value": v, "label": label, "count": n} for v, label, n in s.distribution
                ]
                if s.distribution
                else None,
            }
            for s in results.questions
        ],
        "by_clientele": groups(results.by_clientele),
        "by_territory": groups(results.by_territory),
    }
