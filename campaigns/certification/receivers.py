"""What the certification sub-package connects at start-up (see `core.db.load_packages`):
the renewal upkeep (`campaigns.certification.renewals`)."""

from __future__ import annotations

from core import maintenance
from core.settings import Settings, load_settings

_current_settings: Settings | None = None


async def renewals_task() -> int:
    from campaigns.certification.renewals import run_renewals

    return await run_renewals(_current_settings or load_settings())


def connect(settings: Settings) -> None:
    global _current_settings
    _current_settings = settings
    maintenance.register("certification.renewals", renewals_task)
