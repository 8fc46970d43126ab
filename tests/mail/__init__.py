"""Helpers for the mail tests: a real SMTP server (aiosmtpd) on loopback.

The server records every message it accepts and can be told to answer 4xx or 5xx for
chosen recipients, to take its time over each message (`delay`), to hold every message
after the first `hold_after` until `release()` (the first one held is then accepted, the
others refused: the client is gone by then), or be stopped and started again on the
same port.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from core.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=default_policy)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Sink:
    """aiosmtpd handler: records messages; 4xx/5xx on demand for chosen recipients."""

    received: list[Received] = field(default_factory=list)
    tempfail: set[str] = field(default_factory=set)
    permfail: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tempfailed: list[str] = field(default_factory=list)  # each 4xx answer given
    delay: float = 0.0
    hold_after: int | None = None
    holding: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.permfail:
            return "550 5.1.1 No such user here"
        if address in self.tempfail:
            self.tempfailed.append(address)
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold_after is not None:
            with self.lock:
                held = len(self.received) >= self.hold_after
                first_held = held and self.holding == 0
                self.holding += held
            if held:
                while not self.released.is_set():  # noqa: ASYNC110 - set by another thread
                    await asyncio.sleep(0.01)
                if not first_held:
                    return "451 4.3.0 Try again later"
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer
                )
            )
        return "250 Message accepted for delivery"

    def release(self) -> None:
        self.hold_after = None
        self.released.set()

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def message_ids(self) -> list[str]:
        with self.lock:
            items = list(self.received)
        return [r.message_id for r in items]

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]


class SMTPServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.sink = Sink()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.controller is None:
            self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: SMTPServer) -> Settings:
    return settings.with_(smtp_url=smtp_server.url, mail_batch_size=50, mail_pool_size=2)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], within: float = 60.0, step: float = 0.02
) -> None:
    """Poll `condition` until true; fail after a generous bound (never a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)
