"""Exports opened in spreadsheets: the one rule against formula (CSV/XLSX) injection."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = "=+-@\t\r"


def looks_like_formula(value: str) -> bool:
    return bool(value) and value[0] in FORMULA_STARTS


def neutralize_formula(value: str) -> str:
    """CSV: a cell a spreadsheet would read as a formula gets a leading apostrophe."""
    if looks_like_formula(value):
        return "'" + value
    return value


def keep_as_text(cell: Any) -> None:
    """XLSX (an openpyxl cell): text a spreadsheet would read as a formula is stored as a
    text cell with the quote-prefix style, so it shows as typed (no apostrophe) and stays
    text when edited; openpyxl would otherwise write it as a formula."""
    if isinstance(cell.value, str) and looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
