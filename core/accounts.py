"""Staff accounts and personal API tokens (service layer: no HTTP here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, RateLimited, ValidationFailed
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
        await audit(actor, "user.activated" if active else "user.deactivated", user)
    from core.auth import forget_token_cache

    forget_token_cache()
    return user


async def authenticate(
    limiter: RateLimiter, limit: str, email: str, password: str, ip: str
) -> User:
    """Check a login. Failed attempts are counted per address and per account."""
    key = email.strip().lower()
    await limiter.check(limit, "login-ip", ip)
    await limiter.check(limit, "login-account", key)
    user = await User.get_or_none(email=key, is_active=True)
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not ok:
        try:
            await limiter.hit(limit, "login-ip", ip)
            await limiter.hit(limit, "login-account", key)
        except RateLimited:
            pass
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


async def change_password(actor: Principal, current: str, new: str) -> User:
    authorize(actor, "tokens.own")
    user = await User.get(id=actor.user_id)
    if not verify_password(user.password_hash, current):
        raise ValidationFailed(fields={"current_password": _("Mot de passe actuel incorrect.")})
    check_password_strength(new)
    user.password_hash = hash_password(new)
    await user.save(update_fields=["password_hash"])
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
