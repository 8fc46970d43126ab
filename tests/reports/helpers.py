"""Shared by the reports tests: the plan CSV fixtures and a plan loaded from one."""

from __future__ import annotations

from pathlib import Path

from core.auth import Principal
from people.models import Plan
from reports import plan_csv, plans
from reports.schemas import PlanIn

DATA = Path(__file__).resolve().parent / "data"
SYSTEM = Principal.system("tests")


def fixture_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


async def plan_from_csv(name: str, *, start: int = 2023, end: int = 2028) -> Plan:
    plan = await plans.create_plan(
        SYSTEM, PlanIn(name=f"Plan {name}", period_start=start, period_end=end)
    )
    await plan_csv.import_plan_csv(SYSTEM, plan.id, fixture_bytes(name))
    return plan
