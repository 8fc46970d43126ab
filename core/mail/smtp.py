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
    TEMPORARY = "temporary"  # the server answered 4xx about this message: retry later
    PERMANENT = "permanent"  # the server answered 5xx about this message: never retried
    # No session could be opened (refused, timeout, TLS, greeting or login failure): the
    # server said nothing about this message, so it costs the message no attempt.
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    error: str = ""
    code: int = 0  # the SMTP reply code, when the server answered


def classify_code(code: int, text: str) -> Result:
    message = f"{code} {text}".strip()[:1000]
    if 500 <= code < 600:
        return Result(Outcome.PERMANENT, message, code)
    return Result(Outcome.TEMPORARY, message, code)


# What opening a session or losing it mid-message raises (aiosmtplib's connect, TLS,
# greeting and login errors are SMTPException subclasses).
CONNECTION_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


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
            except CONNECTION_ERRORS:
                smtp.close()
        else:
            smtp.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for pooled in idle:
            await self._discard(pooled.smtp)

    async def probe(self) -> str:
        """Whether the server can be reached: "" when a new session can be opened now (it
        stays in the pool for the next batch), else the reason it cannot. Connections
        kept from before are dropped first: they may not have noticed the outage."""
        await self.close()
        try:
            smtp = await self._connect()
        except CONNECTION_ERRORS as exc:
            return describe(exc)
        self._release(smtp)
        return ""

    async def send_many(
        self,
        envelopes: Sequence[Envelope],
        *,
        on_result: Callable[[int, Result], object] | None = None,
        skip: Callable[[int], bool] | None = None,
    ) -> dict[int, Result]:
        """Send each envelope over the pool (one lane per connection); never raises.

        `on_result(key, result)` is called as soon as each result is known (the worker
        records a message as sent the moment the server accepted it). An envelope for
        which `skip(key)` is true when its turn comes is not sent and gets no result.

        A connection lost during a message (or closed with 421) is replaced and the
        message tried once more on the new one: if no new session can be opened the
        server is unreachable, and that message and every one not yet sent get
        `UNREACHABLE` (no attempt counted); a second loss on a working server is the
        message's own `TEMPORARY` failure.
        """
        pending = deque(envelopes)
        results: dict[int, Result] = {}
        server_down: list[str] = []
        tried_twice: set[int] = set()

        def done(key: int, result: Result) -> None:
            results[key] = result
            if on_result is not None:
                on_result(key, result)

        async def lane() -> None:
            smtp: aiosmtplib.SMTP | None = None
            try:
                while pending:
                    envelope = pending.popleft()
                    if skip is not None and skip(envelope.key):
                        continue
                    if server_down:
                        done(envelope.key, Result(Outcome.UNREACHABLE, server_down[0]))
                        continue
                    if smtp is None:
                        try:
                            smtp, _reused = await self._acquire()
                        except CONNECTION_ERRORS as exc:
                            server_down.append(describe(exc))
                            done(envelope.key, Result(Outcome.UNREACHABLE, server_down[0]))
                            continue
                    await self.rate.acquire()
                    try:
                        result = await self._send(smtp, envelope)
                    except CONNECTION_ERRORS as exc:
                        # Connection trouble (a pooled connection may simply have been
                        # closed by the server while idle): drop it, try again once.
                        smtp.close()
                        smtp = None
                        if envelope.key in tried_twice:
                            done(envelope.key, Result(Outcome.TEMPORARY, describe(exc)))
                        else:
                            tried_twice.add(envelope.key)
                            pending.appendleft(envelope)
                        continue
                    if not smtp.is_connected:  # 421: the server closed this session
                        smtp = None
                        if result.code == 421 and envelope.key not in tried_twice:
                            tried_twice.add(envelope.key)
                            pending.appendleft(envelope)
                            continue
                    done(envelope.key, result)
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
