"""Periodic upkeep run by the worker: packages register tasks, core runs them.

A task is an async function taking no argument and returning how many rows it changed
(e.g. events marks finished events as completed). Tasks run every
`MAINTENANCE_INTERVAL` seconds beside the mail worker (inside `rassembleur serve`, or in
`rassembleur worker` when scaled out); each is idempotent, so several workers may run
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("rassembleur.maintenance")

MAINTENANCE_INTERVAL = 300.0
Task = Callable[[], Awaitable[int]]
TASKS: dict[str, Task] = {}
# Set by `wake()`: the running upkeep loop (same process) starts its next round at once,
# e.g. when an organizer sends a campaign now. Another process keeps its interval.
_wakeup: asyncio.Event | None = None


def wake() -> None:
    """Ask the upkeep loop of this process to run its tasks now rather than later."""
    if _wakeup is not None:
        _wakeup.set()


def register(name: str, task: Task) -> None:
    TASKS[name] = task


async def run_tasks_once() -> dict[str, int]:
    """Run every task once; a failing task is logged and does not stop the others."""
    results: dict[str, int] = {}
    for name, task in list(TASKS.items()):
        try:
            results[name] = await task()
        except Exception:  # noqa: BLE001 - upkeep must never stop the worker
            log.exception("tâche d'entretien « %s » en échec", name)
            results[name] = -1
    return results


async def run_maintenance(stop: asyncio.Event, interval: float = MAINTENANCE_INTERVAL) -> None:
    global _wakeup
    wakeup = _wakeup = asyncio.Event()
    while not stop.is_set():
        wakeup.clear()
        changed = await run_tasks_once()
        if any(count > 0 for count in changed.values()):
            log.info("entretien : %s", changed)
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
        try:
            await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
