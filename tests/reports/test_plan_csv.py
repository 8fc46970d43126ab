"""Plan CSV import/export: seeds 002 and 004 load, re-importing updates without
duplicates, a malformed file is refused line by line in French with nothing written."""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from core.models import AuditEntry, Role
from people.models import PlanItem
from reports import plan_csv, plans
from reports.schemas import PlanIn
from tests.conftest import token_for
from tests.reports.helpers import SYSTEM, fixture_bytes, plan_from_csv


async def _tree(plan_id: int) -> list[tuple[str, str, str | None, str | None, int | None]]:
    _plan, rows = await plans.plan_rows(SYSTEM, plan_id)
    return [(r.item.code, r.item.level, r.parent_code, r.axis_code, r.item.target) for r in rows]


async def test_seed_004_loads_with_levels_skipped_and_axis_filled(db):
    plan = await plan_from_csv("plan_004_lanaudiere.csv")
    tree = await _tree(plan.id)
    assert tree[:5] == [
        ("P", "axis", None, "P", None),
        ("1", "objective", "P", "P", None),
        ("1.1", "action", "1", "P", 1),
        ("1.2", "action", "1", "P", 12),
        ("1.3", "action", "1", "P", 150),
    ]
    assert [code for code, *_ in tree] == [
        "P", "1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "3", "3.1", "3.2",
    ]  # fmt: skip
    item = await PlanItem.get(plan_id=plan.id, code="1.3")
    assert item.indicator == "Personnes jointes par l'événement"
    assert "événement régional annuel" in item.title


async def test_seed_002_loads_with_optional_columns(db):
    plan = await plan_from_csv("plan_002_monteregie.csv")
    item = await PlanItem.get(plan_id=plan.id, code="A.1.2")
    assert (item.target, item.target_measure, item.clienteles) == (300, "people", "schools,society")
    assert (await PlanItem.get(plan_id=plan.id, code="A.1")).title.startswith(
        "Faire un lancement annuel"
    )
    assert [axis for *_, axis, _t in await _tree(plan.id)] == ["A"] * 6


async def test_reimport_updates_without_duplicating(db):
    plan = await plan_from_csv("plan_004_lanaudiere.csv")
    count = await PlanItem.filter(plan_id=plan.id).count()
    again = await plan_csv.import_plan_csv(
        SYSTEM, plan.id, fixture_bytes("plan_004_lanaudiere.csv")
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, count)
    changed = (
        fixture_bytes("plan_004_lanaudiere.csv")
        .replace("Valoriser les différents parcours;".encode(), b"Valoriser tous les parcours;")
        .replace(b";Campagne de valorisation r\xc3\xa9alis\xc3\xa9e;1", b";Campagnes;2")
    )
    result = await plan_csv.import_plan_csv(SYSTEM, plan.id, changed)
    assert (result.created, result.updated) == (0, 1)
    item = await PlanItem.get(plan_id=plan.id, code="3.2")
    assert (item.title, item.indicator, item.target) == (
        "Valoriser tous les parcours",
        "Campagnes",
        2,
    )
    assert await PlanItem.filter(plan_id=plan.id).count() == count


async def test_same_codes_in_two_plans(db):
    first = await plan_from_csv("plan_004_lanaudiere.csv", start=2021, end=2023)
    second = await plan_from_csv("plan_004_lanaudiere.csv", start=2024, end=2026)
    assert await PlanItem.filter(code="1.3").count() == 2
    assert (
        await PlanItem.filter(plan_id=first.id).count()
        == await PlanItem.filter(plan_id=second.id).count()
    )


async def test_malformed_file_refused_line_by_line_nothing_written(db):
    plan = await plan_from_csv("plan_004_lanaudiere.csv")
    before = await PlanItem.all().count()
    audits = await AuditEntry.filter(action="plan.imported").count()
    with pytest.raises(ValidationFailed) as caught:
        await plan_csv.import_plan_csv(SYSTEM, plan.id, fixture_bytes("plan_003_malformed.csv"))
    lines = caught.value.extra["lines"]
    by_line = {}
    for entry in lines:
        by_line.setdefault(entry["line"], []).append(entry["error"])
    assert by_line == {
        5: ["Parent inconnu : 1.9."],
        7: ["Code en double : 1.1.2 (déjà à la ligne 6)."],
        8: ["Niveau inconnu : « sous-action » (axis, orientation, objective ou action)."],
        9: ["Le niveau « orientation » ne peut pas être sous un élément de niveau « objectif »."],
        10: ["Cible invalide : « deux cents » (un nombre entier positif)."],
        11: ["Cible invalide : « -200 » (un nombre entier positif)."],
        12: ["Colonne « code » trop longue (20 caractères au plus)."],
        13: ["Un élément sans parent doit être un axe (niveau « axis »)."],
    }
    assert await PlanItem.all().count() == before
    assert await AuditEntry.filter(action="plan.imported").count() == audits


async def test_a_new_plan_stays_empty_when_its_file_is_refused(db):
    plan = await plans.create_plan(SYSTEM, PlanIn(name="Vide", period_start=2023, period_end=2028))
    bad = fixture_bytes("plan_004_lanaudiere.csv") + b"X;action;inconnu;Orpheline;;\r\n"
    with pytest.raises(ValidationFailed) as caught:
        await plan_csv.import_plan_csv(SYSTEM, plan.id, bad)
    assert caught.value.extra["lines"] == [{"line": 13, "error": "Parent inconnu : inconnu."}]
    assert await PlanItem.filter(plan_id=plan.id).count() == 0


async def test_export_reimports_into_the_same_tree(db):
    plan = await plan_from_csv("plan_002_monteregie.csv")
    exported = await plan_csv.export_plan_csv(SYSTEM, plan.id)
    assert exported.startswith(b"\xef\xbb\xbf")
    assert exported.split(b"\r\n")[0] == (
        b"\xef\xbb\xbfcode,level,parent,title,indicator,target,target_measure,clienteles"
    )
    copy = await plans.create_plan(SYSTEM, PlanIn(name="Copie", period_start=2029, period_end=2034))
    semicolon = await plan_csv.export_plan_csv(SYSTEM, plan.id, semicolon=True)
    assert semicolon.split(b"\r\n")[0].count(b";") == 7
    result = await plan_csv.import_plan_csv(SYSTEM, copy.id, semicolon)
    assert result.created == 6
    assert await _tree(copy.id) == await _tree(plan.id)
    original = await PlanItem.get(plan_id=plan.id, code="A.1.2")
    copied = await PlanItem.get(plan_id=copy.id, code="A.1.2")
    assert (copied.clienteles, copied.target_measure) == (original.clienteles, "people")


async def test_api_create_import_read_and_rights(client):
    organizer = {"Authorization": f"Bearer {await token_for(Role.ORGANIZER)}"}
    reviewer = {"Authorization": f"Bearer {await token_for(Role.REVIEWER)}"}
    created = await client.post(
        "/api/v1/plans",
        json={"name": "Plan 2025-2030", "period_start": 2025, "period_end": 2030},
        headers=organizer,
    )
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    upload = await client.post(
        f"/api/v1/plans/{plan_id}/import",
        files={"file": ("plan.csv", fixture_bytes("plan_004_lanaudiere.csv"), "text/csv")},
        headers=organizer,
    )
    assert upload.status_code == 200, upload.text
    assert upload.json() == {"plan_id": plan_id, "created": 11, "updated": 0, "unchanged": 0}

    refused = await client.post(
        f"/api/v1/plans/{plan_id}/import",
        content=fixture_bytes("plan_003_malformed.csv"),
        headers={**organizer, "Content-Type": "text/csv"},
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_plan"
    assert error["fields"]["ligne 5"] == "Parent inconnu : 1.9."
    assert {"line": 7, "error": "Code en double : 1.1.2 (déjà à la ligne 6)."} in error["lines"]

    detail = await client.get(f"/api/v1/plans/{plan_id}", headers=reviewer)
    assert detail.status_code == 200
    items = detail.json()["items"]
    assert [i["code"] for i in items][:3] == ["P", "1", "1.1"]
    assert items[4] == {
        "id": items[4]["id"],
        "code": "1.3",
        "level": "action",
        "parent": "1",
        "axis": "P",
        "title": "Organiser un événement régional annuel",
        "indicator": "Personnes jointes par l'événement",
        "target": 150,
        "target_measure": "",
        "clienteles": [],
        "position": 5,
    }
    listed = await client.get("/api/v1/plans", headers=reviewer)
    assert [(p["id"], p["items_count"]) for p in listed.json()["plans"]] == [(plan_id, 11)]
    forbidden = await client.post(
        f"/api/v1/plans/{plan_id}/import",
        content=fixture_bytes("plan_004_lanaudiere.csv"),
        headers={**reviewer, "Content-Type": "text/csv"},
    )
    assert forbidden.status_code == 403
    export = await client.get(f"/api/v1/plans/{plan_id}/export.csv?sep=semicolon", headers=reviewer)
    assert export.status_code == 200
    assert export.content.startswith(b"\xef\xbb\xbfcode;level;parent")
    bad_period = await client.post(
        "/api/v1/plans",
        json={"name": "À l'envers", "period_start": 2030, "period_end": 2025},
        headers=organizer,
    )
    assert bad_period.status_code == 422
    assert "period_end" in bad_period.json()["error"]["fields"]
