"""The demo certification: the program with the issue's commitments and three levels, 20
employers across Lanaudière's six MRCs in every state, and what the public sees of them."""

from __future__ import annotations

from campaigns.certification import stats
from campaigns.certification.demo import PROGRAM_NAME, load_demo_certification
from campaigns.certification.models import Application, Certificate, Criterion, Level, Program
from people.reference import seed_plan_items


async def test_demo_certification(client, settings):
    await seed_plan_items()
    summary = await load_demo_certification(settings)
    assert summary.startswith("1 programme de certification, 20 employeurs")
    program = await Program.get(name=PROGRAM_NAME)
    assert [lvl.code for lvl in await Level.filter(program=program).order_by("min_points")] == [
        "bronze",
        "argent",
        "or",
    ]
    texts = " ".join(c.text_fr for c in await Criterion.filter(program=program))
    assert "17 heures" in texts and "10 heures" in texts and "examens" in texts
    assert [p.code for p in await program.plan_items.all()] == ["5.1.2"]
    statuses = set(await Application.all().values_list("status", flat=True))
    assert statuses == {
        "draft",
        "submitted",
        "under_review",
        "changes_requested",
        "certified",
        "refused",
        "expiring",
        "renewed",
        "lapsed",
        "revoked",
    }
    assert await Certificate.filter(status="renewed").count() == 1
    # The directory: certified and consenting, every MRC of Lanaudière.
    body = (await client.get("/api/v1/certification/directory?territory=14&per_page=50")).json()
    assert body["total"] == 10
    mrcs = {item["territory"]["code"] for item in body["items"]}
    assert mrcs == {"2452", "2460", "2461", "2462", "2463", "2464"}
    assert "Garage Leblanc et fils" not in {i["employer"] for i in body["items"]}  # no consent
    totals = await stats.certified_employers()
    assert totals[0]["employers"] == 11
    by_plan = await stats.certified_by_plan_item()
    assert by_plan[0]["plan_item"] == "5.1.2" and by_plan[0]["employers"] == 11
    # Loading again adds nothing.
    assert await load_demo_certification(settings) == "certification déjà chargée"
    assert await Application.all().count() == 21  # 20 employers + 1 renewal
