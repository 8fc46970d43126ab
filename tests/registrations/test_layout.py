"""Registrations: only the capacity module touches the seat counter (the rest of the
layout is checked for every package by tests/test_architecture.py)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "registrations"


def test_only_capacity_changes_the_seat_counter():
    for path in PACKAGE.glob("*.py"):
        if path.name == "capacity.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert 'F("seats_taken")' not in text and "SET seats_taken" not in text, path.name
