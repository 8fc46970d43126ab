"""What the other packages feed into the accountability report and the dashboard targets:
employers certified by the programs tagged with an action count toward its target
("certified_employers"), and each event line carries its evaluation (mean satisfaction and
response rate, issue 17 item 3), hidden when the report is masked and fewer than 5 answered.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from campaigns.certification.models import CertificateStatus
from evaluations import answering, sending
from people.models import PlanItem
from reports import accountability_export, plans
from reports.accountability import accountability
from reports.schemas import PlanItemIn
from reports.targets import plan_progress
from tests.certification.certified import certified, program
from tests.evaluations.factories import make_form, past_event, registrant
from tests.evaluations.factories import token_for as link_for
from tests.reports.helpers import SYSTEM, plan_from_csv

YEAR = datetime.now(UTC).year


async def _target(plan_id: int, code: str, target: int, measure: str) -> PlanItem:
    item = await PlanItem.get(plan_id=plan_id, code=code).prefetch_related("parent")
    await plans.update_item(
        SYSTEM,
        item.id,
        PlanItemIn(
            code=code,
            level="action",
            parent=item.parent.code if item.parent else None,
            title=item.title,
            indicator=item.indicator,
            target=target,
            target_measure=measure,
        ),
    )
    return await PlanItem.get(id=item.id)


async def test_certified_employers_count_toward_the_target(db):
    plan = await plan_from_csv("plan_004_lanaudiere.csv", start=YEAR - 1, end=YEAR + 1)
    item = await _target(plan.id, "1.2", 10, "certified_employers")
    tagged = await program("Programme régional")
    await tagged.plan_items.add(item)
    untagged = await program("Programme sans action")
    await certified(tagged, "Quincaillerie Joliette")
    await certified(tagged, "Boulangerie Montcalm", territory="2463")
    await certified(
        tagged,
        "Garage révoqué",
        status=CertificateStatus.REVOKED,
        revoked_at=datetime.now(UTC) - timedelta(days=2),
    )
    await certified(untagged, "Épicerie d'un autre programme")

    report = await accountability(SYSTEM, plan.id)
    progress = {e.item.code: e.progress for e in report.items}["1.2"]
    assert progress == {"measure": "certified_employers", "value": 2, "target": 10, "ratio": 0.2}

    targets = await plan_progress(SYSTEM, YEAR, datetime.now(UTC), plan.id)
    assert targets is not None
    line = next(line for line in targets.lines if line.code == "1.2")
    assert (line.measure, line.value, line.target) == ("certified_employers", 2, 10)


async def test_event_lines_carry_their_evaluation(db, settings):
    plan = await plan_from_csv("plan_004_lanaudiere.csv", start=YEAR - 1, end=YEAR + 1)
    item = await PlanItem.get(plan_id=plan.id, code="1.3")
    event = await past_event("Colloque régional")
    await event.plan_items.add(item)
    await make_form(event)
    answered = [await registrant(event, attended=True) for _ in range(2)]
    await registrant(event, attended=True)  # invited, never answers
    assert await sending.send_now(SYSTEM, settings, event.id) == 3
    for registration, rating in zip(answered, (5, 2), strict=True):
        link = await link_for(settings, registration)
        await answering.save_answers(settings, link, {"satisfaction": rating}, complete=True)

    report = await accountability(SYSTEM, plan.id)
    line = {e.item.code: e for e in report.items}["1.3"].events[0]
    assert line.evaluation is not None
    assert (line.evaluation.mean_satisfaction, line.evaluation.responses) == (3.5, 2)
    rows = list(csv.reader(io.StringIO(accountability_export.to_csv(report).decode()[1:])))
    assert rows[0][-2:] == ["Satisfaction moyenne (1 à 5)", "Taux de réponse à l'évaluation (%)"]
    event_row = next(r for r in rows if r[7].startswith("Événement : Colloque régional"))
    assert event_row[-2:] == ["3.5", "66.7"]

    # Two answers: fewer than 5, hidden in a masked report.
    masked = await accountability(SYSTEM, plan.id, mask=True)
    assert {e.item.code: e for e in masked.items}["1.3"].events[0].evaluation is None


def test_one_rule_counts_toward_a_target():
    """`reports.targets.target_value` / `target_share`: what the dashboard's targets and
    the accountability report both read."""
    from reports.targets import target_share, target_value

    reach = {"people": 12, "organizations": None, "registrations": 30}
    assert target_value("people", reach, events=3, certified=2) == 12
    assert target_value("organizations", reach, events=3, certified=2) is None  # masked
    assert target_value("attended_headcount", reach, events=3, certified=2) == 0  # no row
    assert target_value("events", reach, events=3, certified=2) == 3
    assert target_value("certified_employers", reach, events=3, certified=2) == 2
    assert target_value("", reach, events=3, certified=2) is None
    assert target_value(None, reach, events=3, certified=2) is None
    assert target_share(12, 200) == 0.06
    assert target_share(250, 200) == 1.25
    assert target_share(None, 200) is None
    assert target_share(5, 0) is None
    assert target_share(5, None) is None
