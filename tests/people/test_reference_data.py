"""The bundled reference data: every region's territories, loaded by `migrate`."""

from __future__ import annotations

import csv

from people import reference
from people.models import Territory, TerritoryKind

# What the first bundled file held: the 17 regions, and the MRCs of three of them.
OLD_REGIONS_WITH_MRCS = {"12", "14", "16"}


def bundled_rows() -> list[dict[str, str]]:
    with reference.TERRITORIES_CSV.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


async def test_bundled_territories_cover_every_region(db):
    groups = await reference.territories_by_region()
    assert len(groups) == 17
    assert all(mrcs for _region, mrcs in groups), [r.code for r, mrcs in groups if not mrcs]
    by_code = {region.code: [m.name for m in mrcs] for region, mrcs in groups}
    assert "Memphrémagog" in by_code["05"] and len(by_code["05"]) == 9
    assert len(by_code["09"]) == 4
    assert await Territory.all().count() == len(bundled_rows())


async def test_migrate_adds_new_territories_and_keeps_edited_ones(db):
    # A database loaded from the old three-region file, where an administrator then renamed
    # an MRC and retired another.
    old_codes = {
        row["code"]
        for row in bundled_rows()
        if row["kind"] == TerritoryKind.REGION or row["region_code"] in OLD_REGIONS_WITH_MRCS
    }
    await Territory.filter(kind=TerritoryKind.MRC).exclude(code__in=old_codes).delete()
    assert not await Territory.exists(parent__code="05")
    await Territory.filter(code="2461").update(name="MRC de Joliette")
    await Territory.filter(code="2464").update(active=False)
    before = await Territory.all().count()

    report = await reference.ensure_reference_data()

    added = len(bundled_rows()) - before
    assert added > 50
    assert f"{added} territoires ajoutés" in report
    assert await Territory.all().count() == len(bundled_rows())
    assert (await Territory.get(code="2461")).name == "MRC de Joliette"
    assert (await Territory.get(code="2464")).active is False
    memphre = await Territory.get(code="2445").select_related("parent")
    assert (memphre.name, memphre.parent.code) == ("Memphrémagog", "05")
    # Again: nothing to do.
    assert "0 territoires ajoutés" in await reference.ensure_reference_data()
