"""Back-office services for registrations: listing with filters, counts, exports, the
attendance sheet and the custom-questions editor.

Every function takes the actor first and checks its right itself
(`registrations.manage` to act or export, `events.view` to read). The rules about
places, the waitlist and approval stay in `registrations.service`; the actions here only
check the right, the event scope and the input, then call it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import N_, _, current_timezone
from core.models import AuditEntry
from core.paging import page_number
from core.settings import Settings
from core.spreadsheet import neutralize_formula
from events.models import Event, EventStatus
from people.models import Clientele, Consent
from people.service import Page
from registrations import service
from registrations.models import (
    ACTIVE_STATUSES,
    Question,
    QuestionKind,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)
from registrations.schemas import MAX_PARTY_SIZE, QuestionIn, RegistrationIn

MANAGE = "registrations.manage"
VIEW = "events.view"

STATUS_LABELS = {
    RegistrationStatus.CONFIRMED: N_("Confirmée"),
    RegistrationStatus.WAITLISTED: N_("Liste d'attente"),
    RegistrationStatus.PENDING_APPROVAL: N_("À approuver"),
    RegistrationStatus.DECLINED: N_("Refusée"),
    RegistrationStatus.CANCELLED: N_("Annulée"),
}
SOURCE_LABELS = {
    RegistrationSource.FORM: N_("Formulaire public"),
    RegistrationSource.API: N_("API"),
    RegistrationSource.INVITATION: N_("Invitation"),
    RegistrationSource.WALKIN: N_("Sur place"),
    RegistrationSource.IMPORT: N_("Importation"),
    RegistrationSource.BACKOFFICE: N_("Ajout manuel"),
}
KIND_LABELS = {
    QuestionKind.SHORT_TEXT: N_("Texte court"),
    QuestionKind.LONG_TEXT: N_("Texte long"),
    QuestionKind.SINGLE_CHOICE: N_("Choix unique"),
    QuestionKind.MULTIPLE_CHOICE: N_("Choix multiples"),
    QuestionKind.YES_NO: N_("Oui ou non"),
    QuestionKind.NUMBER: N_("Nombre"),
}
ACTION_LABELS = {
    "registration.created": N_("Inscription créée"),
    "registration.approved": N_("Approuvée"),
    "registration.declined": N_("Refusée"),
    "registration.cancelled": N_("Annulée"),
    "registration.promoted": N_("Sortie de la liste d'attente"),
    "registration.moved": N_("Déplacée depuis un autre événement"),
    "registration.party_size_changed": N_("Taille du groupe modifiée"),
    "registration.answers_changed": N_("Réponses modifiées"),
}
CHOICE_KINDS = {QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE}


def status_label(status: str) -> str:
    try:
        return _(STATUS_LABELS[RegistrationStatus(status)])
    except ValueError:
        return status


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return _(label) if label else action


def status_choices() -> list[tuple[str, str]]:
    return [(s.value, _(label)) for s, label in STATUS_LABELS.items()]


def source_label(source: str) -> str:
    try:
        return _(SOURCE_LABELS[RegistrationSource(source)])
    except ValueError:
        return source


def kind_label(kind: str) -> str:
    try:
        return _(KIND_LABELS[QuestionKind(kind)])
    except ValueError:
        return kind


def kind_choices() -> list[tuple[str, str]]:
    return [(k.value, _(label)) for k, label in KIND_LABELS.items()]


# --------------------------------------------------------------------------- access


async def _event(actor: Principal, permission: str, event_id: int) -> Event:
    authorize(actor, permission, event_id=event_id)
    event = await Event.get_or_none(id=event_id).select_related("territory", "parent")
    if event is None:
        raise NotFound()
    return event


async def get_event(actor: Principal, event_id: int, *, manage: bool = False) -> Event:
    """The event whose registrations the actor reads (or manages, with `manage`)."""
    return await _event(actor, MANAGE if manage else VIEW, event_id)


async def _registration(actor: Principal, permission: str, registration_id: int) -> Registration:
    registration = await Registration.get_or_none(id=registration_id)
    if registration is None:
        authorize(actor, permission)
        raise NotFound()
    authorize(actor, permission, event_id=registration.event_id)  # type: ignore[attr-defined]
    return registration


# --------------------------------------------------------------------------- listing


@dataclass
class RegistrationFilters:
    status: str | None = None
    clientele: str | None = None
    territory: str | None = None
    q: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> RegistrationFilters:
        """From query parameters; unknown values are reported in `errors` and ignored."""
        filters = cls()
        status = (params.get("status") or "").strip()
        if status:
            if status in {s.value for s in RegistrationStatus}:
                filters.status = status
            else:
                filters.errors["status"] = _("Statut inconnu.")
        filters.clientele = (params.get("clientele") or "").strip()[:32] or None
        filters.territory = (params.get("territory") or "").strip()[:10] or None
        filters.q = (params.get("q") or "").strip()[:200]
        return filters

    def as_dict(self) -> dict[str, str]:
        return {
            "status": self.status or "",
            "clientele": self.clientele or "",
            "territory": self.territory or "",
            "q": self.q,
        }

    def query_string(self) -> str:
        return urlencode({k: v for k, v in self.as_dict().items() if v})


def _filtered(event_id: int, filters: RegistrationFilters) -> QuerySet[Registration]:
    query = Registration.filter(event_id=event_id)
    if filters.status:
        query = query.filter(status=filters.status)
    if filters.clientele:
        query = query.filter(clientele__code=filters.clientele)
    if filters.territory:
        # A region code also finds the registrations of its MRCs.
        query = query.filter(
            Q(territory__code=filters.territory) | Q(territory__parent__code=filters.territory)
        )
    for word in filters.q.split()[:8]:
        query = query.filter(
            Q(person__first_name__icontains=word)
            | Q(person__last_name__icontains=word)
            | Q(person__email_key__icontains=word.lower())
            | Q(organization__name__icontains=word)
            | Q(ticket_code__icontains=word.upper())
        )
    return query


async def waitlist_positions(event_id: int) -> dict[int, int]:
    """Registration id -> waitlist position (same order as service.waitlist_position)."""
    ids = (
        await Registration.filter(event_id=event_id, status=RegistrationStatus.WAITLISTED)
        .order_by("waitlist_rank", "id")
        .values_list("id", flat=True)
    )
    return {int(rid): n for n, rid in enumerate(ids, start=1)}  # type: ignore[call-overload]


async def list_registrations(
    actor: Principal,
    event_id: int,
    filters: RegistrationFilters,
    *,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """One page of the event's registrations matching `filters`, by last name."""
    await _event(actor, VIEW, event_id)
    per_page = max(1, min(int(per_page), 500))
    page = page_number(page)
    query = _filtered(event_id, filters)
    total = await query.count()
    items = (
        await query.select_related("person", "clientele", "territory", "organization")
        .order_by("person__last_name", "person__first_name", "id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(items), total, page, per_page)


@dataclass
class Tally:
    registrations: int = 0
    heads: int = 0


@dataclass
class ClienteleTally:
    code: str
    name: str
    registrations: int = 0
    heads: int = 0
    confirmed_heads: int = 0


@dataclass
class Counts:
    by_status: dict[str, Tally]
    by_clientele: list[ClienteleTally]
    active: Tally
    capacity: int | None
    seats_taken: int

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.seats_taken)


async def counts(actor: Principal, event_id: int, *, language: str = "fr") -> Counts:
    """Registrations and heads by status, and by clientele (active registrations)."""
    event = await _event(actor, VIEW, event_id)
    rows = await Registration.filter(event_id=event_id).values_list(
        "status", "party_size", "clientele_id"
    )
    by_status = {s.value: Tally() for s in RegistrationStatus}
    clienteles = {c.id: c for c in await Clientele.all()}
    by_clientele: dict[int, ClienteleTally] = {}
    active = Tally()
    active_values = {s.value for s in ACTIVE_STATUSES}
    for status, party_size, clientele_id in rows:
        tally = by_status.setdefault(str(status), Tally())
        tally.registrations += 1
        tally.heads += int(party_size)
        if str(status) not in active_values:
            continue
        active.registrations += 1
        active.heads += int(party_size)
        clientele = clienteles.get(int(clientele_id))
        line = by_clientele.get(int(clientele_id))
        if line is None:
            line = ClienteleTally(
                code=clientele.code if clientele else "",
                name=clientele.name(language) if clientele else "—",
            )
            by_clientele[int(clientele_id)] = line
        line.registrations += 1
        line.heads += int(party_size)
        if str(status) == RegistrationStatus.CONFIRMED.value:
            line.confirmed_heads += int(party_size)
    ordered = sorted(
        by_clientele.items(),
        key=lambda item: (clienteles[item[0]].position if item[0] in clienteles else 0, item[0]),
    )
    return Counts(
        by_status=by_status,
        by_clientele=[line for _id, line in ordered],
        active=active,
        capacity=event.capacity,
        seats_taken=event.seats_taken,
    )


# --------------------------------------------------------------------------- detail


@dataclass
class AnswerLine:
    label: str
    value: str
    active: bool = True


def format_answer(question: Question | None, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


async def get_registration(actor: Principal, registration_id: int) -> Registration:
    registration = await _registration(actor, VIEW, registration_id)
    await registration.fetch_related("event", "person", "clientele", "territory", "organization")
    return registration


async def answer_lines(registration: Registration) -> list[AnswerLine]:
    """Every question of the event (deactivated ones too, when answered) with the answer."""
    questions = await Question.filter(
        event_id=registration.event_id  # type: ignore[attr-defined]
    ).order_by("position", "id")
    answers = registration.answers or {}
    lines = []
    for question in questions:
        value = answers.get(str(question.id))
        if not question.active and value in (None, "", []):
            continue
        lines.append(AnswerLine(question.label, format_answer(question, value), question.active))
    return lines


async def history(registration: Registration) -> list[AuditEntry]:
    return list(
        await AuditEntry.filter(
            target_type="registrations.Registration", target_id=str(registration.id)
        ).order_by("at", "id")
    )


async def consents(registration: Registration) -> list[Consent]:
    """The person's consent ledger (newest first)."""
    return list(
        await Consent.filter(person_id=registration.person_id).order_by(  # type: ignore[attr-defined]
            "-at", "-id"
        )
    )


async def move_targets(actor: Principal, registration: Registration) -> list[Event]:
    """Other published events a registration may move to: same edition, or upcoming."""
    authorize(actor, VIEW)
    event = await Event.get(id=registration.event_id)  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    condition = Q(starts_at__gte=now)
    if event.parent_id is not None:  # type: ignore[attr-defined]
        condition |= Q(parent_id=event.parent_id)  # type: ignore[attr-defined]
    return list(
        await Event.filter(status=EventStatus.PUBLISHED)
        .filter(condition)
        .exclude(id=event.id)
        .select_related("territory")
        .order_by("starts_at", "id")
        .limit(300)
    )


# --------------------------------------------------------------------------- actions


async def _ids_of_event(event_id: int, ids: Iterable[int]) -> list[int]:
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    found = await Registration.filter(event_id=event_id, id__in=wanted).values_list("id", flat=True)
    return sorted(int(i) for i in found)  # type: ignore[call-overload]


@dataclass
class BulkResult:
    done: int = 0
    waitlisted: int = 0
    full: int = 0
    skipped: int = 0


async def bulk_action(
    actor: Principal, settings: Settings, event_id: int, action: str, ids: Iterable[int]
) -> BulkResult:
    """Approve, decline or cancel the chosen registrations of one event."""
    await _event(actor, MANAGE, event_id)
    chosen = await _ids_of_event(event_id, ids)
    result = BulkResult()
    if action == "approve":
        approved = await service.approve(settings, actor, chosen)
        result.done = approved["confirmed"]
        result.waitlisted = approved["waitlisted"]
        result.full = approved["full"]
        result.skipped = approved["skipped"]
    elif action == "decline":
        result.done = await service.decline(settings, actor, chosen)
        result.skipped = len(chosen) - result.done
    elif action == "cancel":
        for registration_id in chosen:
            try:
                await service.cancel(settings, registration_id, actor=actor)
            except Conflict:
                result.skipped += 1
            else:
                result.done += 1
    else:
        raise ValidationFailed(fields={"action": _("Action inconnue.")})
    return result


async def approve_one(actor: Principal, settings: Settings, registration_id: int) -> dict[str, int]:
    await _registration(actor, MANAGE, registration_id)
    return await service.approve(settings, actor, [registration_id])


async def decline_one(actor: Principal, settings: Settings, registration_id: int) -> int:
    await _registration(actor, MANAGE, registration_id)
    return await service.decline(settings, actor, [registration_id])


async def cancel_one(actor: Principal, settings: Settings, registration_id: int) -> Registration:
    await _registration(actor, MANAGE, registration_id)
    return await service.cancel(settings, registration_id, actor=actor)


def parse_party_size(raw: Any) -> int:
    try:
        size = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"party_size": _("Un nombre entier est attendu.")}) from None
    if not 1 <= size <= MAX_PARTY_SIZE:
        raise ValidationFailed(
            fields={
                "party_size": _(
                    "La taille du groupe doit être entre 1 et %(max)s.", max=MAX_PARTY_SIZE
                )
            }
        )
    return size


async def change_party_size(
    actor: Principal, settings: Settings, registration_id: int, raw: Any
) -> Registration:
    await _registration(actor, MANAGE, registration_id)
    size = parse_party_size(raw)
    return await service.change_party_size(settings, registration_id, size, actor=actor)


async def move_registration(
    actor: Principal, settings: Settings, registration_id: int, raw_target: Any
) -> Registration:
    registration = await _registration(actor, MANAGE, registration_id)
    try:
        target_id = int(str(raw_target).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(
            fields={"target_event_id": _("Choisissez l'événement de destination.")}
        ) from None
    allowed = {e.id for e in await move_targets(actor, registration)}
    if target_id not in allowed:
        raise ValidationFailed(
            fields={"target_event_id": _("Choisissez un des événements proposés.")}
        )
    authorize(actor, MANAGE, event_id=target_id)
    return await service.move(settings, actor, registration_id, target_id)


# --------------------------------------------------------------------------- add by hand

REGISTRATION_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "clientele",
    "organization",
    "territory",
    "language",
    "party_size",
]


def answers_from_form(questions: list[Question], form: FormData) -> dict[str, Any]:
    """The `q_<id>` fields of a form as the answers dict `clean_answers` expects."""
    answers: dict[str, Any] = {}
    for question in questions:
        name = f"q_{question.id}"
        if question.kind == QuestionKind.MULTIPLE_CHOICE:
            values = [v for v in form.getlist(name) if isinstance(v, str) and v]
            if values:
                answers[str(question.id)] = values
        else:
            value = form.get(name)
            if isinstance(value, str) and value.strip():
                answers[str(question.id)] = value.strip()
    return answers


def registration_form_data(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in REGISTRATION_FIELDS:
        value = form.get(name, "")
        data[name] = value.strip() if isinstance(value, str) else ""
    data["territory"] = data["territory"] or None
    data["party_size"] = data["party_size"] or "1"
    data["language"] = data["language"] or "fr"
    data["consents"] = [c for c in form.getlist("consents") if isinstance(c, str) and c]
    data["under_14"] = form.get("under_14") in ("1", "on", "true")
    data["guardian_consent"] = form.get("guardian_consent") in ("1", "on", "true")
    return data


def form_field_name(key: str) -> str:
    """`answers.12` (service field errors) -> `q_12` (form field)."""
    if key.startswith("answers."):
        return "q_" + key.split(".", 1)[1]
    return key


async def add_registration(
    actor: Principal, settings: Settings, event_id: int, form: FormData
) -> service.RegistrationResult:
    """ "Ajouter une inscription": the single `register` entry point, source back office
    (no approval step, and the registration window does not apply)."""
    await _event(actor, MANAGE, event_id)
    from core.http import validate

    data = registration_form_data(form)
    data["answers"] = answers_from_form(await service.event_questions(event_id), form)
    try:
        parsed = validate(RegistrationIn, data)
    except ValidationFailed as error:
        error.fields = {form_field_name(k): v for k, v in error.fields.items()}
        raise
    try:
        return await service.register(
            event_id,
            parsed,
            settings=settings,
            source=RegistrationSource.BACKOFFICE,
            actor=actor,
        )
    except ValidationFailed as error:
        error.fields = {form_field_name(k): v for k, v in error.fields.items()}
        raise


# --------------------------------------------------------------------------- exports

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell_safe(value: str) -> str:
    """Neutralize spreadsheet formulas (CSV/XLSX injection) and drop control characters."""
    return neutralize_formula(_ILLEGAL.sub("", value))


@dataclass
class Export:
    headers: list[str]
    rows: list[list[Any]]  # str, int, float or datetime (local, naive) cells
    event: Event

    @property
    def filename_stem(self) -> str:
        return f"inscriptions-evenement-{self.event.id}"


async def export_rows(
    actor: Principal, event_id: int, filters: RegistrationFilters | None = None
) -> Export:
    """One row per registration, one column per custom question (labels as headers)."""
    event = await _event(actor, MANAGE, event_id)
    filters = filters or RegistrationFilters()
    questions = list(await Question.filter(event_id=event_id).order_by("position", "id"))
    registrations = (
        await _filtered(event_id, filters)
        .select_related("person", "clientele", "territory", "organization")
        .order_by("person__last_name", "person__first_name", "id")
    )
    positions = await waitlist_positions(event_id)
    zone = ZoneInfo(current_timezone.get())
    headers = [
        _("Nom"),
        _("Prénom"),
        _("Courriel"),
        _("Téléphone"),
        _("Statut"),
        _("Position en liste d'attente"),
        _("Taille du groupe"),
        _("Clientèle"),
        _("Organisme"),
        _("MRC ou territoire"),
        _("Langue"),
        _("Source"),
        _("Code du billet"),
        _("Inscrit le"),
    ] + [q.label for q in questions]
    rows: list[list[Any]] = []
    for r in registrations:
        person = r.person
        row: list[Any] = [
            person.last_name,
            person.first_name,
            person.email or "",
            person.phone,
            status_label(r.status),
            positions.get(r.id, ""),
            r.party_size,
            r.clientele.name_fr if r.clientele else "",
            r.organization.name if r.organization else "",
            r.territory.name if r.territory else "",
            r.language,
            source_label(r.source),
            r.ticket_code,
            r.created_at.astimezone(zone).replace(tzinfo=None, microsecond=0),
        ]
        answers = r.answers or {}
        for question in questions:
            value = answers.get(str(question.id))
            if isinstance(value, int | float) and not isinstance(value, bool):
                row.append(value)
            else:
                row.append(format_answer(question, value))
        rows.append([cell_safe(c) if isinstance(c, str) else c for c in row])
    await audit(actor, "registrations.exported", event, {"count": len(rows), **filters.as_dict()})
    return Export([cell_safe(h) for h in headers], rows, event)


def to_csv(export: Export) -> bytes:
    """UTF-8 with a BOM (Excel opens it with the right accents), CRLF lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(export.headers)
    for row in export.rows:
        writer.writerow(
            [c.strftime("%Y-%m-%d %H:%M") if isinstance(c, datetime) else c for c in row]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(export: Export) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("Inscriptions")[:31]
    sheet.append(export.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in export.rows:
        sheet.append([None if cell == "" else cell for cell in row])
    created_col = export.headers.index(cell_safe(_("Inscrit le"))) + 1
    for (cell,) in sheet.iter_rows(min_row=2, min_col=created_col, max_col=created_col):
        cell.number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "A2"
    for index, header in enumerate(export.headers, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = min(40, max(12, len(header) + 2))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def attendance(actor: Principal, event_id: int) -> list[Registration]:
    """Confirmed registrations, by last name, for the printable attendance sheet."""
    await _event(actor, VIEW, event_id)
    return list(
        await Registration.filter(event_id=event_id, status=RegistrationStatus.CONFIRMED)
        .select_related("person", "clientele", "organization")
        .order_by("person__last_name", "person__first_name", "id")
    )


# --------------------------------------------------------------------------- API


async def api_items(
    actor: Principal, event_id: int, filters: RegistrationFilters, *, page: int, per_page: int
) -> dict[str, Any]:
    """The JSON list of `GET /api/v1/events/{id}/registrations`."""
    await _event(actor, MANAGE, event_id)
    result = await list_registrations(actor, event_id, filters, page=page, per_page=per_page)
    positions = await waitlist_positions(event_id)
    zone = ZoneInfo(current_timezone.get())
    items = []
    for r in result.items:
        items.append(
            {
                "id": r.public_id,
                "status": r.status.value,
                "first_name": r.person.first_name,
                "last_name": r.person.last_name,
                "email": r.person.email,
                "clientele": r.clientele.code,
                "territory": r.territory.code if r.territory else None,
                "organization": r.organization.name if r.organization else None,
                "language": r.language,
                "party_size": r.party_size,
                "answers": r.answers or {},
                "waitlist_position": positions.get(r.id),
                "source": r.source.value,
                "ticket_code": r.ticket_code,
                "created_at": r.created_at.astimezone(zone).isoformat(),
            }
        )
    return {"items": items, "total": result.total, "page": result.page, "per_page": per_page}


# --------------------------------------------------------------------------- questions


async def list_questions(actor: Principal, event_id: int) -> list[Question]:
    await _event(actor, VIEW, event_id)
    return list(await Question.filter(event_id=event_id).order_by("position", "id"))


async def answer_counts(event_id: int) -> dict[int, int]:
    """Question id -> number of registrations (any status) that answered it."""
    counts_by_id: dict[int, int] = {}
    for answers in await Registration.filter(event_id=event_id).values_list("answers", flat=True):
        if isinstance(answers, dict):
            for key, value in answers.items():
                if value not in (None, "", []) and str(key).isdigit():
                    counts_by_id[int(key)] = counts_by_id.get(int(key), 0) + 1
    return counts_by_id


async def get_question(actor: Principal, event_id: int, question_id: int) -> Question:
    await _event(actor, VIEW, event_id)
    question = await Question.get_or_none(id=question_id, event_id=event_id)
    if question is None:
        raise NotFound()
    return question


def question_form_data(form: FormData) -> dict[str, Any]:
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


def _check_question(data: dict[str, Any]) -> QuestionIn:
    from core.http import validate

    fields: dict[str, str] = {}
    try:
        parsed = validate(QuestionIn, data)
    except ValidationFailed as error:
        fields.update(error.fields)
        parsed = None
    if "kind" in fields:
        fields["kind"] = _("Choisissez un type de question.")
    if "label" in fields and not data.get("label"):
        fields["label"] = _("Indiquez le libellé de la question.")
    fields = {k.split(".")[0]: v for k, v in fields.items()}
    if parsed is not None and QuestionKind(parsed.kind) in CHOICE_KINDS and len(parsed.choices) < 2:
        fields["choices"] = _("Indiquez au moins deux choix, un par ligne.")
    if fields or parsed is None:
        raise ValidationFailed(fields=fields)
    if QuestionKind(parsed.kind) not in CHOICE_KINDS:
        parsed.choices = []
    return parsed


async def create_question(actor: Principal, event_id: int, data: dict[str, Any]) -> Question:
    await _event(actor, MANAGE, event_id)
    parsed = _check_question(data)
    async with in_transaction():
        last = await Question.filter(event_id=event_id).order_by("-position", "-id").first()
        question = await Question.create(
            event_id=event_id,
            kind=QuestionKind(parsed.kind),
            label=parsed.label,
            help_text=parsed.help_text,
            required=parsed.required,
            choices=parsed.choices,
            position=(last.position + 1) if last else 0,
        )
        await audit(actor, "question.created", question, {"event": event_id})
    return question


async def update_question(
    actor: Principal, event_id: int, question_id: int, data: dict[str, Any]
) -> Question:
    await _event(actor, MANAGE, event_id)
    parsed = _check_question(data)
    async with in_transaction():
        question = await Question.get_or_none(id=question_id, event_id=event_id)
        if question is None:
            raise NotFound()
        answered = (await answer_counts(event_id)).get(question.id, 0)
        if answered and parsed.kind != question.kind:
            raise ValidationFailed(
                fields={
                    "kind": _(
                        "Le type ne peut plus changer : des personnes ont déjà répondu. "
                        "Désactivez cette question et créez-en une autre."
                    )
                }
            )
        question.kind = QuestionKind(parsed.kind)
        question.label = parsed.label
        question.help_text = parsed.help_text
        question.required = parsed.required
        question.choices = parsed.choices
        await question.save()
        await audit(actor, "question.updated", question, {"event": event_id})
    return question


async def delete_question(actor: Principal, event_id: int, question_id: int) -> str:
    """Delete the question, or only deactivate it when answers exist: "deleted"/"deactivated"."""
    await _event(actor, MANAGE, event_id)
    async with in_transaction():
        question = await Question.get_or_none(id=question_id, event_id=event_id)
        if question is None:
            raise NotFound()
        if (await answer_counts(event_id)).get(question.id, 0):
            question.active = False
            await question.save(update_fields=["active"])
            await audit(actor, "question.deactivated", question, {"event": event_id})
            return "deactivated"
        await audit(actor, "question.deleted", question, {"event": event_id})
        await question.delete()
    return "deleted"


async def reactivate_question(actor: Principal, event_id: int, question_id: int) -> Question:
    await _event(actor, MANAGE, event_id)
    question = await Question.get_or_none(id=question_id, event_id=event_id)
    if question is None:
        raise NotFound()
    question.active = True
    await question.save(update_fields=["active"])
    await audit(actor, "question.reactivated", question, {"event": event_id})
    return question


async def move_question(
    actor: Principal, event_id: int, question_id: int, direction: str
) -> list[Question]:
    """Move a question one place up or down; positions are renumbered 0..n-1."""
    await _event(actor, MANAGE, event_id)
    if direction not in ("up", "down"):
        raise ValidationFailed(fields={"direction": _("Direction inconnue.")})
    async with in_transaction():
        questions = list(await Question.filter(event_id=event_id).order_by("position", "id"))
        index = next((i for i, q in enumerate(questions) if q.id == question_id), None)
        if index is None:
            raise NotFound()
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(questions):
            questions[index], questions[other] = questions[other], questions[index]
        for position, question in enumerate(questions):
            if question.position != position:
                question.position = position
                await question.save(update_fields=["position"])
        await audit(actor, "question.moved", ("registrations.Question", question_id), {})
    return questions
