"""What the evaluations package does when other packages ask or the upkeep runs.

Connected at start-up by `connect(settings)` (called by `core.db.load_packages`):

- the upkeep invites the participants of activities that are over (`sending.send_due`)
  and reminds those who have not answered (`sending.send_due_reminders`);
- the campaigns thank-you asks whether someone else thanks for an event: yes when the
  event has an evaluation form (its invitation thanks and carries the personal link);
- the event's back-office page gets the evaluation panel (form, results, sending);
- a person's export and erasure (Law 25) cover their linked responses
  (`evaluations.privacy`).
"""

from __future__ import annotations

from campaigns.signals import thanks_sent_elsewhere
from core import maintenance
from core.settings import Settings, load_settings
from evaluations import panels, privacy, sending
from events.signals import event_admin_panels
from people.signals import person_erasing, person_exporting

_current_settings: Settings | None = None


def _settings() -> Settings:
    return _current_settings or load_settings()


async def invitations_task() -> int:
    return await sending.send_due(_settings())


async def reminders_task() -> int:
    return await sending.send_due_reminders(_settings())


def connect(settings: Settings) -> None:
    global _current_settings
    _current_settings = settings
    maintenance.register("evaluations.invitations", invitations_task)
    maintenance.register("evaluations.reminders", reminders_task)
    thanks_sent_elsewhere.connect(sending.thanks_taken_over)
    event_admin_panels.connect(panels.event_panel)
    person_exporting.connect(privacy.export_responses)
    person_erasing.connect(privacy.erase_responses)
