"""The tablet's offline door rule (`decideOffline` in static/checkin/app.js) against the
case table of the server's rule (registrations/door_cases.json, also run against
`checkin.door_verdict` in tests/registrations/test_door_verdict.py).

Each case runs the real app in Chromium: the roster API answers a roster made from the
case (one registration with the case's status, the event's window as the server computes
it), every other API call fails as without network, the page's clock is the case's
moment, and the ticket code typed at the door is decided offline. A case with no
registration types a code absent from the roster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.settings import local_tz
from registrations.roster import ROW_FIELDS
from tests.registrations.door_cases import case_id, load_cases, moment_of, window_of

EVENT_ID = 4242
CODE = "CASE0001"
TITLE = "Cas de porte"


def _roster(case: dict[str, Any]) -> dict[str, Any]:
    """What /checkin/roster would send for this case (registrations.roster's shape)."""
    window = window_of(case)
    rows = []
    if case["status"] is not None:
        row = {
            "id": "DOORCASEREGISTRATION",
            "name": "Camille Cas",
            "clientele": "jeunes",
            "organization": "",
            "party_size": 1,
            "status": case["status"],
            "ticket_code": CODE,
            "checked_in_at": None,
        }
        rows.append([row[name] for name in ROW_FIELDS])
    moment = moment_of(case).astimezone(local_tz())
    return {
        "event": {
            "id": EVENT_ID,
            "title": TITLE,
            "starts_at": case["event"]["starts_at"],
            "ends_at": window.closes.isoformat(),
            "checkin_opens_at": window.opens.isoformat(),
            "timezone": local_tz().key,
            "allow_walkins_over_capacity": False,
        },
        "day": moment.date().isoformat(),
        "public_key": "",
        "payload_prefix": "RSB1:",
        "generated_at": moment.isoformat(),
        "clienteles": {"jeunes": "Jeunes"},
        "cursor": "",
        "full": True,
        "fields": list(ROW_FIELDS),
        "rows": rows,
        "removed": [],
        "counts": {"present": 0, "present_registrations": 0, "registered": len(rows)},
    }


@pytest.mark.parametrize("case", load_cases(), ids=case_id)
def test_the_offline_rule_follows_the_door_cases(live_server, browser, case):
    context = browser.new_context(locale="fr-CA", service_workers="block")
    roster = json.dumps(_roster(case))

    def api(route) -> None:
        if route.request.url.endswith(f"/api/v1/events/{EVENT_ID}/checkin/roster"):
            route.fulfill(status=200, content_type="application/json", body=roster)
        else:  # the scan itself, live counts, reference lists: no network
            route.abort("internetdisconnected")

    context.route("**/api/v1/**", api)
    try:
        page = context.new_page()
        page.clock.set_fixed_time(moment_of(case))
        page.goto(f"{live_server['base']}/checkin/{EVENT_ID}#token=door-cases")
        page.locator("#event-title").filter(has_text=TITLE).wait_for()
        page.get_by_label("Code du billet", exact=True).fill(CODE)
        page.get_by_role("button", name="Valider").click()
        answer = page.locator("#answer")
        answer.wait_for(state="visible")
        assert answer.get_attribute("data-result") == case["expected"], answer.inner_text()
        if case["status"] is not None:  # decided by decideOffline, not by the server
            assert page.locator("#answer-offline").is_visible()
    finally:
        context.close()
