"""Translations (Babel catalogs in locale/) and fr_CA date formatting.

Message ids are the French strings: French is the source language, `locale/en` holds the
English translations. The catalogs are read from the .po files at start-up (no compiled
.mo files to keep in sync). The current language lives in a context variable set per
request by `core.http.LanguageMiddleware`, so `_()` works in routes, services and templates.
"""

from __future__ import annotations

import contextvars
import io
import math
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from core.settings import DEFAULT_TIME_ZONE, PROJECT_ROOT

LANGUAGES = ("fr", "en")
LOCALES = {"fr": "fr_CA", "en": "en_CA"}
LOCALE_DIR = PROJECT_ROOT / "locale"
DEFAULT_TZ = DEFAULT_TIME_ZONE

current_language: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_language", default="fr"
)
current_timezone: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_timezone", default=DEFAULT_TZ
)


@cache
def translations(language: str) -> Translations:
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return Translations()
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str, **params: object) -> str:
    text = translations(current_language.get()).ugettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = translations(current_language.get()).ungettext(singular, plural, n)
    params.setdefault("num", n)
    return text % params


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the usual name for "mark for extraction"
    """Mark a string for extraction without translating it now (translate at use)."""
    return message


def negotiate_language(query_lang: str | None, accept_language: str | None, default: str) -> str:
    """?lang= wins, then the first supported Accept-Language entry, then the default."""
    if query_lang and query_lang[:2].lower() in LANGUAGES:
        return query_lang[:2].lower()
    if accept_language:
        ranked: list[tuple[float, str]] = []
        for part in accept_language.split(","):
            piece = part.strip()
            if not piece:
                continue
            tag, _sep, q = piece.partition(";q=")
            try:
                weight = float(q) if q else 1.0
            except ValueError:
                weight = 0.0
            ranked.append((weight, tag.strip()[:2].lower()))
        for _weight, tag in sorted(ranked, key=lambda r: -r[0]):
            if tag in LANGUAGES:
                return tag
    return default


@cache
def _parsed_locale(code: str) -> Locale:
    return Locale.parse(code)


def _locale() -> Locale:
    return _parsed_locale(LOCALES.get(current_language.get(), "fr_CA"))


def format_number(value: float) -> str:
    """« 1 234 », « 12,5 » in French; "1,234", "12.5" in English."""
    locale = _locale()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(number) or math.isinf(number):
        return "—"
    if number == int(number):
        return format_decimal(int(number), locale=locale)
    return format_decimal(round(number, 1), format="#,##0.#", locale=locale)


def to_local(value: datetime) -> datetime:
    return value.astimezone(ZoneInfo(current_timezone.get()))


@lru_cache(maxsize=4096)
def _day_text(language: str, day: date) -> str:
    return format_date(day, format="full", locale=_parsed_locale(LOCALES.get(language, "fr_CA")))


def format_day(value: date | datetime | None) -> str:
    """« mardi 16 février 2027 » (fr_CA) / "Tuesday, February 16, 2027" (en).

    Memoized per day and language: list pages format two dates per row and Babel's full
    format is slow.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return _day_text(current_language.get(), value)


def format_clock(value: datetime | None) -> str:
    """« 9 h », « 14 h 30 » in French; "9:00 a.m." style in English."""
    if value is None:
        return ""
    value = to_local(value)
    if current_language.get() == "fr":
        return f"{value.hour} h" if value.minute == 0 else f"{value.hour} h {value.minute:02d}"
    return format_time(value, format="short", locale=_locale())


def format_when(value: datetime | None) -> str:
    """« mardi 16 février 2027, 9 h »."""
    if value is None:
        return ""
    return f"{format_day(value)}, {format_clock(value)}"


def iso_utc(value: datetime | None) -> str:
    """A machine-readable instant for `<time datetime>` (UTC, ISO 8601; "" for none)."""
    return value.astimezone(UTC).isoformat() if value else ""


def iso_or_none(value: datetime | None) -> str | None:
    """ISO 8601 as stored (with its offset), None for none: for data exports."""
    return value.isoformat() if value is not None else None


def format_short(value: datetime | None) -> str:
    """Compact date and time for tables: « 2027-02-16 09:00 » in local time."""
    if value is None:
        return ""
    return format_datetime(to_local(value), "yyyy-MM-dd HH:mm", locale=_locale())


def format_days(first: date, last: date) -> str:
    """Whole days, without hours: « mardi 16 février 2027 », « du lundi 14 au vendredi
    18 février 2028 » (the month and the year said once when shared); in English
    "Monday, February 14 to Friday, February 18, 2028"."""
    if first >= last:
        return format_day(first)
    locale = _locale()
    french = current_language.get() == "fr"
    if first.year != last.year:
        start = format_day(first)
    elif first.month != last.month or not french:
        start = format_date(first, "EEEE d MMMM" if french else "EEEE, MMMM d", locale=locale)
    else:
        start = format_date(first, "EEEE d", locale=locale)
    return _("du %(start)s au %(end)s", start=start, end=format_day(last))


def format_range(
    starts: datetime, ends: datetime, all_day: bool = False, zone: str | None = None
) -> str:
    """When an event takes place, the one formatter for every page and e-mail.

    Timed: « mardi 16 février 2027, 9 h à 11 h 30 », or « Du … au … » over several days.
    All-day (`all_day`, the days read in the event's `zone`): see `format_days`.
    """
    if all_day:
        local = ZoneInfo(zone or current_timezone.get())
        return format_days(starts.astimezone(local).date(), ends.astimezone(local).date())
    s, e = to_local(starts), to_local(ends)
    if s.date() == e.date():
        return _(
            "%(day)s, %(start)s à %(end)s",
            day=format_day(starts),
            start=format_clock(starts),
            end=format_clock(ends),
        )
    return _("Du %(start)s au %(end)s", start=format_when(starts), end=format_when(ends))


class Dated(Protocol):
    """What `format_event_dates` reads: an event, or a row of an event list."""

    starts_at: datetime
    ends_at: datetime
    all_day: bool
    timezone: str


def format_event_dates(event: Dated) -> str:
    """`format_range` of an event: the `dates` template filter, `{{ event|dates }}`."""
    return format_range(event.starts_at, event.ends_at, event.all_day, event.timezone)
