"""What the reports package adds to other packages' pages (connected at start-up by
`core.db.load_packages`): the participation summary on an event's back-office page, and
the link to its report."""

from __future__ import annotations

from core.settings import Settings
from events.signals import event_admin_panels
from reports import event_panel, event_report


def connect(settings: Settings) -> None:
    """Connect the receivers (idempotent)."""
    event_admin_panels.connect(event_panel.event_panel)
    event_admin_panels.connect(event_report.report_panel)
