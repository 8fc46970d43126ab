"""Server-side SVG charts: well-formed, named for assistive technology, escaped, and drawn
to scale; the numbers also come out in a real table (templates/_charts.html)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from core.charts import Bar, bar_chart, column_chart
from core.i18n import current_language, format_number
from core.templating import templates

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # raises if the markup is not well-formed


def bar_rects(root: ET.Element) -> list[float]:
    return [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_bar_chart_is_a_named_image_with_its_values_in_words():
    root = parse(
        bar_chart(
            [Bar("Jeunes", 120), Bar("Parents", 45.5)],
            title="Par clientèle",
            description="Inscriptions de 2026.",
        )
    )
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == title_id and title.text == "Par clientèle"
    assert desc is not None and desc.get("id") == desc_id
    assert desc.text == "Inscriptions de 2026. Jeunes : 120; Parents : 45,5."
    shown = texts(root)
    assert "Jeunes" in shown and "120" in shown and "45,5" in shown


def test_two_charts_on_a_page_have_distinct_ids():
    first = parse(bar_chart([Bar("A", 1)], title="Un"))
    second = parse(column_chart(["jan"], [("2026", [1])], title="Deux"))
    assert first.get("id") != second.get("id")
    assert first.get("aria-labelledby") != second.get("aria-labelledby")


def test_labels_titles_and_links_are_escaped():
    evil = '<script>alert("x")</script> & Cie'
    markup = str(
        bar_chart(
            [Bar(evil, 3, display='"3" <b>', href='/x?a=1&b="2"')],
            title="<i>titre</i>",
            description="R&D",
        )
    )
    assert "<script>" not in markup and "<i>" not in markup and "<b>" not in markup
    root = parse(markup)
    assert root.find(f"{SVG}title").text == "<i>titre</i>"
    assert root.find(f"{SVG}desc").text.startswith("R&D ")
    link = root.find(f"{SVG}a")
    assert link.get("href") == '/x?a=1&b="2"'
    assert '"3" <b>' in texts(root)


def test_long_labels_are_shortened_in_the_drawing_but_said_whole():
    label = "Municipalité régionale de comté de La Vallée-de-la-Gatineau"
    root = parse(bar_chart([Bar(label, 7)], title="MRC"))
    drawn = texts(root)[0]
    assert drawn.endswith("…") and len(drawn) <= 30
    assert label in root.find(f"{SVG}desc").text


def test_bars_are_proportional_to_the_largest_value():
    root = parse(bar_chart([Bar("a", 10), Bar("b", 5), Bar("c", 0)], title="t"))
    a, b, c = bar_rects(root)
    assert a > 0 and b == pytest.approx(a / 2, abs=0.1) and c == 0


def test_bars_against_a_given_maximum_and_clamped_above_it():
    root = parse(
        bar_chart(
            [Bar("moitié", 50), Bar("dépassé", 150, display="150 %")],
            title="t",
            max_value=100,
        )
    )
    half, over = bar_rects(root)
    assert half == pytest.approx(over / 2, abs=0.1)
    assert "150 %" in texts(root)


def test_zero_maximum_and_zero_values_draw_empty_bars():
    for chart in (
        bar_chart([Bar("a", 0), Bar("b", 0)], title="t"),
        bar_chart([Bar("a", 4)], title="t", max_value=0),
        bar_chart([Bar("a", float("nan")), Bar("b", -3)], title="t"),
    ):
        assert all(width == 0 for width in bar_rects(parse(chart)))


def test_empty_data_says_so():
    for chart in (bar_chart([], title="Vide"), column_chart([], [], title="Vide")):
        root = parse(chart)
        assert root.get("role") == "img"
        assert root.find(f"{SVG}title").text == "Vide"
        assert texts(root) == ["Aucune donnée pour cette sélection."]


def test_bars_with_links_are_a_group_of_named_links():
    root = parse(bar_chart([Bar("Jeunes", 3, href="/admin/rapports?clientele=1")], title="t"))
    assert root.get("role") == "group"
    link = root.find(f"{SVG}a")
    assert link.get("href") == "/admin/rapports?clientele=1"
    assert link.get("aria-label") == "Jeunes : 3"


def test_column_chart_series_are_to_scale_hatched_and_named():
    root = parse(
        column_chart(
            ["janv.", "févr.", "mars"],
            [("2026", [40, 20, 0]), ("2025", [10])],
            title="Par mois",
        )
    )
    assert root.get("role") == "img"
    columns = [
        r
        for r in root.iter(f"{SVG}rect")
        if r.get("width") not in {"14", "6", "3.5"} and r.get("height") is not None
    ]
    heights = {
        (r.get("x"), r.get("fill")): float(r.get("height")) for r in columns if r.get("fill")
    }
    this_year = [h for (x, fill), h in heights.items() if fill == "#0b4f8a"]
    last_year = [h for (x, fill), h in heights.items() if fill.startswith("url(")]
    assert sorted(this_year) == pytest.approx([0, max(this_year) / 2, max(this_year)], abs=0.1)
    assert sorted(last_year)[-1] == pytest.approx(max(this_year) / 4, abs=0.1)
    assert len(last_year) == 3  # the missing values are zeros
    assert root.find(f"{SVG}defs/{SVG}pattern") is not None  # not told apart by colour alone
    shown = texts(root)
    assert "2026" in shown and "2025" in shown and "févr." in shown and "40" in shown
    assert "janv. : 2026 40, 2025 10" in root.find(f"{SVG}desc").text


def test_column_chart_of_zeros_keeps_a_scale():
    root = parse(column_chart(["a", "b"], [("s", [0, 0])], title="t"))
    assert "1" in texts(root)  # the scale's top, not a division by zero


def test_numbers_follow_the_language():
    assert format_number(1234) == "1\xa0234"
    assert format_number(12.25) == "12,2" or format_number(12.25) == "12,3"
    token = current_language.set("en")
    try:
        assert format_number(1234) == "1,234"
        assert format_number(12.5) == "12.5"
    finally:
        current_language.reset(token)
    assert format_number(float("nan")) == "—"


def test_chart_table_shows_the_numbers_in_a_real_table():
    macro = templates.env.from_string(
        '{% from "_charts.html" import chart_table %}{{ chart_table(caption, headers, rows) }}'
    )
    html = macro.render(
        caption="Par clientèle",
        headers=["Clientèle", "Inscriptions", "Taux"],
        rows=[
            ["<Jeunes>", 1200, None],
            [{"text": "Parents & co", "href": "/a?b=1&c=2"}, 3, 0.5],
        ],
    )
    root = ET.fromstring(html)
    table = root.find("table")
    assert table.find("caption").text == "Par clientèle"
    assert [th.get("scope") for th in table.find("thead/tr")] == ["col"] * 3
    first, second = table.findall("tbody/tr")
    assert first.find("th").get("scope") == "row" and first.find("th").text == "<Jeunes>"
    assert [td.text for td in first.findall("td")] == ["1\xa0200", "—"]
    assert second.find("th/a").get("href") == "/a?b=1&c=2"
    assert second.find("th/a").text == "Parents & co"
    assert second.findall("td")[1].text == "0,5"
    empty = macro.render(caption="c", headers=["a", "b"], rows=[])
    assert "Aucune donnée pour cette sélection." in empty
