"""What the events package connects at start-up (called by `core.db.load_packages`): its
panel on the back-office home page (the JPS submissions awaiting moderation)."""

from __future__ import annotations

from core.panels import dashboard_panels
from core.settings import Settings
from events.panels import submissions_panel


def connect(settings: Settings) -> None:  # noqa: ARG001 - the receivers' common signature
    dashboard_panels.connect(submissions_panel)
