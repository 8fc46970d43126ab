"""What the campaigns package does when other packages change things.

Connected at start-up by `connect(settings)` (called by `core.db.load_packages`):

- a published event's dates or place change → each active registrant gets one change
  notice with the event's ICS at its new SEQUENCE (`campaigns.automatic.notify_change`);
- an event is cancelled → each active registrant gets the cancellation with an ICS
  METHOD:CANCEL (`notify_cancellation`; the registrations package no longer mails it);
- the periodic upkeep (`core.maintenance`) queues the due reminders and thank-yous.
"""

from __future__ import annotations

from campaigns import automatic, rsvp
from core import maintenance
from core.settings import Settings, load_settings
from events.signals import (
    EventCancelled,
    EventChanged,
    event_admin_panels,
    event_cancelled,
    event_changed,
)

_current_settings: Settings | None = None


def _settings() -> Settings:
    return _current_settings or load_settings()


async def send_change_notice(signal: EventChanged) -> int:
    return await automatic.notify_change(_settings(), signal.event, signal.details)


async def send_cancellation_notice(signal: EventCancelled) -> int:
    return await automatic.notify_cancellation(_settings(), signal.event, signal.message)


async def reminders_task() -> int:
    return await automatic.send_due_reminders(_settings())


async def thanks_task() -> int:
    return await automatic.send_due_thanks(_settings())


async def campaigns_task() -> int:
    from campaigns.sending import run_due_campaigns

    return await run_due_campaigns(_settings())


def connect(settings: Settings) -> None:
    """Connect the receivers and upkeep tasks (idempotent); keep the settings for mail."""
    global _current_settings
    _current_settings = settings
    event_changed.connect(send_change_notice)
    event_cancelled.connect(send_cancellation_notice)
    maintenance.register("campaigns.event_reminders", reminders_task)
    maintenance.register("campaigns.event_thanks", thanks_task)
    maintenance.register("campaigns.send", campaigns_task)
    event_admin_panels.connect(rsvp.event_panel)
