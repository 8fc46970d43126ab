"""The participation report as a spreadsheet: CSV (UTF-8 with a BOM; `,` or `;`, the
French spreadsheets' separator, which also gets decimal commas) and XLSX. One column per
group key (its label), one per measure, then the totals row. A masked cell reads "< n".
Text cells go through `core.spreadsheet` (formula neutralization)."""

from __future__ import annotations

import csv
import io
from typing import Any

from core.i18n import N_
from core.i18n import gettext as _
from core.spreadsheet import keep_as_text, neutralize_formula
from reports.participation import MEASURES, Participation

KEY_HEADERS = {
    "clientele": N_("Clientèle"),
    "territory": N_("MRC du participant"),
    "region": N_("Région du participant"),
    "event_territory": N_("MRC de l'événement"),
    "sector": N_("Secteur"),
    "kind": N_("Type d'événement"),
    "plan_item": N_("Élément du plan"),
    "axis": N_("Axe"),
    "month": N_("Mois"),
    "edition": N_("Édition"),
}
MEASURE_HEADERS = {
    "registrations": N_("Inscriptions"),
    "headcount": N_("Personnes inscrites"),
    "attended_headcount": N_("Présences"),
    "attendance_rate": N_("Taux de présence (%)"),
    "walkins": N_("Inscriptions sur place"),
    "no_shows": N_("Absences"),
    "people": N_("Personnes distinctes"),
    "new_people": N_("Nouvelles personnes"),
    "organizations": N_("Organismes"),
}


def headers(report: Participation) -> list[str]:
    return [_(KEY_HEADERS[k]) for k in report.group_by] + [_(MEASURE_HEADERS[m]) for m in MEASURES]


def table(report: Participation, mask: int) -> list[list[Any]]:
    """The rows then the totals: labels, then numbers (the rate in percent, one decimal);
    a masked cell is the text "< mask"."""
    out = []
    # Without keys the one row is the totals: written once.
    rows = report.rows if report.group_by else []
    lines = [(row, [row[f"{k}_label"] for k in report.group_by]) for row in rows]
    total_labels = [_("Total")] + [""] * (len(report.group_by) - 1) if report.group_by else []
    lines.append((report.totals, total_labels))
    for row, labels in lines:
        cells: list[Any] = list(labels)
        for measure in MEASURES:
            value = row[measure]
            if row.get("masked"):
                cells.append(f"< {mask}")
            elif measure == "attendance_rate":
                cells.append(None if value is None else round(value * 100, 1))
            else:
                cells.append(value)
        out.append(cells)
    return out


def to_csv(report: Participation, mask: int, separator: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow([neutralize_formula(h) for h in headers(report)])
    for cells in table(report, mask):
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


def to_xlsx(report: Participation, mask: int) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("Participation")[:31]
    sheet.append(headers(report))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cells in table(report, mask):
        sheet.append(cells)
    for sheet_row in sheet.iter_rows():
        for cell in sheet_row:
            keep_as_text(cell)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers(report), start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = min(40, max(12, len(header) + 2))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
