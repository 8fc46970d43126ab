"""Staff accounts and personal API tokens (service layer: no HTTP here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from limits import parse
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import _
from core.models import ApiToken, Role, User
from core.ratelimit import RateLimiter
from core.security import (
    DUMMY_HASH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_token,
    needs_rehash,
    new_api_token,
    verify_password,
)
from core.settings import Settings


def normalize_email(email: str, *, field: str = "email") -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(fields={field: _("Adresse courriel invalide.")}) from None


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            fields={
                "password": _(
                    "Le mot de passe doit compter au moins %(n)s caractères.",
                    n=MIN_PASSWORD_LENGTH,
                )
            }
        )


async def create_user(
    actor: Principal,
    email: str,
    password: str,
    role: Role | str,
    full_name: str = "",
    language: str = "fr",
) -> User:
    authorize(actor, "users.manage")
    key = normalize_email(email)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(fields={"role": _("Rôle inconnu.")}) from None
    check_password_strength(password)
    async with in_transaction():
        if await User.exists(email=key):
            raise Conflict(_("Un compte existe déjà pour cette adresse."), code="already_exists")
        user = await User.create(
            email=key,
            password_hash=hash_password(password),
            role=role,
            full_name=full_name.strip()[:200],
            language=language if language in {"fr", "en"} else "fr",
        )
        await audit(actor, "user.created", user, {"role": role.value})
    return user


async def set_role(actor: Principal, user_id: int, role: Role | str) -> User:
    authorize(actor, "users.manage")
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(fields={"role": _("Rôle inconnu.")}) from None
    async with in_transaction():
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise NotFound()
        previous = user.role
        user.role = role
        await user.save(update_fields=["role"])
        if previous != role:
            await end_sessions(user)
        await audit(actor, "user.role_changed", user, {"from": str(previous), "to": role.value})
    from core.auth import forget_token_cache

    forget_token_cache()
    return user


async def set_active(actor: Principal, user_id: int, active: bool) -> User:
    authorize(actor, "users.manage")
    if actor.user_id == user_id and not active:
        raise Conflict(_("Vous ne pouvez pas désactiver votre propre compte."))
    async with in_transaction():
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise NotFound()
        user.is_active = active
        await user.save(update_fields=["is_active"])
        if not active:
            await end_sessions(user)
        await audit(actor, "user.activated" if active else "user.deactivated", user)
    from core.auth import forget_token_cache

    forget_token_cache()
    return user


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are allowed, and to whom.

    `pair` counts one account from one address and `address` one address whatever the
    account: an attacker hammering from one address is stopped without locking the owner
    out of the account from another address. `account` is a higher ceiling across every
    address (a spread-out attack). A pair or address locked out again and again waits
    longer each time: escalation tiers (with the default 5/minute: 10 per 15 minutes, 15
    per hour, 30 per day) outlast the base window, so Retry-After grows from about a
    minute to a quarter of an hour, then to most of an hour, then to the day.
    """

    pair: str = "5/minute"
    address: str = "5/minute"
    account: str = "50/15 minutes"

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            pair=settings.login_rate_limit,
            address=settings.login_rate_limit,
            account=settings.login_account_rate_limit,
        )

    def checks(self, account: str, ip: str) -> list[tuple[str, tuple[str, ...]]]:
        result: list[tuple[str, tuple[str, ...]]] = []
        for limit, key in (
            (self.pair, ("login-pair", account, ip)),
            (self.address, ("login-ip", ip)),
        ):
            result.append((limit, key))
            result.extend((tier, key) for tier in _escalation(limit))
        result.append((self.account, ("login-account", account)))
        return result


def _escalation(limit: str) -> tuple[str, ...]:
    amount = parse(limit).amount
    return (f"{2 * amount}/15 minutes", f"{3 * amount}/hour", f"{6 * amount}/day")


async def authenticate(
    limiter: RateLimiter, limits: LoginLimits, email: str, password: str, ip: str
) -> User:
    """Check a login. Failed attempts count per (account, address), address and account."""
    key = email.strip().lower()
    checks = limits.checks(key, ip)
    await limiter.check_each(checks)
    user = await User.get_or_none(email=key, is_active=True)
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not ok:
        await limiter.hit_each(checks)
        await audit(None, "login.failed", ("core.User", key), ip=ip)
        raise ValidationFailed(
            _("Adresse courriel ou mot de passe incorrect."), code="invalid_login"
        )
    now = datetime.now(UTC)
    updates = {"last_login_at": now}
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        updates["password_hash"] = user.password_hash  # type: ignore[assignment]
    await User.filter(id=user.id).update(**updates)
    await audit(Principal.for_user(user, ip=ip), "login.succeeded", user)
    return user


async def end_sessions(user: User) -> None:
    """Bump the account's session version: every session it has ends at once.

    The increment is done in the database (two bumps at once both count); `user` is
    refreshed so a caller can start a new session on the new version.
    """
    await User.filter(id=user.id).update(session_version=F("session_version") + 1)
    await user.refresh_from_db(fields=["session_version"])


async def sign_out(actor: Principal) -> None:
    """Logout: ends every session of the caller's account (see `end_sessions`)."""
    if actor.via != "session" or actor.user_id is None:
        return
    user = await User.get_or_none(id=actor.user_id)
    if user is not None:
        await end_sessions(user)


async def sign_out_everywhere(actor: Principal) -> None:
    """The account page's "Se déconnecter partout": ends every session, audited."""
    authorize(actor, "tokens.own")
    user = await User.get(id=actor.user_id)
    async with in_transaction():
        await end_sessions(user)
        await audit(actor, "user.sessions_ended", user)


async def change_password(actor: Principal, current: str, new: str) -> User:
    authorize(actor, "tokens.own")
    user = await User.get(id=actor.user_id)
    if not verify_password(user.password_hash, current):
        raise ValidationFailed(fields={"current_password": _("Mot de passe actuel incorrect.")})
    check_password_strength(new)
    user.password_hash = hash_password(new)
    async with in_transaction():
        await user.save(update_fields=["password_hash"])
        await end_sessions(user)
        await audit(actor, "user.password_changed", user)
    return user


async def create_token(
    actor: Principal,
    user: User,
    name: str,
    *,
    scope: str = "",
    expires_in: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its clear value (shown once, stored hashed)."""
    if actor.user_id != user.id:
        authorize(actor, "users.manage")
    else:
        authorize(actor, "tokens.own")
    raw = new_api_token()
    expires_at = datetime.now(UTC) + expires_in if expires_in else None
    token = await ApiToken.create(
        user=user,
        name=(name.strip() or _("Jeton personnel"))[:100],
        token_hash=hash_token(raw),
        prefix=raw[:12],
        scope=scope,
        expires_at=expires_at,
    )
    await audit(actor, "token.created", token, {"name": token.name, "scope": scope})
    return token, raw


async def revoke_token(actor: Principal, token_id: int) -> None:
    token = await ApiToken.get_or_none(id=token_id)
    if token is None:
        raise NotFound()
    if token.user_id != actor.user_id:
        authorize(actor, "users.manage")
    token.revoked_at = datetime.now(UTC)
    await token.save(update_fields=["revoked_at"])
    from core.auth import forget_token_cache

    forget_token_cache()
    await audit(actor, "token.revoked", token)
