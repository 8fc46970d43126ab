"""SMTP transport for the worker: `SMTP_URL` parsing, a small pool of reused aiosmtplib
connections, a send-rate limiter, and the classification of SMTP failures.

SMTP_URL forms (user and password are URL-decoded):

- `smtp://host:port` (plain, default port 25),
- `smtp+starttls://user:password@host:587` (STARTTLS required),
- `smtps://user:password@host:465` (implicit TLS).

Query options: `?timeout=30` (seconds), `?validate_certs=false` (self-signed test servers).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
# Close a pooled connection unused for this long (servers drop idle clients anyway).
IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class SMTPConfig:
    hostname: str
    port: int
    use_tls: bool = False
    start_tls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    validate_certs: bool = True
    local_hostname: str = "localhost"


def parse_smtp_url(url: str, local_hostname: str = "localhost") -> SMTPConfig:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(
            f"SMTP_URL doit commencer par smtp://, smtp+starttls:// ou smtps:// (reçu : {scheme!r})"
        )
    if not parts.hostname:
        raise ValueError("SMTP_URL doit indiquer un serveur (par exemple smtp://127.0.0.1:1025).")
    options = {k.lower(): v for k, v in parse_qsl(parts.query)}
    return SMTPConfig(
        hostname=parts.hostname,
        port=parts.port or DEFAULT_PORTS[scheme],
        use_tls=scheme == "smtps",
        start_tls=scheme == "smtp+starttls",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=float(options.get("timeout", 30.0)),
        validate_certs=options.get("validate_certs", "true").lower()
        not in {"0", "false", "no", "off"},
        local_hostname=local_hostname,
    )


class Outcome(StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"  # 4xx, connection trouble, timeouts: retry later
    PERMANENT = "permanent"  # 5xx: never retried


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    error: str = ""


def classify_code(code: int, text: str) -> Result:
    message = f"{code} {text}".strip()[:1000]
    if 500 <= code < 600:
        return Result(Outcome.PERMANENT, message)
    return Result(Outcome.TEMPORARY, message)


def describe(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {exc}".strip().rstrip(":"))[:1000]


class RateLimiter:
    """Spaces sends `1 / rate` seconds apart, across all pooled connections (0 = unlimited)."""

    def __init__(
        self,
        rate_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep

    async def acquire(self) -> None:
        if not self.interval:
            return
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await self._sleep(slot - now)


@dataclass
class _Pooled:
    smtp: aiosmtplib.SMTP
    last_used: float


@dataclass(frozen=True)
class Envelope:
    key: int
    sender: str
    recipient: str
    data: bytes


class SMTPPool:
    """Up to `size` open connections, reused from batch to batch."""

    def __init__(self, config: SMTPConfig, size: int, rate: RateLimiter | None = None) -> None:
        self.config = config
        self.size = max(1, size)
        self.rate = rate or RateLimiter(0)
        self._idle: list[_Pooled] = []

    async def _connect(self) -> aiosmtplib.SMTP:
        cfg = self.config
        smtp = aiosmtplib.SMTP(
            hostname=cfg.hostname,
            port=cfg.port,
            username=cfg.username,
            password=cfg.password,
            use_tls=cfg.use_tls,
            start_tls=cfg.start_tls,
            validate_certs=cfg.validate_certs,
            timeout=cfg.timeout,
            local_hostname=cfg.local_hostname,
        )
        await smtp.connect()
        return smtp

    async def _acquire(self) -> tuple[aiosmtplib.SMTP, bool]:
        """A connection, and whether it was reused (so may have been dropped meanwhile)."""
        now = time.monotonic()
        while self._idle:
            pooled = self._idle.pop()
            if pooled.smtp.is_connected and now - pooled.last_used < IDLE_SECONDS:
                return pooled.smtp, True
            await self._discard(pooled.smtp)
        return await self._connect(), False

    def _release(self, smtp: aiosmtplib.SMTP) -> None:
        if smtp.is_connected and len(self._idle) < self.size:
            self._idle.append(_Pooled(smtp, time.monotonic()))
        else:
            smtp.close()

    @staticmethod
    async def _discard(smtp: aiosmtplib.SMTP) -> None:
        if smtp.is_connected:
            try:
                await asyncio.wait_for(smtp.quit(), timeout=2)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                smtp.close()
        else:
            smtp.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for pooled in idle:
            await self._discard(pooled.smtp)

    async def send_many(self, envelopes: Sequence[Envelope]) -> dict[int, Result]:
        """Send each envelope over the pool (one lane per connection); never raises."""
        pending = deque(envelopes)
        results: dict[int, Result] = {}
        server_down: list[str] = []

        async def lane() -> None:
            smtp: aiosmtplib.SMTP | None = None
            reused = False
            try:
                while pending:
                    envelope = pending.popleft()
                    if server_down:
                        results[envelope.key] = Result(Outcome.TEMPORARY, server_down[0])
                        continue
                    if smtp is None:
                        try:
                            smtp, reused = await self._acquire()
                        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                            server_down.append(describe(exc))
                            results[envelope.key] = Result(Outcome.TEMPORARY, server_down[0])
                            continue
                    await self.rate.acquire()
                    try:
                        results[envelope.key] = await self._send(smtp, envelope)
                    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                        # Connection trouble: drop it. A reused connection may simply have
                        # been closed by the server while idle: try once more on a new one.
                        smtp.close()
                        smtp = None
                        if reused:
                            reused = False
                            pending.appendleft(envelope)
                        else:
                            results[envelope.key] = Result(Outcome.TEMPORARY, describe(exc))
                    else:
                        if smtp is not None and not smtp.is_connected:
                            smtp = None
            finally:
                if smtp is not None:
                    self._release(smtp)

        lanes = min(self.size, len(envelopes))
        await asyncio.gather(*(lane() for _ in range(lanes)))
        return results

    @staticmethod
    async def _send(smtp: aiosmtplib.SMTP, envelope: Envelope) -> Result:
        """One message. SMTP refusals become results; connection trouble is raised."""
        try:
            errors, _response = await smtp.sendmail(
                envelope.sender, [envelope.recipient], envelope.data
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            if refused is None:
                return Result(Outcome.TEMPORARY, describe(exc))
            return classify_code(refused.code, refused.message)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:  # the server is closing this connection
                smtp.close()
            return classify_code(exc.code, exc.message)
        except ValueError as exc:  # an address aiosmtplib cannot send to
            return Result(Outcome.PERMANENT, describe(exc))
        if envelope.recipient in errors:
            code, text = errors[envelope.recipient]
            return classify_code(code, text)
        return Result(Outcome.SENT)
