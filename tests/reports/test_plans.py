"""Action plans in the back office and the service: editing the tree, its rules, the
rights, and how events resolve plan-item codes now that codes repeat across plans."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from core.auth import Principal
from core.errors import Conflict, Forbidden, ValidationFailed
from core.models import AuditEntry, Role
from events import service as events_service
from events.schemas import EventIn
from people.models import PlanItem
from reports import plans
from reports.schemas import PlanIn, PlanItemIn
from tests.conftest import csrf_for, login, make_user
from tests.reports.helpers import SYSTEM, fixture_bytes, plan_from_csv


def _event(year: int, codes: list[str], plan_id: int | None = None) -> EventIn:
    start = datetime(year, 3, 10, 14, tzinfo=UTC)
    return EventIn.model_validate(
        {
            "title": f"Rencontre {year}",
            "kind": "regional_event",
            "starts_at": start,
            "ends_at": start.replace(hour=16),
            "plan_items": codes,
            **({"plan_id": plan_id} if plan_id else {}),
        }
    )


async def test_event_codes_resolve_in_the_plan_of_the_event_year(db):
    old = await plan_from_csv("plan_004_lanaudiere.csv", start=2021, end=2023)
    new = await plan_from_csv("plan_004_lanaudiere.csv", start=2024, end=2026)
    event_2022 = await events_service.create_event(SYSTEM, _event(2022, ["1.3"]))
    event_2025 = await events_service.create_event(SYSTEM, _event(2025, ["1.3", "2.1"]))
    await event_2022.fetch_related("plan_items")
    await event_2025.fetch_related("plan_items")
    assert {p.plan_id for p in event_2022.plan_items} == {old.id}
    assert sorted((p.plan_id, p.code) for p in event_2025.plan_items) == [
        (new.id, "1.3"),
        (new.id, "2.1"),
    ]
    # A year no plan covers: the most recent active plan; an explicit plan wins.
    later = await events_service.create_event(SYSTEM, _event(2031, ["1.1"]))
    explicit = await events_service.create_event(SYSTEM, _event(2025, ["1.1"], plan_id=old.id))
    await later.fetch_related("plan_items")
    await explicit.fetch_related("plan_items")
    assert [p.plan_id for p in later.plan_items] == [new.id]
    assert [p.plan_id for p in explicit.plan_items] == [old.id]
    # Editing an event keeps its items in their plan (event_input carries the plan).
    again = await events_service.event_input(explicit)
    assert again.plan_id == old.id
    with pytest.raises(ValidationFailed) as caught:
        await events_service.create_event(SYSTEM, _event(2025, ["9.9"]))
    assert caught.value.fields["plan_items"] == "Élément du plan d'action inconnu : 9.9."


async def test_tree_rules_when_adding_and_editing(db):
    plan = await plan_from_csv("plan_004_lanaudiere.csv")
    with pytest.raises(ValidationFailed) as caught:
        await plans.add_item(
            SYSTEM, plan.id, PlanItemIn(code="1.4", level="objective", parent="1", title="X")
        )
    assert caught.value.fields == {
        "level": "Le niveau « objectif » ne peut pas être sous un élément de niveau « objectif »."
    }
    with pytest.raises(ValidationFailed) as caught:
        await plans.add_item(SYSTEM, plan.id, PlanItemIn(code="1.1", level="action", title="X"))
    assert "code" in caught.value.fields
    item = await plans.add_item(
        SYSTEM,
        plan.id,
        PlanItemIn(
            code="1.4", level="action", parent="1", title="Gala", indicator="Prix", target=200
        ),
    )
    assert item.axis_id == (await PlanItem.get(plan_id=plan.id, code="P")).id
    _plan, rows = await plans.plan_rows(SYSTEM, plan.id)
    assert [r.item.code for r in rows][2:7] == ["1.1", "1.2", "1.3", "1.4", "2"]
    objective = await PlanItem.get(plan_id=plan.id, code="1")
    # An objective cannot go under its own action, nor become an action above actions.
    with pytest.raises(ValidationFailed):
        await plans.update_item(
            SYSTEM, objective.id, PlanItemIn(code="1", level="objective", parent="1.1", title="O")
        )
    with pytest.raises(ValidationFailed):
        await plans.update_item(
            SYSTEM, objective.id, PlanItemIn(code="1", level="action", parent="P", title="O")
        )
    moved = await plans.update_item(
        SYSTEM,
        item.id,
        PlanItemIn(code="3.3", level="action", parent="3", title="Gala reconnaissance"),
    )
    assert (await PlanItem.get(id=moved.id)).parent_id == (
        await PlanItem.get(plan_id=plan.id, code="3")
    ).id
    await plans.move_item(SYSTEM, moved.id, "up")
    _plan, rows = await plans.plan_rows(SYSTEM, plan.id)
    assert [r.item.code for r in rows][-3:] == ["3.1", "3.3", "3.2"]
    actions = set(await AuditEntry.all().values_list("action", flat=True))
    assert {"plan.created", "plan.imported", "plan_item.created", "plan_item.updated"} <= actions
    assert "plan_item.moved" in actions


async def test_tagged_items_cannot_be_deleted_and_rights(db):
    plan = await plan_from_csv("plan_004_lanaudiere.csv")
    event = await events_service.create_event(SYSTEM, _event(2024, ["1.3"]))
    objective = await PlanItem.get(plan_id=plan.id, code="1")
    with pytest.raises(Conflict):
        await plans.delete_item(SYSTEM, objective.id)
    with pytest.raises(Conflict):
        await plans.delete_plan(SYSTEM, plan.id)
    other = await PlanItem.get(plan_id=plan.id, code="3")
    before = await PlanItem.filter(plan_id=plan.id).count()
    await plans.delete_item(SYSTEM, other.id)
    assert await PlanItem.filter(plan_id=plan.id).count() == before - 3
    reviewer = Principal.for_user(await make_user(Role.REVIEWER))
    assert [p.id for p in await plans.list_plans(reviewer)] == [plan.id]
    with pytest.raises(Forbidden):
        await plans.create_plan(reviewer, PlanIn(name="X", period_start=2023, period_end=2024))
    await event.fetch_related("plan_items")
    assert [p.code for p in event.plan_items] == ["1.3"]


async def test_back_office_pages(client):
    await login(client, Role.ORGANIZER)
    token = await csrf_for(client)
    created = await client.post(
        "/admin/plans",
        data={"name": "Plan régional 2024-2029", "period_start": "2024", "period_end": "2029",
              "active": "on", "csrf_token": token},
    )  # fmt: skip
    assert created.status_code == 303
    url = created.headers["location"]
    plan_id = int(url.rsplit("/", 1)[1])
    refused = await client.post(
        f"{url}/import",
        data={"csrf_token": token},
        files={"file": ("plan.csv", fixture_bytes("plan_003_malformed.csv"), "text/csv")},
    )
    assert refused.status_code == 422
    assert "rien n&#39;a été importé" in refused.text or "rien n'a été importé" in refused.text
    assert "Parent inconnu : 1.9." in refused.text
    assert await PlanItem.filter(plan_id=plan_id).count() == 0
    loaded = await client.post(
        f"{url}/import",
        data={"csrf_token": token},
        files={"file": ("plan.csv", fixture_bytes("plan_004_lanaudiere.csv"), "text/csv")},
    )
    assert loaded.status_code == 200
    assert "11 éléments créés" in loaded.text
    page = await client.get(url)
    assert page.status_code == 200
    assert "Organiser un événement régional annuel" in page.text
    item = await PlanItem.get(plan_id=plan_id, code="1.3")
    bad = await client.post(
        f"/admin/plans/items/{item.id}",
        data={"code": "1.3", "level": "axis", "parent": "1", "title": "Événement annuel",
              "target": "150", "csrf_token": token},
    )  # fmt: skip
    assert bad.status_code == 422
    assert "Événement annuel" in bad.text  # what was typed is kept
    assert re.search(r"ne peut pas être sous un élément de niveau", bad.text)
    saved = await client.post(
        f"/admin/plans/items/{item.id}",
        data={"code": "1.3", "level": "action", "parent": "1", "title": "Événement annuel",
              "indicator": "Personnes jointes", "target": "200", "target_measure": "people",
              "csrf_token": token},
    )  # fmt: skip
    assert saved.status_code == 303
    item = await PlanItem.get(id=item.id)
    assert (item.title, item.target, item.target_measure) == ("Événement annuel", 200, "people")
    added = await client.post(
        f"{url}/items",
        data={"code": "3.3", "level": "action", "parent": "3", "title": "Gala",
              "csrf_token": token},
    )  # fmt: skip
    assert added.status_code == 303
    export = await client.get(f"{url}/export.csv")
    assert export.status_code == 200 and b"3.3,action,3,Gala" in export.content
    listing = await client.get("/admin/plans")
    assert "Plan régional 2024-2029" in listing.text


async def test_campaigns_are_tagged_with_plan_items(client):
    from tests.campaigns import factories as f
    from tests.conftest import token_for

    plan = await plan_from_csv("plan_004_lanaudiere.csv", start=2026, end=2028)
    ev = await f.event()  # February 2027
    headers = {"Authorization": f"Bearer {await token_for(Role.ORGANIZER)}"}
    audience = await client.post(
        "/api/v1/audiences", json={"name": "Tous", "filters": {}}, headers=headers
    )
    body = {
        "kind": "invitation",
        "name": "Invitation au colloque",
        "audience_id": audience.json()["id"],
        "event_id": ev.id,
        "subject_fr": "Invitation",
        "body_fr": "Bonjour {{ prenom }}",
    }
    unknown = await client.post(
        "/api/v1/campaigns", json={**body, "plan_items": ["9.9"]}, headers=headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"]["plan_items"] == (
        "Élément du plan d'action inconnu : 9.9."
    )
    created = await client.post(
        "/api/v1/campaigns", json={**body, "plan_items": ["1.3", "1.2"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    detail = await client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)
    assert detail.json()["plan_items"] == ["1.2", "1.3"]
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/campaigns/{campaign_id}/edit")
    assert page.status_code == 200
    assert f'name="plan_id" value="{plan.id}"' in page.text
    assert 'value="1.3" checked' in page.text
