"""Limits every piece of user input respects before it reaches the database.

One place for what the columns can hold, used by the HTTP plumbing (core.http) and by
every package's schemas:

- integers: the database's INTEGER is 32-bit on PostgreSQL; an id or a number beyond it
  is "not found" in a path (the `{name:int}` route convertor only matches 0..2**31-1)
  and a field error in a query or a body (`DbId`, `parse_id`; other numbers carry their
  own bounds in the schemas);
- text: no NUL character (PostgreSQL refuses it in text) and no lone UTF-16 surrogate
  (not encodable in UTF-8), in JSON bodies, forms, query strings and paths;
- JSON: nesting at most `MAX_JSON_DEPTH` deep, integers of at most `MAX_INT_DIGITS` digits;
- dates: years `MIN_YEAR`..`MAX_YEAR`, so that time-zone conversions and "the day after"
  never overflow (`Moment`, `Day`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from starlette.convertors import Convertor, register_url_convertor

from core.i18n import _

INT32_MAX = 2**31 - 1
MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 30
MIN_YEAR = 1900
MAX_YEAR = 2200

# 0..2147483647 (leading zeros allowed), as a regular expression.
_INT32_REGEX = (
    "0*(?:[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}"
    "|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}"
    "|21474836[0-3][0-9]|214748364[0-7])"
)


class BoundedIntConvertor(Convertor[int]):
    """`{name:int}` in a route: only ids a column can hold match; others are a 404."""

    regex = _INT32_REGEX

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        value = int(value)
        if not 0 <= value <= INT32_MAX:
            raise ValueError(f"identifiant hors limites : {value}")
        return str(value)


register_url_convertor("int", BoundedIntConvertor())


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (a NUL or a lone surrogate), or None."""
    if "\x00" in value:
        return _("Le caractère nul (\\0) n'est pas permis.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("Ce texte contient un caractère invalide.")
    return None


def _check_year(value: date) -> date:
    """A date or a datetime (a subclass of date) within MIN_YEAR..MAX_YEAR."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(
            _(
                "La date doit être comprise entre les années %(low)s et %(high)s.",
                low=MIN_YEAR,
                high=MAX_YEAR,
            )
        )
    return value


def _parse_moment(value: Any) -> Any:
    """An ISO 8601 string (with or without seconds or offset; a bare date is its
    midnight, as all-day events take days) read the same way whether the JSON body is
    validated strictly or not; anything else is left to pydantic's own check."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), datetime.min.time())
            return datetime.fromisoformat(text)
        except ValueError:
            return value
    return value


def _not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(_("Un identifiant (nombre entier) est attendu."))
    return value


# Pydantic types for input schemas (text is checked once for the whole body, see
# core.http.load_json and check_form_text).
DbId = Annotated[int, BeforeValidator(_not_a_bool), Field(ge=1, le=INT32_MAX)]
Moment = Annotated[datetime, BeforeValidator(_parse_moment), AfterValidator(_check_year)]
Day = Annotated[date, AfterValidator(_check_year)]


def is_id(text: str) -> bool:
    """`text` is an id a column can hold (ASCII digits, 1..2**31-1)."""
    return text.isascii() and text.isdigit() and len(text) <= 10 and 0 < int(text) <= INT32_MAX


def parse_id(raw: str | None) -> int | None:
    """An id from a query string or a form: None when absent or empty; ValueError when it
    is not a whole number a column can hold."""
    text = (raw or "").strip()
    if not text:
        return None
    if not is_id(text):
        raise ValueError(text)
    return int(text)


def parse_day(raw: str | None) -> date | None:
    """A date (YYYY-MM-DD) from a query string or a form; ValueError when unreadable or
    outside MIN_YEAR..MAX_YEAR."""
    text = (raw or "").strip()
    if not text:
        return None
    return _check_year(date.fromisoformat(text[:10]))


class InputRefused(ValueError):
    """A JSON document or a form the application refuses as a whole or by field."""

    def __init__(self, fields: dict[str, str], *, structural: str | None = None) -> None:
        self.fields = fields
        self.structural = structural
        super().__init__(structural or "; ".join(f"{k}: {v}" for k, v in fields.items()))


def check_json(data: Any) -> None:
    """Walk a decoded JSON document (iteratively); raise InputRefused for text that cannot
    be stored (by field path) or nesting deeper than MAX_JSON_DEPTH (structural)."""
    fields: dict[str, str] = {}
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise InputRefused(
                {},
                structural=_(
                    "Le JSON envoyé est trop imbriqué (%(depth)s niveaux au plus).",
                    depth=MAX_JSON_DEPTH,
                ),
            )
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                fields.setdefault(".".join(path) or "__root__", problem)
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = text_problem(key)
                if problem:
                    fields.setdefault(".".join((*path, key[:40])), problem)
                    continue
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, str(index))) for index, item in enumerate(value))
    if fields:
        raise InputRefused(fields)


def parse_json_int(text: str) -> int:
    """json.loads's parse_int: refuses numbers too long to mean anything here."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise InputRefused({}, structural=_("Un nombre du JSON envoyé est trop grand."))
    return int(text)
