"""The participation dashboard page, `GET /admin/rapports` (permission `reports.view`).

Thin: the query string is read by `reports.dashboard_filters.DashboardQuery`, the numbers
come from `reports.dashboard.dashboard`; this module only turns them into the charts
(`core.charts`, server-side SVG, the same numbers in a table under each one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import requires
from core.charts import Bar, bar_chart, column_chart
from core.http import actor_of
from core.i18n import _, current_language, format_date_text, format_number, to_local
from core.templating import render
from reports.dashboard import Dashboard, dashboard
from reports.dashboard_filters import (
    MEASURES,
    DashboardQuery,
    filter_choices,
    measure_label,
)
from reports.targets import PlanProgress, TargetLine, target_measure_label


def _bars(
    rows: list[dict[str, Any]], key: str, query: DashboardQuery, *, biggest_first: bool
) -> list[Bar]:
    """A bar per group; each links to the dashboard filtered on its group."""
    measure = query.measure
    if biggest_first:
        rows = sorted(rows, key=lambda r: -(r.get(measure) or 0))
    bars = []
    for row in rows:
        code = row.get(key)
        href = None
        if code is not None:
            href = "/admin/rapports?" + urlencode(dict(query.params(), **{key: str(code)}))
        bars.append(Bar(row[f"{key}_label"], row.get(measure) or 0, href=href))
    return bars


def _period(start: date, end: date) -> str:
    return _("du %(start)s au %(end)s", start=format_date_text(start), end=format_date_text(end))


def _percent(rate: float | None) -> str | None:
    return None if rate is None else f"{format_number(rate * 100)} %"


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]
    caption: str = ""


def _measure_headers() -> list[str]:
    return [
        _("Inscriptions"),
        _("Personnes inscrites"),
        _("Présences"),
        _("Taux de présence"),
        _("Personnes jointes"),
        _("Nouvelles personnes"),
        _("Organismes joints"),
    ]


def _measure_cells(row: dict[str, Any]) -> list[Any]:
    return [
        row.get("registrations"),
        row.get("headcount"),
        row.get("attended_headcount"),
        _percent(row.get("attendance_rate")),
        row.get("people"),
        row.get("new_people"),
        row.get("organizations"),
    ]


def tables(board: Dashboard) -> dict[str, Table]:
    """The numbers of each chart, for the tables under them."""
    measure = board.query.measure
    made = {}
    if board.targets is not None:
        made["targets"] = target_table(board.targets)
    return made | {
        "clientele": Table(
            [_("Clientèle"), *_measure_headers()],
            [[row["clientele_label"], *_measure_cells(row)] for row in board.by_clientele],
        ),
        "territory": Table(
            [_("MRC"), *_measure_headers()],
            [[row["territory_label"], *_measure_cells(row)] for row in board.by_territory],
        ),
        "months": Table(
            [_("Mois"), _("Période choisie"), _("Un an plus tôt")],
            [
                [line.label, line.current.get(measure) or 0, line.previous.get(measure) or 0]
                for line in board.months
            ],
        ),
    }


def _target_shown(line: TargetLine) -> str:
    if line.value is None:
        return _("non mesuré ici")
    share = line.share
    return _(
        "%(value)s / %(target)s (%(rate)s)",
        value=format_number(line.value),
        target=format_number(line.target),
        rate=_percent(share) if share is not None else "—",
    )


def target_table(progress: PlanProgress) -> Table:
    return Table(
        [_("Action"), _("Indicateur"), _("Mesure"), _("Résultat"), _("Cible"), _("Atteinte")],
        [
            [
                f"{line.code} {line.title}",
                line.indicator or "—",
                target_measure_label(line.measure),
                line.value,
                line.target,
                _percent(line.share) if line.share is not None else None,
            ]
            for line in progress.lines
        ],
        caption=_(
            "Cibles du plan « %(plan)s », résultats %(period)s",
            plan=progress.plan_name,
            period=_period(progress.date_from, progress.date_to),
        ),
    )


def target_chart(progress: PlanProgress) -> Markup:
    return bar_chart(
        [
            Bar(
                f"{line.code} {line.indicator or line.title}",
                (line.share or 0) * 100,
                display=_target_shown(line),
            )
            for line in progress.lines
        ],
        title=_("Progression vers les cibles du plan « %(plan)s »", plan=progress.plan_name),
        description=_(
            "Résultats %(period)s, en part de chaque cible.",
            period=_period(progress.date_from, progress.date_to),
        ),
        max_value=100,
    )


def charts(board: Dashboard) -> dict[str, Markup]:
    query = board.query
    measure = query.measure
    label = measure_label(measure)
    period = _period(query.date_from, query.date_to)
    previous = _period(board.previous_from, board.previous_to)
    drawn = {}
    if board.targets is not None and board.targets.lines:
        drawn["targets"] = target_chart(board.targets)
    return drawn | {
        "clientele": bar_chart(
            _bars(board.by_clientele, "clientele", query, biggest_first=False),
            title=_("%(measure)s par clientèle cible", measure=label),
            description=_("Période : %(period)s.", period=period),
        ),
        "territory": bar_chart(
            _bars(board.by_territory, "territory", query, biggest_first=True),
            title=_("%(measure)s par MRC des participants", measure=label),
            description=_("Période : %(period)s.", period=period),
        ),
        "months": column_chart(
            [line.label for line in board.months],
            [
                (
                    _("Période choisie"),
                    [line.current.get(measure) or 0 for line in board.months],
                ),
                (
                    _("Un an plus tôt"),
                    [line.previous.get(measure) or 0 for line in board.months],
                ),
            ],
            title=_("%(measure)s par mois", measure=label),
            description=_(
                "Période choisie : %(period)s; un an plus tôt : %(previous)s.",
                period=period,
                previous=previous,
            ),
        ),
    }


@requires("reports.view")
async def dashboard_page(request: Request) -> Response:
    actor = actor_of(request)
    today = to_local(datetime.now(UTC)).date()
    query = DashboardQuery.from_params(request.query_params, today)
    choices = await filter_choices(query, today, current_language.get())
    board = await dashboard(actor, query)
    return render(
        request,
        "reports/dashboard.html",
        {
            "board": board,
            "query": query,
            "choices": choices,
            "charts": charts(board),
            "tables": tables(board),
            "period": _period(query.date_from, query.date_to),
            "previous": _period(board.previous_from, board.previous_to),
            "years": [(str(year), str(year)) for year in choices.years],
            "measures": [(m, measure_label(m)) for m in MEASURES],
            "measure_label": measure_label(query.measure),
            "errors": query.errors,
        },
    )


routes = [Route("/admin/rapports", dashboard_page, methods=["GET"], name="reports_dashboard")]
