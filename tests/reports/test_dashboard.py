"""The participation dashboard (`/admin/rapports`) through the ASGI app: the numbers it
shows are the participation report's, counted by hand from tests/reports/dataset.py; its
filters live in the URL (a GET form: a view can be bookmarked); bad filter values are
said and ignored, never a 500; `reports.view` is required."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest

from core.models import Role
from core.settings import local_tz
from tests.conftest import login
from tests.reports.dataset import build

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def data(db: Any) -> Any:
    return await build()


def text_of(html: str) -> str:
    """The page's text, tags removed and spaces collapsed (no-break spaces as spaces)."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).replace("\xa0", " ")


def cards(html: str) -> dict[str, str]:
    found = re.findall(
        r'<span class="report-card-label">(.*?)</span>\s*'
        r'<strong class="report-card-value">(.*?)</strong>\s*'
        r'<span class="report-card-previous">(.*?)</span>',
        html,
        flags=re.S,
    )
    return {
        unescape(label): text_of(value) + " | " + text_of(previous)
        for label, value, previous in found
    }


def table_after(html: str, caption_start: str) -> list[list[str]]:
    """The rows (header cell first) of the table whose caption starts so."""
    start = html.index(f"<caption>{caption_start}")
    body = html[start : html.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S)
    return [
        [text_of(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in rows
    ]


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


async def test_the_year_at_a_glance_matches_the_hand_counts(client, data):
    await login(client, Role.ORGANIZER)
    page = await client.get("/admin/rapports", params={"year": "2026"})
    assert page.status_code == 200
    html = page.text
    shown = cards(html)
    # 2026 (E1, E2) against the same dates of 2025 (E0: P1 came, alone).
    assert shown == {
        "Événements tenus": "2 | Un an plus tôt : 1 (+100 %)",
        "Inscriptions": "10 | Un an plus tôt : 1 (+900 %)",
        "Présences": "14 | Un an plus tôt : 1 (+1 300 %)",
        "Personnes jointes": "7 | Un an plus tôt : 1 (+600 %)",
        "Nouvelles personnes": "6 | Un an plus tôt : 1 (+500 %)",
        "Organismes joints": "2 | Un an plus tôt : 0 (non comparable)",
        "Taux de présence": "73,3 % | Un an plus tôt : 100 % (-26,7 points)",
    }
    # By clientele and by participant MRC: the table under each chart.
    by_clientele = table_after(html, "Participation par clientèle cible")
    assert by_clientele == [
        ["Jeunes et adultes concernés", "2", "2", "1", "50 %", "2", "1", "0"],
        [
            "Environnement immédiat (famille, intervenants proches)",
            "4",
            "8",
            "11",
            "100 %",
            "2",
            "2",
            "1",
        ],
        [
            "Institutions scolaires, organismes de soutien et communautaires",
            "2",
            "2",
            "1",
            "50 %",
            "1",
            "1",
            "1",
        ],
        ["Entreprises, société en général", "2", "3", "1", "33,3 %", "2", "2", "1"],
    ]
    by_mrc = {
        row[0]: row[1:] for row in table_after(html, "Participation par MRC des participants")
    }
    assert by_mrc["Joliette"] == ["4", "8", "10", "87,5 %", "3", "2", "1"]
    assert by_mrc["Montcalm"] == ["4", "4", "3", "75 %", "2", "2", "1"]
    assert by_mrc["Bellechasse"] == ["1", "1", "1", "100 %", "1", "1", "1"]
    assert by_mrc["Non précisé"] == ["1", "2", "0", "0 %", "1", "1", "1"]
    # Month by month (attended heads), against the same months of 2025.
    months = {row[0]: row[1:] for row in table_after(html, "Présences par mois")}
    assert months["févr."] == ["6", "0"] and months["mars"] == ["8", "0"]
    assert months["mai"] == ["0", "1"]
    today = datetime.now(UTC).astimezone(local_tz()).date()
    assert len(months) == (today.month if today.year == 2026 else 12)


async def test_charts_say_their_numbers_in_words(client, data):
    await login(client, Role.ORGANIZER)
    html = (await client.get("/admin/rapports", params={"year": "2026"})).text
    charts = svgs(html)
    assert len(charts) == 3
    for chart in charts:
        assert chart.get("role") in {"img", "group"}
        title_id, desc_id = chart.get("aria-labelledby"), chart.get("aria-describedby")
        assert chart.find(f"{SVG}title").get("id") == title_id
        assert chart.find(f"{SVG}desc").get("id") == desc_id
    clientele, territory, months = charts
    assert clientele.find(f"{SVG}title").text == "Présences par clientèle cible"
    assert "Environnement immédiat (famille, intervenants proches) : 11" in (
        clientele.find(f"{SVG}desc").text
    )
    # MRC bars: biggest first, each a link to the dashboard filtered on its MRC.
    links = [a.get("href") for a in territory.iter(f"{SVG}a")]
    assert links[0] == "/admin/rapports?year=2026&territory=2461"
    assert "févr. : Période choisie 6, Un an plus tôt 0" in months.find(f"{SVG}desc").text


async def test_filters_are_in_the_url_and_change_the_numbers(client, data):
    await login(client, Role.REVIEWER)
    page = await client.get(
        "/admin/rapports", params={"year": "2026", "clientele": "family", "measure": "headcount"}
    )
    assert page.status_code == 200
    html = page.text
    shown = cards(html)
    assert shown["Inscriptions"].startswith("4 |")
    assert shown["Présences"].startswith("11 |")
    assert shown["Personnes jointes"].startswith("2 |")
    # The form is a GET form that shows the filters as chosen (a bookmarkable view).
    assert '<form class="card report-filters" method="get" action="/admin/rapports"' in html
    assert '<option value="family" selected>' in html
    assert '<option value="headcount" selected>' in html
    assert '<option value="2026" selected>' in html
    assert "Les événements tenus ne dépendent pas des filtres sur les participants" in html
    # The export links carry the same filters.
    assert (
        'href="/api/v1/reports/participation?group_by=clientele%2Cterritory&amp;from=2026-01-01'
        in html
    )
    assert "clientele=family" in html.split("Exporter ces chiffres", 1)[1]
    # Dates instead of a year; a kind; an edition.
    page = await client.get("/admin/rapports", params={"from": "2026-03-01", "to": "2026-03-31"})
    assert cards(page.text)["Inscriptions"].startswith("4 |")  # E2 only
    assert cards(page.text)["Événements tenus"].startswith("1 |")
    assert 'value="2026-03-01"' in page.text
    edition = data.events["ED"].id
    page = await client.get("/admin/rapports", params={"year": "2026", "edition_id": edition})
    assert cards(page.text)["Inscriptions"].startswith("6 |")  # E1, the JPS activity
    assert cards(page.text)["Événements tenus"].startswith("1 |")
    page = await client.get("/admin/rapports", params={"year": "2026", "kind": "training"})
    assert cards(page.text)["Présences"].startswith("8 |")


@pytest.mark.parametrize(
    "params, field",
    [
        ({"year": "deux mille"}, "Année invalide."),
        ({"from": "2026-13-45"}, "Date invalide"),
        ({"from": "2026-05-01", "to": "2026-01-01"}, "La date de fin précède la date de début."),
        ({"clientele": "martiens"}, "Clientèle inconnue."),
        ({"territory": "9999"}, "Territoire inconnu."),
        ({"kind": "<script>"}, "Type d&#39;événement inconnu."),
        ({"edition_id": "-1"}, "Identifiant invalide."),
        ({"measure": "x" * 500}, "Mesure inconnue."),
        ({"plan_item": "Z.9"}, "Élément du plan inconnu."),
    ],
)
async def test_bad_filters_are_said_and_ignored(client, data, params, field):
    await login(client, Role.ORGANIZER)
    page = await client.get("/admin/rapports", params=params)
    assert page.status_code == 200
    assert field in page.text
    assert "<script>" not in page.text


async def test_needs_reports_view(client, data):
    await login(client, Role.CHECKIN)
    assert (await client.get("/admin/rapports")).status_code == 403
    home = (await client.get("/admin")).text
    assert "/admin/rapports" not in home and "en chiffres" not in home


async def test_anonymous_is_sent_to_login(client, data):
    page = await client.get("/admin/rapports?year=2026", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")


async def test_export_links_give_the_same_numbers(client, data):
    await login(client, Role.ORGANIZER)
    html = (await client.get("/admin/rapports", params={"year": "2026", "territory": "2461"})).text
    exports = html.split("Exporter ces chiffres", 1)[1]
    json_link = unescape(re.search(r'href="([^"]+)">API JSON', exports).group(1))
    answer = await client.get(json_link)
    assert answer.status_code == 200
    totals = answer.json()["totals"]
    shown = cards(html)
    assert shown["Inscriptions"].startswith(f"{totals['registrations']} |")
    assert shown["Présences"].startswith(f"{totals['attended_headcount']} |")
    assert (totals["registrations"], totals["attended_headcount"]) == (4, 10)
    csv_link = unescape(re.search(r'href="([^"]+)">séparateur', exports).group(1))
    csv = await client.get(csv_link)
    assert csv.status_code == 200
    assert csv.content.startswith("\ufeff".encode())
    assert ";" in csv.text.splitlines()[0]


async def test_home_page_shows_the_year_so_far_and_links_to_the_dashboard(client, data):
    await login(client, Role.ORGANIZER)
    html = (await client.get("/admin")).text
    today = datetime.now(UTC).astimezone(local_tz()).date()
    assert f"{today.year} en chiffres, à ce jour" in html
    figures = dict(
        (label, text_of(value))
        for value, label in re.findall(
            r'<strong class="figure-value">(.*?)</strong>\s*'
            r'<span class="figure-label">(.*?)</span>',
            html,
        )
    )
    if today.year == 2026:  # the data set's year: E1 and E2 are over
        assert figures["événements tenus"] == "2"
        assert figures["présences"] == "14"
        assert figures["personnes jointes"] == "7"
        assert figures["nouvelles personnes"] == "6"
    assert f'href="/admin/rapports?year={today.year}"' in html


async def test_progress_toward_the_plan_targets(client, data):
    items = data.items
    plan_id = items["1.1.3"].plan_id
    for code, target, measure, indicator in (
        ("1.1.3", 10, "people", "Personnes jointes par les colloques"),
        ("2.2.1", 4, "events", ""),
        ("1.1.1", 200, "certified_employers", "200 employeurs certifiés"),
    ):
        items[code].target, items[code].target_measure = target, measure
        items[code].indicator = indicator
        await items[code].save()
    await login(client, Role.ORGANIZER)
    # Whatever the view's filters: a target is the plan's (over its whole period).
    page = await client.get(
        "/admin/rapports", params={"year": "2026", "clientele": "youth", "plan_id": plan_id}
    )
    html = page.text
    assert "Progression vers les cibles du plan d'action" in html
    rows = {row[0]: row[1:] for row in table_after(html, "Cibles du plan")}
    assert rows == {
        "1.1.1 Élément 1.1.1": [
            "200 employeurs certifiés",
            "employeurs certifiés",
            "0",
            "200",
            "0 %",
        ],
        "1.1.3 Élément 1.1.3": [
            "Personnes jointes par les colloques",
            "personnes jointes",
            "7",
            "10",
            "70 %",
        ],
        "2.2.1 Élément 2.2.1": ["—", "événements tenus", "1", "4", "25 %"],
    }
    chart = next(c for c in svgs(html) if "cibles" in c.find(f"{SVG}title").text)
    desc = chart.find(f"{SVG}desc").text
    assert "1.1.3 Personnes jointes par les colloques : 7 / 10 (70 %)" in desc
    assert "1.1.1 200 employeurs certifiés : 0 / 200 (0 %)" in desc
    # A plan without any target says so.
    items["1.1.3"].target = items["2.2.1"].target = items["1.1.1"].target = None
    for code in ("1.1.3", "2.2.1", "1.1.1"):
        await items[code].save()
    page = await client.get("/admin/rapports", params={"year": "2026", "plan_id": plan_id})
    assert "Aucune action de ce plan n'a de cible chiffrée." in page.text


async def test_plan_item_filter_reads_the_plan_listed(client, data):
    await login(client, Role.ORGANIZER)
    page = await client.get("/admin/rapports", params={"year": "2026", "plan_item": "2.2.1"})
    assert page.status_code == 200
    assert cards(page.text)["Inscriptions"].startswith("4 |")  # E2 only
    assert cards(page.text)["Événements tenus"].startswith("1 |")
    assert '<option value="2.2.1" selected>' in page.text
