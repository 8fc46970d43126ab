"""An event's registrations as a spreadsheet: one row per registration, one column per
custom question, as CSV (UTF-8 with a BOM) or XLSX; cells are made formula-safe for each
format (`core.spreadsheet`): an apostrophe in CSV, a text cell in XLSX."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.audit import audit
from core.auth import Principal
from core.i18n import _, to_local
from core.spreadsheet import keep_as_text, neutralize_formula
from events.models import Event
from people.phones import format_phone
from registrations import capacity
from registrations.access import MANAGE, event_for
from registrations.answers import format_answer
from registrations.labels import source_label, status_label
from registrations.listing import RegistrationFilters, filtered
from registrations.models import Question

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def clean_text(value: str) -> str:
    """Drop the control characters spreadsheets refuse."""
    return _ILLEGAL.sub("", value)


def cell_safe(value: str) -> str:
    """A CSV cell: control characters dropped, formulas neutralized (apostrophe)."""
    return neutralize_formula(clean_text(value))


@dataclass
class Export:
    headers: list[str]
    rows: list[list[Any]]  # str (as typed), int, float or datetime (local, naive) cells
    event: Event

    @property
    def filename_stem(self) -> str:
        return f"inscriptions-evenement-{self.event.id}"


async def export_rows(
    actor: Principal, event_id: int, filters: RegistrationFilters | None = None
) -> Export:
    """One row per registration, one column per custom question (labels as headers)."""
    event = await event_for(actor, MANAGE, event_id)
    filters = filters or RegistrationFilters()
    questions = list(await Question.filter(event_id=event_id).order_by("position", "id"))
    registrations = (
        await filtered(event_id, filters)
        .select_related("person", "clientele", "territory", "organization")
        .order_by("person__last_name", "person__first_name", "id")
    )
    positions = await capacity.waitlist_positions(event_id)
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
            format_phone(person.phone),
            status_label(r.status),
            positions.get(r.id, ""),
            r.party_size,
            r.clientele.name_fr if r.clientele else "",
            r.organization.name if r.organization else "",
            r.territory.name if r.territory else "",
            r.language,
            source_label(r.source),
            r.ticket_code,
            to_local(r.created_at).replace(tzinfo=None, microsecond=0),
        ]
        answers = r.answers or {}
        for question in questions:
            value = answers.get(str(question.id))
            if isinstance(value, int | float) and not isinstance(value, bool):
                row.append(value)
            else:
                row.append(format_answer(question, value))
        rows.append([clean_text(c) if isinstance(c, str) else c for c in row])
    await audit(actor, "registrations.exported", event, {"count": len(rows), **filters.as_dict()})
    return Export([clean_text(h) for h in headers], rows, event)


def to_csv(export: Export) -> bytes:
    """UTF-8 with a BOM (Excel opens it with the right accents), CRLF lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell_safe(h) for h in export.headers])
    for row in export.rows:
        writer.writerow(
            [
                c.strftime("%Y-%m-%d %H:%M")
                if isinstance(c, datetime)
                else cell_safe(c)
                if isinstance(c, str)
                else c
                for c in row
            ]
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
    for sheet_row in sheet.iter_rows():
        for cell in sheet_row:
            keep_as_text(cell)
    created_col = export.headers.index(_("Inscrit le")) + 1
    for (cell,) in sheet.iter_rows(min_row=2, min_col=created_col, max_col=created_col):
        cell.number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "A2"
    for index, header in enumerate(export.headers, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = min(40, max(12, len(header) + 2))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
