"""Signals the campaigns package sends (see `core.signals`); packages above it answer."""

from __future__ import annotations

from dataclasses import dataclass

from core.signals import Signal
from events.models import Event


@dataclass(frozen=True)
class ThanksAsked:
    event: Event


thanks_sent_elsewhere: Signal[ThanksAsked, bool] = Signal(
    "thanks_sent_elsewhere",
    ThanksAsked,
    required=False,
    doc="Before an event's automatic thank-you is queued: a receiver answering True sends "
    "the thank-you itself (the evaluations package, for an event with an evaluation form: "
    "its invitation thanks the participant and carries the personal link), so the "
    "campaigns package only marks the event thanked.",
)
