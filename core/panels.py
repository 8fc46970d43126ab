"""Panels on the back-office home page (`/admin`) that feature packages provide.

Core knows no feature package: the dashboard sends `dashboard_panels` with the signed-in
account and the time, and renders every `Panel` the receivers return (None: nothing for
this account), after its tiles. A package connects its receiver at start-up (the
registrations package: the events of today and tomorrow a `checkin` account may work at).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.auth import Principal
from core.signals import Signal


@dataclass(frozen=True)
class DashboardAsked:
    actor: Principal
    now: datetime


@dataclass(frozen=True)
class PanelLink:
    label: str
    href: str


@dataclass(frozen=True)
class PanelForm:
    """A button that POSTs to `action` (the page adds the CSRF token)."""

    label: str
    action: str


@dataclass(frozen=True)
class PanelItem:
    title: str
    detail: str = ""
    links: tuple[PanelLink, ...] = ()
    forms: tuple[PanelForm, ...] = ()


@dataclass(frozen=True)
class Panel:
    """A titled list; `empty` is said when it has no item."""

    title: str
    items: list[PanelItem] = field(default_factory=list)
    empty: str = ""


dashboard_panels: Signal[DashboardAsked, Panel | None] = Signal(
    "dashboard_panels",
    DashboardAsked,
    doc="The back-office home page asks each package for its panel for this account.",
)
