"""A data set where every grouping of the participation report matters.

Hand-computed expectations are written as literal numbers in the tests; the data:

Events (local time, America/Toronto; "now" is real time, so 2025/2026 events are over):
- E0 2025-05-10 activity in Joliette (2461): P1 came (P1's first participation).
- ED "JPS 2026" (edition, no registration of its own), parent of E1.
- E1 2026-02-16 9 h–12 h regional event in Joliette (2461), plan item 1.1.3 (axis A).
- E2 2026-03-10 9 h → 2026-03-11 16 h (two days) training in Montcalm (2463),
  plan items 2.2.1 (axis B), 1.1.3 and 1.1.1 (both axis A).
- E3 2030-06-01 meeting in Bellechasse (2419), no plan item (future).

Registrations (id: person, clientele, participant MRC, organization, party, outcome):
- r01 E0: P1 youth 2461 — checked in.
- r11 E1: P1 youth 2461 — checked in.
- r12 E1: P2 family 2461 École — party 3, checked in.
- r13 E1: P3 schools 2463 École — no show.
- r14 E1: P4 society 2419 Entreprise — walk-in (checked in).
- r15 E1: P5 youth 2463 — party 2, cancelled (not counted).
- r16 E1: P6 schools 2461 — waitlisted (not counted).
- r17 E1: P7 family 2463 — checked in; P7 is erased afterwards.
- r18 E1: P8 youth 2461 — check-in undone: a no-show.
- r21 E2: P2 family 2461 École — party 3, checked in on both days.
- r22 E2: P3 schools 2463 École — checked in on day 1.
- r23 E2: P9 society (no MRC) Entreprise — party 2, no show.
- r24 E2: P7 family 2463 — checked in on day 2.
- r25 E2: P10 youth — awaiting approval (not counted).
- r31 E3: P1 youth 2461 — confirmed (future).
- r32 E3: P11 society 2419 Entreprise — party 4, confirmed (future).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from core.auth import Principal
from events.models import Event, EventKind, EventStatus
from people.models import (
    Clientele,
    Organization,
    Person,
    Plan,
    PlanItem,
    PlanLevel,
    Sector,
    Territory,
)
from people.privacy import erase_person
from registrations.models import CheckIn, Registration, RegistrationSource, RegistrationStatus

TZ = ZoneInfo("America/Toronto")
SYSTEM = Principal.system("tests")


def local(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


@dataclass
class Data:
    events: dict[str, Event] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    registrations: dict[str, Registration] = field(default_factory=dict)
    items: dict[str, PlanItem] = field(default_factory=dict)


async def make_event(
    title: str,
    kind: EventKind,
    starts: datetime,
    ends: datetime,
    territory: str | None = None,
    parent: Event | None = None,
) -> Event:
    return await Event.create(
        uid=secrets.token_hex(8),
        kind=kind,
        title=title,
        starts_at=starts,
        ends_at=ends,
        territory=await Territory.get(code=territory) if territory else None,
        parent=parent,
        status=EventStatus.PUBLISHED,
    )


async def plan_items() -> dict[str, PlanItem]:
    tree = [
        ("A", PlanLevel.AXIS, None),
        ("1", PlanLevel.ORIENTATION, "A"),
        ("1.1", PlanLevel.OBJECTIVE, "1"),
        ("1.1.1", PlanLevel.ACTION, "1.1"),
        ("1.1.3", PlanLevel.ACTION, "1.1"),
        ("B", PlanLevel.AXIS, None),
        ("2", PlanLevel.ORIENTATION, "B"),
        ("2.2", PlanLevel.OBJECTIVE, "2"),
        ("2.2.1", PlanLevel.ACTION, "2.2"),
    ]
    plan = await Plan.create(name="Plan régional 2023-2028", period_start=2023, period_end=2028)
    items: dict[str, PlanItem] = {}
    for code, level, parent in tree:
        item = await PlanItem.create(
            plan=plan,
            code=code,
            level=level,
            title=f"Élément {code}",
            parent=items.get(parent or ""),
        )
        item.axis_id = item.id if parent is None else items[parent or ""].axis_id
        await item.save(update_fields=["axis_id"])
        items[code] = item
    # Another plan, whose axis "X" tags E2 only (the plan filter keeps one plan's items).
    other = await Plan.create(name="Plan 2029-2034", period_start=2029, period_end=2034)
    items["X"] = await PlanItem.create(plan=other, code="X", level=PlanLevel.AXIS, title="Autre")
    items["X"].axis_id = items["X"].id
    await items["X"].save(update_fields=["axis_id"])
    return items


async def register(
    event: Event,
    person: Person,
    clientele: str,
    territory: str | None,
    *,
    organization: Organization | None = None,
    party: int = 1,
    status: RegistrationStatus = RegistrationStatus.CONFIRMED,
    source: RegistrationSource = RegistrationSource.FORM,
    days: tuple[date, ...] = (),
    undone: tuple[date, ...] = (),
) -> Registration:
    registration = await Registration.create(
        public_id=secrets.token_hex(8),
        ticket_code=secrets.token_hex(4).upper(),
        event=event,
        person=person,
        status=status,
        clientele=await Clientele.get(code=clientele),
        territory=await Territory.get(code=territory) if territory else None,
        organization=organization,
        party_size=party,
        source=source,
    )
    for day in days:
        await CheckIn.create(
            event=event,
            registration=registration,
            day=day,
            active_key=f"{registration.id}:{day.isoformat()}",
            checked_in_at=local(day, 9, 5),
        )
    for day in undone:
        await CheckIn.create(
            event=event,
            registration=registration,
            day=day,
            active_key=None,
            checked_in_at=local(day, 9, 5),
            undone_at=local(day, 9, 10),
        )
    return registration


async def build() -> Data:
    data = Data()
    data.items = await plan_items()
    school = await Organization.create(
        name="École secondaire A", name_key="ecole secondaire a", sector=Sector.EDUCATION
    )
    business = await Organization.create(
        name="Entreprise B", name_key="entreprise b", sector=Sector.BUSINESS
    )
    for n in range(1, 12):
        data.people[f"P{n}"] = await Person.create(
            first_name=f"Prénom{n}",
            last_name=f"Nom{n}",
            email=f"p{n}@exemple.qc.ca",
            email_key=f"p{n}@exemple.qc.ca",
        )
    p = data.people
    e0 = await make_event(
        "Activité 2025",
        EventKind.ACTIVITY,
        local(date(2025, 5, 10)),
        local(date(2025, 5, 10), 12),
        "2461",
    )
    ed = await make_event(
        "JPS 2026",
        EventKind.PERSEVERANCE_DAYS,
        local(date(2026, 2, 16), 0),
        local(date(2026, 2, 20), 23, 59),
    )
    e1 = await make_event(
        "Colloque JPS",
        EventKind.REGIONAL_EVENT,
        local(date(2026, 2, 16)),
        local(date(2026, 2, 16), 12),
        "2461",
        parent=ed,
    )
    e2 = await make_event(
        "Formation de deux jours",
        EventKind.TRAINING,
        local(date(2026, 3, 10)),
        local(date(2026, 3, 11), 16),
        "2463",
    )
    e3 = await make_event(
        "Comité 2030",
        EventKind.MEETING,
        local(date(2030, 6, 1)),
        local(date(2030, 6, 1), 12),
        "2419",
    )
    data.events = {"E0": e0, "ED": ed, "E1": e1, "E2": e2, "E3": e3}
    items = data.items
    await e1.plan_items.add(items["1.1.3"])
    await e2.plan_items.add(items["2.2.1"], items["1.1.3"], items["1.1.1"], items["X"])
    d0, d1, d2a, d2b = date(2025, 5, 10), date(2026, 2, 16), date(2026, 3, 10), date(2026, 3, 11)
    c, w = RegistrationStatus, RegistrationSource
    r = data.registrations
    r["r01"] = await register(e0, p["P1"], "youth", "2461", days=(d0,))
    r["r11"] = await register(e1, p["P1"], "youth", "2461", days=(d1,))
    r["r12"] = await register(
        e1, p["P2"], "family", "2461", organization=school, party=3, days=(d1,)
    )
    r["r13"] = await register(e1, p["P3"], "schools", "2463", organization=school)
    r["r14"] = await register(
        e1, p["P4"], "society", "2419", organization=business, source=w.WALKIN, days=(d1,)
    )
    r["r15"] = await register(e1, p["P5"], "youth", "2463", party=2, status=c.CANCELLED)
    r["r16"] = await register(e1, p["P6"], "schools", "2461", status=c.WAITLISTED)
    r["r17"] = await register(e1, p["P7"], "family", "2463", days=(d1,))
    r["r18"] = await register(e1, p["P8"], "youth", "2461", undone=(d1,))
    r["r21"] = await register(
        e2, p["P2"], "family", "2461", organization=school, party=3, days=(d2a, d2b)
    )
    r["r22"] = await register(e2, p["P3"], "schools", "2463", organization=school, days=(d2a,))
    r["r23"] = await register(e2, p["P9"], "society", None, organization=business, party=2)
    r["r24"] = await register(e2, p["P7"], "family", "2463", days=(d2b,))
    r["r25"] = await register(e2, p["P10"], "youth", None, status=c.PENDING_APPROVAL)
    r["r31"] = await register(e3, p["P1"], "youth", "2461")
    r["r32"] = await register(e3, p["P11"], "society", "2419", organization=business, party=4)
    await erase_person(SYSTEM, p["P7"].id)
    return data
