"""The participation report's query string (API, and any page that keeps its filters in
the URL) and the documented shape of its answer.

`ParticipationQuery.from_params` reads `group_by=a,b&from=&to=&kind=&event_id=&edition_id=
&clientele=&territory=&sector=&plan_item=&plan_id=&mask=&format=&sep=`; an empty value is
no filter; each bad value is a French field error (422), never a 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from core.i18n import gettext as _
from core.inputs import MAX_YEAR, MIN_YEAR, parse_day, parse_id
from core.openapi import (
    DATE_QUERY_SCHEMA,
    ID_QUERY_SCHEMA,
    choice_query_schema,
    query_param,
)
from events.models import EventKind
from people.models import Sector
from reports.participation import GROUP_KEYS, MEASURES, ParticipationFilters

FORMATS = ("json", "csv", "xlsx")
SEPARATORS = (",", ";")
MAX_MASK = 100
# Column lengths (people.Clientele.code, Territory.code, PlanItem.code).
CODE_LENGTHS = {"clientele": 32, "territory": 10, "plan_item": 20}


def _group_by_pattern() -> str:
    one = "(" + "|".join(GROUP_KEYS) + ")"
    return f"^({one}(,{one})?)?$"


GROUP_BY_PATTERN = re.compile(_group_by_pattern())


@dataclass
class ParticipationQuery:
    filters: ParticipationFilters = field(default_factory=ParticipationFilters)
    group_by: tuple[str, ...] = ()
    mask: int = 0
    format: str = "json"
    separator: str = ","
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> ParticipationQuery:
        query = cls()
        errors = query.errors
        values: dict[str, Any] = {}

        def text(name: str) -> str:  # as sent: the document allows no padding
            return str(params.get(name) or "")

        raw_keys = [k for k in text("group_by").split(",") if k]
        if not GROUP_BY_PATTERN.fullmatch(text("group_by")) or len(set(raw_keys)) != len(raw_keys):
            errors["group_by"] = _("Regroupement invalide : au plus deux clés parmi la liste.")
        else:
            query.group_by = tuple(raw_keys)
        for name, attr in (("from", "date_from"), ("to", "date_to")):
            try:
                if len(text(name)) not in (0, 10):
                    raise ValueError(name)
                values[attr] = parse_day(text(name))
            except ValueError:
                errors[name] = _(
                    "Date invalide (format attendu : 2027-02-16, années %(low)s à %(high)s).",
                    low=MIN_YEAR,
                    high=MAX_YEAR,
                )
        for name in ("event_id", "edition_id", "plan_id"):
            try:
                values[name] = parse_id(text(name))
            except ValueError:
                errors[name] = _("Identifiant invalide.")
        kind = text("kind")
        if kind and kind not in {k.value for k in EventKind}:
            errors["kind"] = _("Type d'événement inconnu.")
        values["kind"] = kind or None
        sector = text("sector")
        if sector and sector not in {s.value for s in Sector}:
            errors["sector"] = _("Secteur inconnu.")
        values["sector"] = sector or None
        for name, length in CODE_LENGTHS.items():
            code = text(name)
            if len(code) > length:
                errors[name] = _("Code inconnu.")
            values[name] = code or None
        mask = text("mask")
        if mask:
            if not (mask.isascii() and mask.isdigit()) or int(mask[:6]) > MAX_MASK:
                errors["mask"] = _(
                    "La valeur doit être comprise entre %(low)s et %(high)s.", low=0, high=MAX_MASK
                )
            else:
                query.mask = int(mask)
        fmt = text("format").lower() or "json"
        if fmt not in FORMATS:
            errors["format"] = _("Format inconnu (json, csv ou xlsx).")
        else:
            query.format = fmt
        separator = text("sep") or ","
        if separator not in SEPARATORS:
            errors["sep"] = _("Séparateur inconnu (« , » ou « ; »).")
        else:
            query.separator = separator
        if not errors:
            if (
                values["date_from"]
                and values["date_to"]
                and values["date_from"] > values["date_to"]
            ):
                errors["to"] = _("La date de fin précède la date de début.")
            query.filters = ParticipationFilters(**values)
        return query

    def query_string(self) -> str:
        """The filters and keys back as a query string (links that keep a view)."""
        f = self.filters
        pairs: dict[str, Any] = {
            "group_by": ",".join(self.group_by),
            "from": f.date_from.isoformat() if isinstance(f.date_from, date) else None,
            "to": f.date_to.isoformat() if isinstance(f.date_to, date) else None,
            "kind": f.kind,
            "event_id": f.event_id,
            "edition_id": f.edition_id,
            "clientele": f.clientele,
            "territory": f.territory,
            "sector": f.sector,
            "plan_item": f.plan_item,
            "plan_id": f.plan_id,
            "mask": self.mask or None,
        }
        return urlencode({k: v for k, v in pairs.items() if v not in (None, "")})


def _text(length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": length}


API_PARAMS = [
    query_param(
        "group_by",
        {"type": "string", "pattern": _group_by_pattern()},
        "au plus deux clés séparées par une virgule : " + ", ".join(GROUP_KEYS),
    ),
    query_param("from", DATE_QUERY_SCHEMA, "événements commençant à partir de ce jour"),
    query_param("to", DATE_QUERY_SCHEMA, "événements commençant au plus tard ce jour"),
    query_param("kind", choice_query_schema([k.value for k in EventKind]), "type d'événement"),
    query_param("event_id", ID_QUERY_SCHEMA, "un événement"),
    query_param("edition_id", ID_QUERY_SCHEMA, "une édition et ses événements"),
    query_param("clientele", _text(CODE_LENGTHS["clientele"]), "code de clientèle cible"),
    query_param(
        "territory",
        _text(CODE_LENGTHS["territory"]),
        "MRC du participant (un code de région inclut ses MRC)",
    ),
    query_param("sector", choice_query_schema([s.value for s in Sector]), "secteur de l'organisme"),
    query_param(
        "plan_item",
        _text(CODE_LENGTHS["plan_item"]),
        "code d'un élément du plan d'action (inclut ses descendants)",
    ),
    query_param("plan_id", ID_QUERY_SCHEMA, "un plan d'action"),
    query_param(
        "mask",
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_MASK},
                {"type": "string", "maxLength": 0},
            ]
        },
        "masque les cellules de moins de N personnes (exports pour des partenaires externes)",
    ),
    query_param("format", choice_query_schema(list(FORMATS)), "json (défaut), csv ou xlsx"),
    query_param("sep", choice_query_schema(list(SEPARATORS)), "séparateur du CSV (« , » défaut)"),
]

_COUNT = {"type": ["integer", "null"], "minimum": 0}
MEASURE_PROPERTIES: dict[str, Any] = {
    name: (
        {"type": ["number", "null"], "minimum": 0, "maximum": 1}
        if name == "attendance_rate"
        else dict(_COUNT)
    )
    for name in MEASURES
}
MEASURE_PROPERTIES["masked"] = {"type": "boolean"}
_KEY_VALUE = {"type": ["string", "integer", "null"]}
ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [*MEASURES, "masked"],
    "properties": {
        **{key: _KEY_VALUE for key in GROUP_KEYS},
        **{f"{key}_label": {"type": "string"} for key in GROUP_KEYS},
        **MEASURE_PROPERTIES,
    },
    "additionalProperties": False,
}
TOTALS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [*MEASURES, "masked"],
    "properties": MEASURE_PROPERTIES,
    "additionalProperties": False,
}
PARTICIPATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["group_by", "rows", "totals"],
    "properties": {
        "group_by": {"type": "array", "items": {"type": "string", "enum": list(GROUP_KEYS)}},
        "rows": {"type": "array", "items": ROW_SCHEMA},
        "totals": TOTALS_SCHEMA,
    },
}
