"""Page numbers from user input (query strings, forms, service arguments)."""

from __future__ import annotations

from typing import Any

MAX_PAGE = 100_000


def page_number(value: Any, maximum: int = MAX_PAGE) -> int:
    """A page number between 1 and `maximum`; anything unreadable is page 1."""
    try:
        return max(1, min(int(str(value)), maximum))
    except (TypeError, ValueError):
        return 1
