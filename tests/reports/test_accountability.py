"""The accountability report: a plan imported from CSV (seed 004), events tagged with its
actions, and the table read back (page, CSV, XLSX, masked) against hand-counted figures.

Plan 2024-2026 from tests/reports/data/plan_004_lanaudiere.csv; targets: 1.3 counts
people (150), 2.2 counts attended heads (80), 1.1 has a target without a measure.
Events (local time):
- EA 2025-11-05 "Événement régional annuel", tagged 1.3:
  P1 youth Joliette (2461) checked in; P2 family Joliette, party 2, checked in;
  P3 schools Montcalm (2463), no check-in.
- EB 2026-03-10 "Transfert de connaissances", tagged 1.3 and 2.2:
  P1 youth Joliette checked in; P4 schools Montcalm checked in;
  P5 society Bellechasse (2419) cancelled (not counted).
- EC 2027-01-10, tagged 1.3: outside the period (not counted).
A campaign tagged 1.2 (a draft: nothing sent).
Hand counts for 1.3 (EA + EB): registrations 3 + 2 = 5; attended heads (1 + 2) + (1 + 1)
= 5; people P1, P2, P3, P4 = 4. By clientele: youth 2 / 2 / 1, family 1 / 2 / 1,
schools 2 / 1 / 2. By MRC: Joliette 3 / 4 / 2, Montcalm 2 / 1 / 2.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from campaigns.models import Campaign, CampaignKind
from core.models import Role
from events import service as events_service
from events.schemas import EventIn
from people.models import Clientele, Person, PlanItem, Territory
from registrations.models import CheckIn, Registration, RegistrationStatus
from reports import accountability_export, plans
from reports.accountability import accountability
from reports.schemas import PlanItemIn
from tests.conftest import login
from tests.reports.helpers import SYSTEM, plan_from_csv

TZ = ZoneInfo("America/Toronto")


def local(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TZ)


async def _event(title: str, day: date, codes: list[str]):
    data = EventIn.model_validate(
        {
            "title": title,
            "kind": "regional_event",
            "starts_at": local(day),
            "ends_at": local(day, 16),
            "plan_items": codes,
        }
    )
    return await events_service.create_event(SYSTEM, data)


async def _person(name: str, clientele: str) -> Person:
    key = f"{name.lower()}@exemple.qc.ca"
    return await Person.create(
        first_name=name,
        last_name="Test",
        email=key,
        email_key=key,
        clientele=await Clientele.get(code=clientele),
    )


async def _register(event, person, territory, party=1, came=False, cancelled=False):
    status = RegistrationStatus.CANCELLED if cancelled else RegistrationStatus.CONFIRMED
    registration = await Registration.create(
        public_id=secrets.token_hex(8),
        ticket_code=secrets.token_hex(4).upper(),
        event=event,
        person=person,
        status=status,
        clientele_id=person.clientele_id,
        territory=await Territory.get(code=territory),
        party_size=party,
        active_key=None if cancelled else f"{event.id}:{person.id}",
    )
    if came:
        day = event.starts_at.astimezone(TZ).date()
        await CheckIn.create(
            event_id=event.id,
            registration=registration,
            day=day,
            active_key=f"{registration.id}:{day}",
            checked_in_at=event.starts_at,
        )


async def _data():
    plan = await plan_from_csv("plan_004_lanaudiere.csv", start=2024, end=2026)
    for code, parent, measure in (("1.3", "1", "people"), ("2.2", "2", "attended_headcount")):
        item = await PlanItem.get(plan_id=plan.id, code=code)
        await plans.update_item(
            SYSTEM,
            item.id,
            PlanItemIn(
                code=code,
                level="action",
                parent=parent,
                title=item.title,
                indicator=item.indicator,
                target=item.target,
                target_measure=measure,
            ),
        )
    p1, p2 = await _person("P1", "youth"), await _person("P2", "family")
    p3, p4 = await _person("P3", "schools"), await _person("P4", "schools")
    p5, p6 = await _person("P5", "society"), await _person("P6", "youth")
    ea = await _event("Événement régional annuel", date(2025, 11, 5), ["1.3"])
    eb = await _event("Transfert de connaissances", date(2026, 3, 10), ["1.3", "2.2"])
    ec = await _event("Hors période", date(2027, 1, 10), ["1.3"])
    await _register(ea, p1, "2461", came=True)
    await _register(ea, p2, "2461", party=2, came=True)
    await _register(ea, p3, "2463")
    await _register(eb, p1, "2461", came=True)
    await _register(eb, p4, "2463", came=True)
    await _register(eb, p5, "2419", cancelled=True)
    await _register(ec, p6, "2461")
    campaign = await Campaign.create(
        kind=CampaignKind.NEWSLETTER,
        name="Infolettre du chantier",
        purpose="newsletter",
        subject_fr="Nouvelles",
        body_fr="Bonjour",
    )
    await campaign.plan_items.add(await PlanItem.get(plan_id=plan.id, code="1.2"))
    return plan, (ea, eb, ec)


def _reach(figures):
    return (figures["registrations"], figures["attended_headcount"], figures["people"])


async def test_report_table_against_hand_counts(db):
    plan, (ea, eb, _ec) = await _data()
    report = await accountability(SYSTEM, plan.id)
    assert (report.date_from, report.date_to) == (date(2024, 1, 1), date(2026, 12, 31))
    by_code = {entry.item.code: entry for entry in report.items}
    assert [e.item.code for e in report.items] == [
        "P", "1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "3", "3.1", "3.2",
    ]  # fmt: skip
    action = by_code["1.3"]
    assert (action.events_count, _reach(action.totals)) == (2, (5, 5, 4))
    assert [(r["clientele"], *_reach(r)) for r in action.by_clientele] == [
        ("youth", 2, 2, 1),
        ("family", 1, 2, 1),
        ("schools", 2, 1, 2),
    ]
    assert [(r["territory"], *_reach(r)) for r in action.by_territory] == [
        ("2461", 3, 4, 2),
        ("2463", 2, 1, 2),
    ]
    assert [(e.id, _reach(e.figures)) for e in action.events] == [
        (ea.id, (3, 3, 3)),
        (eb.id, (2, 2, 2)),
    ]
    assert action.progress == {"measure": "people", "value": 4, "target": 150, "ratio": 0.0267}
    assert _reach(by_code["2.2"].totals) == (2, 2, 2)
    assert by_code["2.2"].progress == {
        "measure": "attended_headcount", "value": 2, "target": 80, "ratio": 0.025,
    }  # fmt: skip
    # Objectives and the axis count the events of the actions under them.
    assert (by_code["1"].events_count, _reach(by_code["1"].totals)) == (2, (5, 5, 4))
    assert by_code["1"].events == []  # listed under the action they are tagged with
    assert (by_code["P"].events_count, _reach(by_code["P"].totals)) == (2, (5, 5, 4))
    assert (by_code["3"].events_count, by_code["3"].reached) == (0, False)
    assert by_code["1.1"].progress == {"measure": "", "value": None, "target": 1, "ratio": None}
    assert [(c.name, c.sent, c.accepted) for c in by_code["1.2"].campaigns] == [
        ("Infolettre du chantier", 0, 0)
    ]
    assert [c.name for c in by_code["1"].campaigns] == ["Infolettre du chantier"]
    assert _reach(report.totals) == (5, 5, 4)
    # A shorter period keeps only EB.
    spring = await accountability(SYSTEM, plan.id, date(2026, 1, 1), date(2026, 6, 30))
    assert _reach({e.item.code: e for e in spring.items}["1.3"].totals) == (2, 2, 2)


async def test_exports_and_mask(db):
    plan, _events = await _data()
    report = await accountability(SYSTEM, plan.id)
    text = accountability_export.to_csv(report, ";").decode("utf-8")
    assert text.startswith("\ufeffCode;Niveau;Élément du plan")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    total_13 = next(r for r in rows if r[0] == "1.3" and r[7] == "Total")
    assert total_13[4:12] == ["150", "4", "2,7", "Total", "2", "5", "5", "4"]
    montcalm = next(r for r in rows if r[0] == "1.3" and r[7] == "MRC : Montcalm")
    assert montcalm[9:12] == ["2", "1", "2"]
    assert any(r[7] == "Campagne : Infolettre du chantier" for r in rows)
    workbook = load_workbook(io.BytesIO(accountability_export.to_xlsx(report)))
    sheet = workbook.active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Code"
    total = next(v for v in values if v[0] == "1.3" and v[7] == "Total")
    assert total[1:12] == [
        "action", "Organiser un événement régional annuel", "Personnes jointes par l'événement",
        150, 4, 2.7, "Total", 2, 5, 5, 4,
    ]  # fmt: skip
    masked = await accountability(SYSTEM, plan.id, mask=True)
    action = {e.item.code: e for e in masked.items}["1.3"]
    assert action.totals["masked"] and action.totals["people"] is None
    masked_csv = accountability_export.to_csv(masked).decode("utf-8")
    line = next(r for r in csv.reader(io.StringIO(masked_csv.lstrip("\ufeff"))) if r[0] == "1.3")
    assert line[9:12] == ["< 5", "< 5", "< 5"]


async def test_page_print_and_downloads(client):
    plan, _events = await _data()
    await login(client, Role.REVIEWER)
    page = await client.get(f"/admin/rapports/reddition?plan={plan.id}")
    assert page.status_code == 200
    assert "/static/css/accountability.css" in page.text
    assert "Organiser un événement régional annuel" in page.text
    assert "Événement régional annuel" in page.text
    css = await client.get("/static/css/accountability.css")
    assert "@media print" in css.text
    download = await client.get(
        f"/admin/rapports/reddition?plan={plan.id}&format=csv&sep=semicolon&mask=1"
    )
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.content.startswith(b"\xef\xbb\xbfCode;")
    assert "< 5" in download.content.decode("utf-8")
    xlsx = await client.get(f"/admin/rapports/reddition?plan={plan.id}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = await client.get(f"/admin/rapports/reddition?plan={plan.id}&from=2026-13-01")
    assert bad.status_code == 422
    assert "Date invalide" in bad.text
