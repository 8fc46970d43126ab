"""What the reports package adds to other packages' pages (connected at start-up by
`core.db.load_packages`): on an event's back-office page the participation summary and the
link to its report; on the back-office home page the year's headline figures."""

from __future__ import annotations

from core.panels import dashboard_panels
from core.settings import Settings
from events.signals import event_admin_panels
from reports import event_panel, event_report, home_panel


def connect(settings: Settings) -> None:
    """Connect the receivers (idempotent)."""
    event_admin_panels.connect(event_panel.event_panel)
    dashboard_panels.connect(home_panel.headline_panel)
    event_admin_panels.connect(event_report.report_panel)
