"""Signals the events package sends (see `core.signals`); other packages connect to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.auth import Principal
from core.panels import Panel
from core.signals import Signal
from events.models import Event


@dataclass(frozen=True)
class EventCancelled:
    actor: Principal
    event: Event
    message: str


@dataclass(frozen=True)
class EventChanged:
    actor: Principal
    event: Event
    # Sent only when this update moved the dates or changed the place (the event's
    # SEQUENCE went up): {"from": [starts, ends], "to": [starts, ends]} when the dates
    # moved, "place": {"from": [venue, address], "to": [...]} when the place changed,
    # and "sequence": n.
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CapacityChanged:
    actor: Principal
    event: Event
    previous: int | None


event_cancelled: Signal[EventCancelled, int] = Signal(
    "event_cancelled",
    EventCancelled,
    doc="Inside the cancelling transaction; each receiver returns how many people it told.",
)
event_changed: Signal[EventChanged, int] = Signal(
    "event_changed",
    EventChanged,
    doc="A published event's dates or place changed (after the update, in its transaction); "
    "each receiver returns how many people it will tell.",
)
capacity_changed: Signal[CapacityChanged, None] = Signal(
    "capacity_changed",
    CapacityChanged,
    doc="Inside the updating transaction, when the capacity changed (waitlist promotion).",
)


@dataclass(frozen=True)
class EventPanelsAsked:
    actor: Principal
    event: Event


event_admin_panels: Signal[EventPanelsAsked, Panel | None] = Signal(
    "event_admin_panels",
    EventPanelsAsked,
    required=False,
    doc="The event's back-office page asks other packages for panels (e.g. the answers "
    "to its invitations); None: nothing for this account.",
)
