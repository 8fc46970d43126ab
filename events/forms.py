"""The back-office event form: what the organizer typed (form values, kept as typed to
re-render the form on errors), the same as `EventIn` input, and an event as form values.

No HTTP here: `form_values` takes anything with `get` and `getlist` (a parsed form).
All-day events: the box "Toute la journée" (`all_day`); with it, the date inputs (or,
without JavaScript, the date part of the datetime inputs) give the first and last days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from core.settings import local_tz
from events.models import (
    DEFAULT_MAX_PUBLIC_PARTY,
    Event,
    EventKind,
    PartnerRole,
    PhoneField,
    Visibility,
    all_day_dates,
)
from events.schemas import EventIn

MAX_PARTNER_ROWS = 50


class FormLike(Protocol):
    def get(self, key: str, /) -> Any: ...

    def getlist(self, key: str, /) -> list[Any]: ...


def local_input(value: datetime | None, zone: str | None = None) -> str:
    """A datetime as a datetime-local input value in the event's time zone."""
    if value is None:
        return ""
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%dT%H:%M")
    return value.astimezone(ZoneInfo(zone) if zone else local_tz()).strftime("%Y-%m-%dT%H:%M")


TEXT_FIELDS = [
    "title",
    "kind",
    "starts_at",
    "ends_at",
    "timezone",
    "description",
    "mode",
    "venue_name",
    "address",
    "territory",
    "online_url",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "phone_field",
    "max_public_party_size",
    "parent_id",
    "visibility",
    "organizer_organization_id",
    "contact_name",
    "contact_email",
    "contact_phone",
    "image_url",
    "image_alt",
    "expected_participants",
    "reminder_days_before",
    "evaluation_url",
    "retention_months",
    "attestation_hours",
]
BOOL_FIELDS = [
    "all_day",
    "waitlist",
    "requires_approval",
    "allow_walkins_over_capacity",
    "registration_enabled",
    "confirm_by_email",
    "send_reminder",
    "send_thanks",
    "send_change_notices",
    "gives_attestation",
    "attestation_hours_per_day",
]
OPTIONAL_FIELDS = {
    "mode",
    "territory",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "parent_id",
    "organizer_organization_id",
    "expected_participants",
    "retention_months",
    "timezone",
    "phone_field",
    "max_public_party_size",
    "reminder_days_before",
    "attestation_hours",
}


def field_text(form: FormLike, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_values(form: FormLike) -> dict[str, Any]:
    """What the organizer typed, kept as is to re-render the form on errors."""
    values: dict[str, Any] = {name: field_text(form, name) for name in TEXT_FIELDS}
    # Keep the description's inner line breaks; only trim it.
    raw_description = form.get("description")
    values["description"] = raw_description.strip() if isinstance(raw_description, str) else ""
    for name in BOOL_FIELDS:
        values[name] = form.get(name) in ("on", "1", "true", "yes")
    values["clienteles"] = [v for v in form.getlist("clienteles") if isinstance(v, str) and v][:20]
    values["plan_items"] = [v for v in form.getlist("plan_items") if isinstance(v, str) and v][:50]
    values["plan_id"] = field_text(form, "plan_id")
    try:
        rows = max(0, min(int(field_text(form, "partner_rows") or "0"), MAX_PARTNER_ROWS))
    except ValueError:
        rows = 0
    values["partners"] = [
        {
            "organization_id": field_text(form, f"partner_org_{i}"),
            "role": field_text(form, f"partner_role_{i}") or PartnerRole.PARTNER.value,
        }
        for i in range(rows)
    ]
    return values


def input_data(values: dict[str, Any]) -> dict[str, Any]:
    """The form values as EventIn input (empty optional fields left out)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = values.get(name, "")
        if name in OPTIONAL_FIELDS and value == "":
            continue
        data[name] = value
    if data.get("attestation_hours"):  # French decimal comma: "3,5"
        data["attestation_hours"] = str(data["attestation_hours"]).replace(",", ".")
    for name in BOOL_FIELDS:
        data[name] = bool(values.get(name))
    data["clienteles"] = list(values.get("clienteles", []))
    data["plan_items"] = list(values.get("plan_items", []))
    if str(values.get("plan_id") or "").isdigit():
        data["plan_id"] = values["plan_id"]
    data["partners"] = [
        {"organization_id": row["organization_id"], "role": row["role"]}
        for row in values.get("partners", [])
        if row.get("organization_id")
    ]
    return data


def form_errors(fields: dict[str, str]) -> dict[str, str]:
    """Service/pydantic field paths ("partners.0.role") folded onto the form's fields."""
    errors: dict[str, str] = {}
    for key, message in fields.items():
        name = key.split(".", 1)[0]
        errors.setdefault(name, message)
    return errors


def values_from_input(data: EventIn) -> dict[str, Any]:
    zone = data.timezone or local_tz().key
    values: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = getattr(data, name, None)
        if isinstance(value, datetime):
            values[name] = local_input(value, zone)
        elif value is None:
            values[name] = ""
        elif isinstance(value, float):  # hours: "3,5", "2"
            values[name] = f"{value:g}".replace(".", ",")
        elif hasattr(value, "value"):
            values[name] = value.value
        else:
            values[name] = str(value)
    for name in BOOL_FIELDS:
        values[name] = bool(getattr(data, name, False))
    if data.all_day:  # the date inputs: the first and last days
        first, last = all_day_dates(data.starts_at, data.ends_at, zone)
        values["starts_at"], values["ends_at"] = first.isoformat(), last.isoformat()
    values["clienteles"] = list(data.clienteles or [])
    values["plan_items"] = list(data.plan_items or [])
    values["plan_id"] = str(data.plan_id or "")
    partners = []
    for partner in data.partners or []:
        row = partner if isinstance(partner, dict) else partner.model_dump()
        role = row.get("role") or PartnerRole.PARTNER
        partners.append(
            {
                "organization_id": str(row.get("organization_id") or ""),
                "role": role.value if hasattr(role, "value") else str(role),
            }
        )
    values["partners"] = partners
    return values


def default_values(parent: Event | None) -> dict[str, Any]:
    values: dict[str, Any] = {name: "" for name in TEXT_FIELDS}
    values.update(
        {
            "kind": EventKind.ACTIVITY.value if parent else EventKind.REGIONAL_EVENT.value,
            "timezone": local_tz().key,
            "visibility": Visibility.PUBLIC.value,
            "registration_enabled": True,
            "phone_field": PhoneField.OPTIONAL.value,
            "max_public_party_size": str(DEFAULT_MAX_PUBLIC_PARTY),
            "confirm_by_email": False,
            "all_day": False,
            "waitlist": False,
            "requires_approval": False,
            "allow_walkins_over_capacity": False,
            "send_reminder": True,
            "reminder_days_before": "2",
            "send_thanks": True,
            "send_change_notices": True,
            "gives_attestation": False,
            "attestation_hours_per_day": False,
            "clienteles": [],
            "plan_items": [],
            "partners": [],
        }
    )
    if parent is not None:
        values["parent_id"] = str(parent.id)
        start = parent.starts_at.astimezone(local_tz()).replace(hour=9, minute=0)
        values["starts_at"] = local_input(start)
        values["ends_at"] = local_input(start + timedelta(hours=2))
        values["visibility"] = parent.visibility
    return values
