"""Who is calling, and what they may do: the one place where authorization is decided.

Every route that needs a signed-in staff member is wrapped by `requires(permission)`,
and every service operation that changes protected data calls `authorize(actor, ...)`
itself, so a service cannot be misused from a route that forgot the check.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.errors import Forbidden, NotAuthenticated
from core.models import ApiToken, Role, User
from core.security import hash_token

ALL_STAFF = frozenset(Role)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# permission -> roles that hold it. Add a line here when a package needs a new right.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "backoffice.access": ALL_STAFF,
    "tokens.own": ALL_STAFF,
    "people.view": frozenset({Role.ADMIN, Role.ORGANIZER, Role.REVIEWER}),
    "people.edit": frozenset({Role.ADMIN, Role.ORGANIZER}),
    "people.import": frozenset({Role.ADMIN, Role.ORGANIZER}),
    "people.export": frozenset({Role.ADMIN, Role.ORGANIZER}),
    "people.erase": frozenset({Role.ADMIN}),
    # Everything held on one person (Law 25 access request): the privacy officer's act.
    "people.access": frozenset({Role.ADMIN}),
    "reference.edit": frozenset({Role.ADMIN}),
    "users.manage": frozenset({Role.ADMIN}),
    "audit.view": frozenset({Role.ADMIN}),
    "outbox.view": frozenset({Role.ADMIN, Role.ORGANIZER}),
    "outbox.retry": frozenset({Role.ADMIN, Role.ORGANIZER}),
    "mail.test": frozenset({Role.ADMIN}),
    "events.view": frozenset({Role.ADMIN, Role.ORGANIZER, Role.REVIEWER}),
    "events.edit": frozenset({Role.ADMIN, Role.ORGANIZER}),
    "registrations.manage": frozenset({Role.ADMIN, Role.ORGANIZER}),
    "checkin.scan": frozenset({Role.ADMIN, Role.ORGANIZER, Role.CHECKIN}),
    "certification.review": frozenset({Role.ADMIN, Role.REVIEWER}),
    "certification.manage": frozenset({Role.ADMIN}),
    "reports.view": frozenset({Role.ADMIN, Role.ORGANIZER, Role.REVIEWER}),
    "campaigns.manage": frozenset({Role.ADMIN, Role.ORGANIZER}),
}

# What a scoped device token may do, whatever its owner's role.
SCOPED_PERMISSIONS: dict[str, frozenset[str]] = {"checkin": frozenset({"checkin.scan"})}


@dataclass
class Principal:
    """The caller: a staff user by session or by token, possibly scoped to one event."""

    user_id: int | None
    email: str
    role: Role | None
    via: str = "system"  # "session", "token", "system"
    scope: str = ""  # "" or "checkin:<event_id>"
    ip: str = ""
    language: str = "fr"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.email or self.via

    @property
    def scope_kind(self) -> str:
        return self.scope.split(":", 1)[0] if self.scope else ""

    @property
    def scope_target(self) -> str:
        return self.scope.split(":", 1)[1] if ":" in self.scope else ""

    def can(self, permission: str, *, event_id: int | None = None) -> bool:
        if permission not in PERMISSIONS:
            raise KeyError(f"unknown permission {permission!r}")
        if self.via == "system":
            return True
        if self.role is None or self.role not in PERMISSIONS[permission]:
            return False
        if self.scope:
            allowed = SCOPED_PERMISSIONS.get(self.scope_kind, frozenset())
            if permission not in allowed:
                return False
            if event_id is not None and self.scope_target != str(event_id):
                return False
        return True

    @classmethod
    def system(cls, label: str = "système") -> Principal:
        return cls(user_id=None, email=label, role=Role.ADMIN, via="system")

    @classmethod
    def for_user(cls, user: User, *, via: str = "session", ip: str = "") -> Principal:
        return cls(
            user_id=user.id,
            email=user.email,
            role=Role(user.role),
            via=via,
            ip=ip,
            language=user.language,
        )


def authorize(actor: Principal | None, permission: str, *, event_id: int | None = None) -> None:
    """Raise NotAuthenticated / Forbidden unless `actor` holds `permission`."""
    if actor is None:
        raise NotAuthenticated()
    if not actor.can(permission, event_id=event_id):
        raise Forbidden()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


# Valid tokens seen recently (hash -> (expires monotonic, principal fields)). Check-in
# tablets call the API many times a second; a short cache spares a query per call. A
# revocation in this process clears it at once; in another process it applies within
# TOKEN_CACHE_SECONDS.
TOKEN_CACHE_SECONDS = 10.0
_token_cache: dict[str, tuple[float, Principal, datetime | None]] = {}


def forget_token_cache() -> None:
    _token_cache.clear()


async def principal_from_token(raw: str, ip: str = "") -> Principal | None:
    digest = hash_token(raw)
    now = datetime.now(UTC)
    cached = _token_cache.get(digest)
    if cached is not None and cached[0] > time.monotonic():
        _expires, template, expires_at = cached
        if expires_at is None or expires_at > now:
            return replace(template, ip=ip, extra=dict(template.extra))
    token = (
        await ApiToken.filter(token_hash=digest, revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    if token is None or not token.user.is_active:
        _token_cache.pop(digest, None)
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    # Record use at most once a minute to keep token calls cheap.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        await ApiToken.filter(id=token.id).update(last_used_at=now)
    principal = Principal.for_user(token.user, via="token", ip=ip)
    principal.scope = token.scope
    principal.extra["token_id"] = token.id
    if len(_token_cache) > 10_000:
        _token_cache.clear()
    _token_cache[digest] = (time.monotonic() + TOKEN_CACHE_SECONDS, principal, token.expires_at)
    return replace(principal, extra=dict(principal.extra))


async def current_principal(request: Request) -> Principal | None:
    """The caller of this request (cached on request.state), or None when anonymous."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    principal: Principal | None = None
    ip = client_ip(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        principal = await principal_from_token(header[7:].strip(), ip)
    elif "session" in request.scope:
        user_id = request.session.get("user_id")
        if user_id is not None:
            user = await User.get_or_none(id=user_id, is_active=True)
            if user is not None and session_is_current(request.session, user):
                principal = Principal.for_user(user, via="session", ip=ip)
            else:
                request.session.clear()
    request.state.principal = principal
    return principal


SESSION_VERSION_KEY = "session_version"


def start_session(session: dict[str, Any], user: User) -> None:
    """Tie a session to the account's session version (read on every request).

    One rule ends sessions: anything that must end them (logout, a password or role
    change, deactivation, "sign out everywhere") bumps `User.session_version`
    (`core.accounts.end_sessions`), and every session holding an older number is refused.
    """
    session["user_id"] = user.id
    session[SESSION_VERSION_KEY] = user.session_version


def session_is_current(session: dict[str, Any], user: User) -> bool:
    version = session.get(SESSION_VERSION_KEY)
    return type(version) is int and version == user.session_version


Endpoint = Callable[[Request], Awaitable[Response]]


def requires(permission: str) -> Callable[[Endpoint], Endpoint]:
    """Route decorator: the caller must be signed in and hold `permission`.

    Anonymous HTML requests are redirected to the login page by the error handler;
    anonymous API calls get 401, signed-in callers without the right get 403.
    """

    def decorator(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            principal = await current_principal(request)
            if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
                # JSON calls made with the session cookie need the CSRF header.
                from core.http import check_csrf_header

                check_csrf_header(request)
            event_id = request.path_params.get("event_id")
            authorize(principal, permission, event_id=event_id)
            return await endpoint(request)

        wrapper.__permission__ = permission  # type: ignore[attr-defined]
        return wrapper

    return decorator
