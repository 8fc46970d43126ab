"""What core itself connects at start-up (called by `core.db.load_packages`): the
outbox's panel on the back-office home page."""

from __future__ import annotations

from core.mail.panel import mail_panel
from core.panels import dashboard_panels
from core.settings import Settings


def connect(settings: Settings) -> None:  # noqa: ARG001 - the receivers' common signature
    dashboard_panels.connect(mail_panel)
