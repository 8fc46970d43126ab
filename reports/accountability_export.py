"""The accountability report as a table to paste into an annual report: CSV (UTF-8 with a
BOM; `,` or `;`) and XLSX. One line per plan item (its indicator, target and progress, its
reach in total), then its lines by clientele and by participant MRC, its events and its
campaigns (column "Ventilation" says which). A masked cell reads "< 5". Text cells go
through `core.spreadsheet` (formula neutralization)."""

from __future__ import annotations

import csv
import io
from typing import Any

from core.i18n import _
from core.spreadsheet import keep_as_text, neutralize_formula
from reports import plans
from reports.accountability import MASK, REACH, Accountability, EventLine, ItemReport


def headers() -> list[str]:
    return [
        _("Code"),
        _("Niveau"),
        _("Élément du plan"),
        _("Indicateur"),
        _("Cible"),
        _("Valeur"),
        _("Progression (%)"),
        _("Ventilation"),
        _("Événements"),
        _("Inscriptions"),
        _("Présences"),
        _("Personnes distinctes"),
        _("Courriels envoyés"),
        _("Invitations acceptées"),
        _("Inscrits après invitation"),
        _("Satisfaction moyenne (1 à 5)"),
        _("Taux de réponse à l'évaluation (%)"),
    ]


def _reach(figures: dict[str, Any]) -> list[Any]:
    if figures.get("masked"):
        return [f"< {MASK}"] * len(REACH)
    return [figures.get(name) for name in REACH]


def _rating(event: EventLine) -> list[Any]:
    summary = event.evaluation
    if summary is None:
        return [None, None]
    mean = None if summary.mean_satisfaction is None else round(summary.mean_satisfaction, 2)
    rate = None if summary.response_rate is None else round(summary.response_rate * 100, 1)
    return [mean, rate]


def _item_lines(report: ItemReport) -> list[list[Any]]:
    item = report.item
    progress = report.progress or {}
    ratio = progress.get("ratio")
    head = [
        item.code,
        plans.level_label(item.level),
        item.title,
        item.indicator,
        item.target,
        progress.get("value"),
        None if ratio is None else round(ratio * 100, 1),
    ]
    blank = [item.code, "", "", "", None, None, None]
    none5 = [None] * 5
    lines = [[*head, _("Total"), report.events_count, *_reach(report.totals), *none5]]
    for row in report.by_clientele:
        label = _("Clientèle : %(name)s", name=row["clientele_label"])
        lines.append([*blank, label, None, *_reach(row), None, None, None, None, None])
    for row in report.by_territory:
        label = _("MRC : %(name)s", name=row["territory_label"])
        lines.append([*blank, label, None, *_reach(row), None, None, None, None, None])
    for event in report.events:
        label = _(
            "Événement : %(title)s (%(day)s)",
            title=event.title,
            day=event.starts_at.date().isoformat(),
        )
        lines.append([*blank, label, 1, *_reach(event.figures), None, None, None, *_rating(event)])
    for campaign in report.campaigns:
        label = _("Campagne : %(name)s", name=campaign.name)
        figures = [campaign.sent, campaign.accepted, campaign.registered]
        lines.append([*blank, label, None, None, None, None, *figures, None, None])
    return lines


def table(report: Accountability) -> list[list[Any]]:
    lines: list[list[Any]] = []
    for item in report.items:
        lines.extend(_item_lines(item))
    lines.append(
        ["", "", _("Ensemble du plan"), "", None, None, None, _("Total"), None,
         *_reach(report.totals), None, None, None]
    )  # fmt: skip
    return lines


def to_csv(report: Accountability, separator: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow([neutralize_formula(h) for h in headers()])
    for cells in table(report):
        line = []
        for cell in cells:
            if cell is None:
                line.append("")
            elif isinstance(cell, str):
                line.append(neutralize_formula(cell))
            elif isinstance(cell, float) and separator == ";":
                line.append(str(cell).replace(".", ","))
            else:
                line.append(str(cell))
        writer.writerow(line)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: Accountability) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("Reddition de comptes")[:31]
    sheet.append(headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cells in table(report):
        sheet.append(cells)
        if cells[7] == _("Total"):
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    for sheet_row in sheet.iter_rows():
        for cell in sheet_row:
            keep_as_text(cell)
    sheet.freeze_panes = "A2"
    widths = [10, 12, 50, 30, 8, 8, 12, 40, 11, 12, 10, 12, 12, 12, 12, 12, 12]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def filename(report: Accountability, extension: str) -> str:
    return f"reddition-plan-{report.plan.id}-{report.date_from}-{report.date_to}.{extension}"
