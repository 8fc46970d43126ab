"""Phone numbers: the one rule for what a valid number is, how it is stored (E.164,
"+14505550123") and how it is shown ("(450) 555-0123"). Numbers without a country code
are read as Canadian (North American numbering plan)."""

from __future__ import annotations

import re

import phonenumbers

from core.i18n import _

REGION = "CA"
NANP = 1  # the country code of Canada and the United States: shown in national format
_LETTERS = re.compile(r"[^\W\d_]")


def _parsed(text: str) -> phonenumbers.PhoneNumber | None:
    """The number, when `text` is a complete valid number without letters or extension."""
    if _LETTERS.search(text):  # "poste 12", "ext. 3", "1-800-FLOWERS": not a plain number
        return None
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return number


def normalize_phone(text: str) -> str:
    """The number in E.164 ("+14505550123"), "" for an empty text; ValueError (French
    message, shown as the field's error) for anything that is not a valid number."""
    text = (text or "").strip()
    if not text:
        return ""
    number = _parsed(text)
    if number is None:
        raise ValueError(_("Ce numéro de téléphone n'est pas valide."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value: str | None) -> str:
    """A stored number for display: "(450) 555-0123" in North America, "+33 1 23 45 67 89"
    elsewhere. A value that does not parse (stored before numbers were checked) is shown
    as it is."""
    value = (value or "").strip()
    if not value:
        return ""
    number = _parsed(value)
    if number is None:
        return value
    if number.country_code == NANP:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
