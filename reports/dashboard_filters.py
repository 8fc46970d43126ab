"""The dashboard's filters (`/admin/rapports`), kept in the URL so a view can be
bookmarked and shared: `year`, or `from` / `to`; `kind`, `edition_id`, `territory`
(participant MRC or region code), `clientele`, `plan_item` (a code of the plan: `plan_id`
when given, else the year's plan, `people.plans.plan_for_year`), and `measure` (what the
bars and the timeline count).

The filter parameters are read by the participation report's own reader
(`reports.participation_schemas.ParticipationQuery`, the API's), so the page and the API
understand a query string the same way and the page's export links give the same numbers.
A bad or unknown value is reported in `errors` (French, by field) and left out, never a
500: the page still shows the rest.

The period: `from`–`to` when given; else the `year` (default: this year), up to today
when the year is under way (the dashboard reports what took place). It is compared with
the same dates one year earlier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from core.i18n import N_, _
from events.editions import edition_choices
from events.labels import kind_choices
from events.models import Event
from people.models import Clientele, PlanItem, Territory, TerritoryKind
from people.plans import plan_by_id, plan_for_year
from reports.participation import ParticipationFilters
from reports.participation_schemas import ParticipationQuery

FIRST_YEAR = 2000
# The participation report's filters the dashboard offers (and passes to the API links).
FILTER_PARAMS = ("from", "to", "kind", "edition_id", "clientele", "territory", "plan_item")
PLAN_PARAM = "plan_id"
MEASURES = ("attended_headcount", "headcount", "registrations", "people")
MEASURE_LABELS = {
    "attended_headcount": N_("Présences"),
    "headcount": N_("Personnes inscrites"),
    "registrations": N_("Inscriptions"),
    "people": N_("Personnes distinctes"),
}


def measure_label(measure: str) -> str:
    return _(MEASURE_LABELS[measure])


def one_year_earlier(day: date) -> date:
    """The same date a year earlier (29 February: the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@dataclass
class DashboardQuery:
    year: int
    date_from: date
    date_to: date
    measure: str = "attended_headcount"
    filters: ParticipationFilters = field(default_factory=ParticipationFilters)
    explicit_dates: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    plan_id: int | None = None  # as given in the URL (the filters hold the plan resolved)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], today: date) -> DashboardQuery:
        errors: dict[str, str] = {}
        raw_year = str(params.get("year") or "")
        year = today.year
        if raw_year:
            if raw_year.isascii() and raw_year.isdigit() and FIRST_YEAR <= int(raw_year) <= 2100:
                year = int(raw_year)
            else:
                errors["year"] = _("Année invalide.")
        measure = str(params.get("measure") or "") or MEASURES[0]
        if measure not in MEASURES:
            errors["measure"] = _("Mesure inconnue.")
            measure = MEASURES[0]
        wanted = {k: str(params.get(k) or "") for k in (*FILTER_PARAMS, PLAN_PARAM)}
        parsed = ParticipationQuery.from_params(wanted)
        if parsed.errors:  # report them, then read the query again without the bad values
            errors.update(parsed.errors)
            kept = {k: v for k, v in wanted.items() if k not in parsed.errors}
            parsed = ParticipationQuery.from_params(kept)
            if parsed.errors:  # e.g. `to` before `from`: no dates at all
                errors.update(parsed.errors)
                parsed = ParticipationQuery.from_params(
                    {k: v for k, v in kept.items() if k not in ("from", "to")}
                )
        filters = parsed.filters
        explicit = filters.date_from is not None or filters.date_to is not None
        if explicit:
            start = filters.date_from or date((filters.date_to or today).year, 1, 1)
            end = filters.date_to or max(start, min(today, date(start.year, 12, 31)))
            year = start.year
        else:
            start = date(year, 1, 1)
            end = min(date(year, 12, 31), today) if year == today.year else date(year, 12, 31)
        filters = replace(filters, date_from=start, date_to=end)
        return cls(year, start, end, measure, filters, explicit, errors, filters.plan_id)

    def drop(self, name: str, message: str) -> None:
        """Leave out a filter whose code is unknown, and say why."""
        self.errors[name] = message
        self.filters = replace(self.filters, **{name: None})

    def previous(self) -> ParticipationFilters:
        """The same filters over the same dates one year earlier."""
        return replace(
            self.filters,
            date_from=one_year_earlier(self.date_from),
            date_to=one_year_earlier(self.date_to),
        )

    def params(self) -> dict[str, str]:
        """The view's parameters as they go back into a URL (only what is set)."""
        f = self.filters
        pairs: dict[str, Any] = {
            "kind": f.kind,
            "edition_id": f.edition_id,
            "territory": f.territory,
            "clientele": f.clientele,
            "plan_id": self.plan_id,
            "plan_item": f.plan_item,
        }
        if self.explicit_dates:
            pairs["from"] = self.date_from.isoformat()
            pairs["to"] = self.date_to.isoformat()
        else:
            pairs["year"] = self.year
        if self.measure != MEASURES[0]:
            pairs["measure"] = self.measure
        return {k: str(v) for k, v in pairs.items() if v not in (None, "")}

    def query_string(self) -> str:
        return urlencode(self.params())

    def api_query(self, group_by: str, fmt: str = "json", separator: str = ",") -> str:
        """The participation API's query string for this view (its export links)."""
        pairs = {
            k: v for k, v in self.params().items() if k not in ("year", "from", "to", "measure")
        }
        pairs = {
            "group_by": group_by,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            **pairs,
        }
        if fmt != "json":
            pairs["format"] = fmt
        if separator != ",":
            pairs["sep"] = separator
        return urlencode(pairs)

    @property
    def has_participant_filter(self) -> bool:
        return bool(self.filters.clientele or self.filters.territory)


@dataclass
class FilterChoices:
    years: list[int]
    kinds: list[tuple[str, str]]
    editions: list[tuple[str, str]]
    territories: list[tuple[str, str]]
    clienteles: list[tuple[str, str]]
    plan_items: list[tuple[str, str]]


async def filter_choices(query: DashboardQuery, today: date, language: str) -> FilterChoices:
    """The form's options (five queries); unknown codes in `query` are dropped, with an
    error, so the numbers never silently ignore a filter the page shows as set. The plan
    item's plan is set on the filters."""
    clienteles = [(c.code, c.name(language)) for c in await Clientele.filter(active=True)]
    territories = await Territory.filter(active=True).order_by("code")
    regions = {t.id: t for t in territories if t.kind == TerritoryKind.REGION}
    territory_options = []
    for region in regions.values():
        territory_options.append((region.code, _("Région %(name)s", name=region.name)))
        territory_options += [
            (t.code, f"— {t.name}") for t in territories if t.parent_id == region.id
        ]
    editions = [
        (str(e.id), e.title)
        for e in await edition_choices(str(query.filters.edition_id or ""))
        if isinstance(e, Event)
    ]
    plan = await plan_by_id(query.plan_id) if query.plan_id else await plan_for_year(query.year)
    if query.plan_id and plan is None:
        query.errors["plan_id"] = _("Plan d'action inconnu.")
        query.plan_id = None
        plan = await plan_for_year(query.year)
    plan_items = (
        [
            (i.code, f"{i.code} {i.title[:80]}")
            for i in await PlanItem.filter(plan_id=plan.id).order_by("position", "code")
        ]
        if plan is not None
        else []
    )
    if query.filters.clientele and query.filters.clientele not in dict(clienteles):
        query.drop("clientele", _("Clientèle inconnue."))
    if query.filters.territory and query.filters.territory not in dict(territory_options):
        query.drop("territory", _("Territoire inconnu."))
    if query.filters.plan_item and query.filters.plan_item not in dict(plan_items):
        query.drop("plan_item", _("Élément du plan inconnu."))
    # A code names an item of one plan: the numbers read the plan the form lists.
    if plan is not None:
        query.filters = replace(
            query.filters, plan_id=plan.id if query.filters.plan_item else query.plan_id
        )
    years = set(range(max(FIRST_YEAR, today.year - 10), today.year + 2)) | {query.year}
    return FilterChoices(
        years=sorted(years, reverse=True),
        kinds=kind_choices(),
        editions=editions,
        territories=territory_options,
        clienteles=clienteles,
        plan_items=plan_items,
    )
