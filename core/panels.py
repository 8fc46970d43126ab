"""Panels on the back-office home page (`/admin`) that feature packages provide.

Core knows no feature package: the dashboard sends `dashboard_panels` with the signed-in
account and the time, and renders every `Panel` the receivers return (None: nothing for
this account: each receiver checks the account's permission), in the order of their
`order`, before the menu tiles. A package connects its receiver at start-up, from its
`receivers.connect`:

- events: the JPS activity submissions awaiting moderation;
- registrations: the registrations awaiting approval, today's events (with the check-in
  link), the upcoming events (fill rate and waitlist), and for a `checkin` account the
  events of today and tomorrow at its door;
- core mail: the messages that failed for good (link to the outbox);
- reports: the year's headline figures (link to the dashboard).

A receiver runs a fixed number of queries, whatever the number of events it shows.
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
    # A share between 0 and 1 drawn as a gauge (a fill rate), said by `progress_label`.
    progress: float | None = None
    progress_label: str = ""
    forms: tuple[PanelForm, ...] = ()


@dataclass(frozen=True)
class PanelFigure:
    """A headline number: « 3 » « demandes à approuver », optionally a link."""

    value: str
    label: str
    href: str = ""


# Where a panel goes on the page (smaller first): what awaits a decision, then today,
# then what is coming, then the year's figures.
ORDER_TO_DO = 10
ORDER_TODAY = 20
ORDER_UPCOMING = 30
ORDER_FIGURES = 40


@dataclass(frozen=True)
class Panel:
    """A titled list; `empty` is said when it has neither item nor figure."""

    title: str
    items: list[PanelItem] = field(default_factory=list)
    empty: str = ""
    figures: tuple[PanelFigure, ...] = ()
    links: tuple[PanelLink, ...] = ()  # under the panel: « Tout voir »
    order: int = ORDER_UPCOMING
    attention: bool = False  # something waits for someone: the panel is marked


dashboard_panels: Signal[DashboardAsked, Panel | None] = Signal(
    "dashboard_panels",
    DashboardAsked,
    doc="The back-office home page asks each package for its panel for this account.",
)


async def panels_for(actor: Principal, now: datetime) -> list[Panel]:
    """The panels for this account, in their `order` (then in connection order)."""
    panels = await dashboard_panels.send(DashboardAsked(actor, now))
    return sorted((panel for panel in panels if panel is not None), key=lambda p: p.order)
