"""Names of the participation report's groups: the ids the SQL groups by become codes, each
with its label in the current language ("Non précisé" when the value is not stated), and
the rows are put in a reader's order (clienteles in their list order, territories and
plan items by code, months in time, kinds and sectors in their list order; not stated
last)."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date

from core.i18n import LOCALES, N_, _
from core.i18n import current_language as language
from events.labels import kind_label
from events.models import Event, EventKind
from people.models import Clientele, PlanItem, Sector, Territory
from people.reference import sector_label

NOT_STATED = N_("Non précisé")

# (code, label, sort key) of a group value.
Named = tuple[Any, str, tuple[Any, ...]]


def month_label(code: str) -> str:
    year, month = (int(part) for part in code.split("-"))
    locale = LOCALES.get(language.get(), "fr_CA")
    return format_date(date(year, month, 1), format="LLLL yyyy", locale=locale)


async def _names(key: str, values: set[Any]) -> dict[Any, Named]:
    ids = [v for v in values if v is not None]
    if key == "clientele":
        clienteles = await Clientele.filter(id__in=ids)
        lang = language.get()
        return {c.id: (c.code, c.name(lang), (c.position, c.code)) for c in clienteles}
    if key in ("territory", "region", "event_territory"):
        territories = await Territory.filter(id__in=ids)
        return {t.id: (t.code, t.name, (t.code,)) for t in territories}
    if key in ("plan_item", "axis"):
        items = await PlanItem.filter(id__in=ids).values("id", "code", "title")
        return {i["id"]: (i["code"], f"{i['code']} {i['title']}", (i["code"],)) for i in items}
    if key == "edition":
        editions = await Event.filter(id__in=ids).values("id", "title", "starts_at")
        return {e["id"]: (e["id"], e["title"], (e["starts_at"], e["id"])) for e in editions}
    if key == "kind":
        order = [k.value for k in EventKind]
        return {v: (v, kind_label(v), (order.index(v),)) for v in ids if v in order}
    if key == "sector":
        order = [s.value for s in Sector]
        return {v: (v, sector_label(v), (order.index(v),)) for v in ids if v in order}
    return {v: (v, month_label(v), (v,)) for v in ids}  # month


async def label_rows(keys: tuple[str, ...], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with each key's code and `<key>_label` first, then the measures, sorted."""
    names = {key: await _names(key, {row[key] for row in rows}) for key in keys}
    labelled = []
    for row in rows:
        out: dict[str, Any] = {}
        order: list[Any] = []
        for key in keys:
            named = names[key].get(row[key])
            if named is None:
                out[key], out[f"{key}_label"] = None, _(NOT_STATED)
                order.append((1,))
            else:
                out[key], out[f"{key}_label"] = named[0], named[1]
                order.append((0, *named[2]))
        out.update({k: v for k, v in row.items() if k not in keys})
        labelled.append((order, out))
    labelled.sort(key=lambda pair: pair[0])
    return [row for _order, row in labelled]
