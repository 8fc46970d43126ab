"""Signals the people package sends (see `core.signals`); other packages connect to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.signals import Signal
from people.models import Person


@dataclass(frozen=True)
class PersonExporting:
    person: Person


@dataclass(frozen=True)
class PersonErasing:
    person: Person


person_exporting: Signal[PersonExporting, dict[str, Any]] = Signal(
    "person_exporting",
    PersonExporting,
    doc="A person's data export (Law 25 access request) is being built: each receiver "
    "returns a dict merged into the export, under top-level keys of its own.",
)
person_erasing: Signal[PersonErasing, dict[str, int]] = Signal(
    "person_erasing",
    PersonErasing,
    doc="Inside the erasure transaction, before the person row is anonymized: each receiver "
    "anonymizes what its package holds on the person (counts kept) and returns what it did.",
)
