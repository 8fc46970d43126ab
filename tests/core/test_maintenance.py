"""Periodic upkeep: registered tasks run, a failing one does not stop the others."""

from datetime import UTC, datetime, timedelta

from core import maintenance
from core.auth import Principal
from events import service
from events.models import Event, EventStatus
from events.schemas import EventIn


async def test_finished_events_are_marked_completed(db):
    past = await service.create_event(
        Principal.system(),
        EventIn.model_validate(
            {
                "title": "Passé",
                "kind": "training",
                "venue_name": "Salle",
                "starts_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
                "ends_at": (datetime.now(UTC) - timedelta(days=2, hours=-2)).isoformat(),
            }
        ),
    )
    await service.publish_event(Principal.system(), past.id)
    results = await maintenance.run_tasks_once()
    assert results["events.complete_past_events"] == 1
    assert (await Event.get(id=past.id)).status == EventStatus.COMPLETED


async def test_a_failing_task_is_isolated(db):
    async def broken() -> int:
        raise RuntimeError("panne")

    maintenance.register("tests.broken", broken)
    try:
        results = await maintenance.run_tasks_once()
    finally:
        maintenance.TASKS.pop("tests.broken")
    assert results["tests.broken"] == -1
    assert results["events.complete_past_events"] == 0
