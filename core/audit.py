"""The audit log helper every package uses: who did what, when, to what."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.models import AuditEntry

if TYPE_CHECKING:
    from core.auth import Principal


def _target(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return str(target[0]), str(target[1])
    meta = getattr(target, "_meta", None)
    if meta is not None:
        return f"{meta.app}.{type(target).__name__}", str(target.pk)
    return type(target).__name__, str(target)


async def audit(
    actor: Principal | None,
    action: str,
    target: Any = None,
    details: dict[str, Any] | None = None,
    *,
    ip: str = "",
) -> AuditEntry:
    """Record one entry. `target` is a model instance or a (type, id) tuple.

    Call it inside the same transaction as the change it records.
    """
    target_type, target_id = _target(target)
    user_id = actor.user_id if actor is not None else None
    label = actor.label if actor is not None else "système"
    return await AuditEntry.create(
        actor_id=user_id,
        actor_label=label[:254],
        action=action[:64],
        target_type=target_type[:64],
        target_id=target_id[:64],
        details=details or {},
        ip=(ip or (actor.ip if actor is not None else ""))[:64],
    )
