"""Certification figures for the reports: employers certified by MRC, sector and level and
the student employees they cover, today or on a past day, counted once per employer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from campaigns.certification import stats
from campaigns.certification.models import CertificateStatus
from tests.certification.certified import certified, program, tag

NOW = datetime.now(UTC)


async def test_totals_and_groups(db):
    prog = await program()
    await certified(prog, "A", territory="2461", sector="retail", level="or", students=4)
    await certified(prog, "B", territory="2461", sector="food_service", students=6)
    await certified(prog, "C", territory="2462", sector="retail", level="bronze", students=1)
    await certified(prog, "D (sans consentement)", territory="2462", publish=False, students=2)
    await certified(prog, "E", status=CertificateStatus.REVOKED, revoked_at=NOW, students=50)
    await certified(
        prog,
        "F",
        status=CertificateStatus.LAPSED,
        issued_at=NOW - timedelta(days=800),
        valid_until=NOW - timedelta(days=50),
        students=50,
    )
    assert await stats.certified_employers() == [{"employers": 4, "student_employees": 13}]
    by_mrc = await stats.certified_employers(group_by=["territory"])
    assert by_mrc == [
        {
            "territory": "2461",
            "territory_name": "Joliette",
            "employers": 2,
            "student_employees": 10,
        },
        {
            "territory": "2462",
            "territory_name": "Matawinie",
            "employers": 2,
            "student_employees": 3,
        },
    ]
    by_level_sector = [
        {k: v for k, v in row.items() if k != "sector_label"}
        for row in await stats.certified_employers(group_by=["level", "sector"])
    ]
    assert by_level_sector == [
        {
            "level": "argent",
            "level_name": "Argent",
            "sector": "food_service",
            "employers": 1,
            "student_employees": 6,
        },
        {
            "level": "argent",
            "level_name": "Argent",
            "sector": "retail",
            "employers": 1,
            "student_employees": 2,
        },
        {
            "level": "bronze",
            "level_name": "Bronze",
            "sector": "retail",
            "employers": 1,
            "student_employees": 1,
        },
        {
            "level": "or",
            "level_name": "Or",
            "sector": "retail",
            "employers": 1,
            "student_employees": 4,
        },
    ]
    by_sector = await stats.certified_employers(group_by=["sector"])
    assert [(r["sector"], r["sector_label"], r["employers"]) for r in by_sector] == [
        ("food_service", "Restauration et alimentation", 1),
        ("retail", "Commerce de détail", 3),
    ]
    assert await stats.certified_employers(territory="2461", sector="retail") == [
        {"employers": 1, "student_employees": 4}
    ]
    assert await stats.certified_employers(territory="14", level="argent") == [
        {"employers": 2, "student_employees": 8}
    ]
    assert await stats.certified_employers(territory="9999") == [
        {"employers": 0, "student_employees": 0}
    ]


async def test_an_employer_certified_by_two_programs_counts_once(db):
    first, second = await program("Programme A"), await program("Programme B")
    cert = await certified(first, "Double", students=7)
    await cert.fetch_related("application")
    await certified(second, "Double", employer=await cert.application.employer, level="or")
    assert await stats.certified_employers() == [{"employers": 1, "student_employees": 7}]
    by_level = await stats.certified_employers(group_by=["level"])
    assert [(r["level"], r["employers"]) for r in by_level] == [("argent", 1), ("or", 1)]


async def test_a_past_day(db):
    prog = await program()
    day = (NOW - timedelta(days=100)).date()
    # Certified then, revoked since: counted on that day, not today.
    await certified(
        prog,
        "Révoqué depuis",
        status=CertificateStatus.REVOKED,
        issued_at=NOW - timedelta(days=200),
        revoked_at=NOW - timedelta(days=10),
        students=2,
    )
    # Certified after that day: not counted then.
    await certified(prog, "Nouveau", issued_at=NOW - timedelta(days=20), students=5)
    # Renewed 50 days ago at another level: the old certificate counts until then only.
    old = await certified(
        prog,
        "Renouvelé",
        status=CertificateStatus.RENEWED,
        issued_at=NOW - timedelta(days=700),
        valid_until=NOW + timedelta(days=30),
        level="bronze",
        students=3,
    )
    await old.fetch_related("application")
    await certified(
        prog,
        "Renouvelé",
        employer=await old.application.employer,
        previous=old.application,
        issued_at=NOW - timedelta(days=50),
        valid_until=NOW + timedelta(days=760),
        level="or",
    )
    then = await stats.certified_employers(on=day, group_by=["level"])
    assert [(r["level"], r["employers"], r["student_employees"]) for r in then] == [
        ("argent", 1, 2),
        ("bronze", 1, 3),
    ]
    recent = await stats.certified_employers(
        on=(NOW - timedelta(days=15)).date(), group_by=["level"]
    )
    assert [(r["level"], r["employers"]) for r in recent] == [("argent", 2), ("or", 1)]
    today = await stats.certified_employers(group_by=["level"])
    assert [(r["level"], r["employers"]) for r in today] == [("argent", 1), ("or", 1)]
    assert await stats.certified_employers(on=date(2000, 1, 1)) == [
        {"employers": 0, "student_employees": 0}
    ]


async def test_by_plan_item(db):
    tagged, other = await program("Programme régional"), await program("Programme sans action")
    await tag(tagged, "5.1.2")
    await certified(tagged, "A", students=3)
    await certified(tagged, "B", territory="2462", students=2)
    await certified(other, "C", students=9)
    rows = await stats.certified_by_plan_item()
    assert rows == [
        {
            "plan_item": "5.1.2",
            "plan_item_title": "Reconnaître les employeurs engagés",
            "employers": 2,
            "student_employees": 5,
        }
    ]
    assert (await stats.certified_by_plan_item(territory="2462"))[0]["employers"] == 1


async def test_unknown_group_is_refused(db):
    with pytest.raises(stats.StatsError):
        await stats.certified_employers(group_by=["colour"])
