"""Typed signals: every signal that must have a receiver has one once the app is built."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core import signals
from core.signals import Signal


def test_every_required_signal_has_a_receiver_after_start_up(app):
    assert signals.unconnected() == []
    # The ones this structure relies on, by name (a rename must be deliberate).
    for name in (
        "event_cancelled",
        "event_changed",
        "capacity_changed",
        "person_exporting",
        "person_erasing",
        "attachment_maker",
    ):
        assert signals.SIGNALS[name].receivers, name
    assert signals.SIGNALS["attachment_maker"].has("ticket_qr")


@dataclass(frozen=True)
class Ping:
    n: int


async def test_send_calls_sync_and_async_receivers_in_order_and_checks_the_payload():
    ping: Signal[Ping, int] = Signal("test_ping", Ping, doc="test", required=True)
    try:
        assert "test_ping" in signals.unconnected()

        def double(p: Ping) -> int:
            return p.n * 2

        async def plus_one(p: Ping) -> int:
            return p.n + 1

        ping.connect(double)
        ping.connect(plus_one)
        ping.connect(double)  # idempotent: keeps its place, no second call
        assert await ping.send(Ping(5)) == [10, 6]
        assert "test_ping" not in signals.unconnected()
        with pytest.raises(TypeError):
            await ping.send(5)  # type: ignore[arg-type]
        ping.disconnect(double)
        assert await ping.send(Ping(1)) == [2]
        with pytest.raises(ValueError):
            Signal("test_ping", Ping, doc="declared twice")
    finally:
        signals.SIGNALS.pop("test_ping", None)


def test_keyed_signal_dispatches_on_its_key():
    make: Signal[str, bytes] = Signal("test_make", str, doc="test", keyed=True)
    try:
        make.connect(lambda s: s.upper().encode(), key="upper")
        assert make.call("upper", "abc") == b"ABC"
        with pytest.raises(LookupError):
            make.call("lower", "abc")
        with pytest.raises(TypeError):
            make.connect(lambda s: b"")  # a keyed signal needs a key
    finally:
        signals.SIGNALS.pop("test_make", None)
