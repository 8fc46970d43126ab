"""Spreadsheet exports: formulas typed by users never run, and XLSX shows the text as typed."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from core.spreadsheet import keep_as_text, neutralize_formula


def test_csv_guard_keeps_its_apostrophe():
    assert neutralize_formula("=1+1") == "'=1+1"
    assert neutralize_formula("Tremblay") == "Tremblay"


def test_xlsx_formula_text_is_stored_as_text_without_apostrophe():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["=1+1", "@SUM(A1:A9)", "-Éloïse", "Tremblay", 25])
    for cell in sheet[1]:
        keep_as_text(cell)
    buffer = io.BytesIO()
    workbook.save(buffer)

    read = load_workbook(io.BytesIO(buffer.getvalue())).active
    cells = list(read[1])
    assert [c.value for c in cells] == ["=1+1", "@SUM(A1:A9)", "-Éloïse", "Tremblay", 25]
    for cell in cells[:3]:
        assert cell.data_type == "s"  # a text cell, not a formula
        assert cell.quotePrefix  # stays text when edited in the spreadsheet
    assert not cells[3].quotePrefix
    assert cells[4].data_type == "n"
