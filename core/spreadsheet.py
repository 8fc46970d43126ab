"""Exports opened in spreadsheets: the one rule against formula (CSV) injection."""

from __future__ import annotations

FORMULA_STARTS = "=+-@\t\r"


def neutralize_formula(value: str) -> str:
    """A cell a spreadsheet would read as a formula gets a leading apostrophe."""
    if value and value[0] in FORMULA_STARTS:
        return "'" + value
    return value
