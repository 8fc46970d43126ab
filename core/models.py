"""Core models: staff accounts, API tokens, audit log, mail outbox."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    CHECKIN = "checkin"
    REVIEWER = "reviewer"


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)  # stored lower-case
    full_name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16)
    is_active = fields.BooleanField(default=True)
    language = fields.CharField(max_length=5, default="fr")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    # Stored in the session at login and checked on every request: bumping it (logout,
    # password or role change, deactivation, "sign out everywhere") ends every session.
    session_version = fields.IntField(default=0)

    class Meta:
        table = "core_user"

    def __str__(self) -> str:
        return self.email


class ApiToken(Model):
    """A personal (or scoped device) API token. Only its SHA-256 is stored."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "core.User", related_name="tokens", on_delete=fields.CASCADE
    )
    user_id: int
    name = fields.CharField(max_length=100, default="")
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=12)
    # Empty scope = the user's own rights. "checkin:<event_id>" = a device scoped to one event.
    scope = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "core_api_token"


class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    actor_label = fields.CharField(max_length=254, default="")
    action = fields.CharField(max_length=64, db_index=True)
    target_type = fields.CharField(max_length=64, default="")
    target_id = fields.CharField(max_length=64, default="")
    details: fields.JSONField[dict[str, object]] = fields.JSONField(default=dict)
    ip = fields.CharField(max_length=64, default="")

    class Meta:
        table = "core_audit_entry"
        indexes = (("target_type", "target_id"),)


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # permanent refusal (5xx): not retried
    DEAD = "dead"  # too many temporary failures


class OutboundMessage(Model):
    """One e-mail, rendered when queued, delivered by the worker (see core/mail)."""

    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    message_id = fields.CharField(max_length=200, unique=True)
    to_address = fields.CharField(max_length=254)
    to_name = fields.CharField(max_length=200, default="")
    language = fields.CharField(max_length=5, default="fr")
    subject = fields.CharField(max_length=300)
    text_body = fields.TextField()
    html_body = fields.TextField(default="")
    headers: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    # [{"filename", "content_type", "data" (base64), "content_id" (inline) or null}]
    attachments: fields.JSONField[list[dict[str, object]]] = fields.JSONField(default=list)
    category = fields.CharField(max_length=32, default="transactional")  # or "bulk"
    status = fields.CharEnumField(MessageStatus, max_length=10, default=MessageStatus.QUEUED)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    # A worker's claim: its token (unique per claimed batch) and when it lapses (the
    # worker's heartbeat pushes it back while the batch is in flight).
    claimed_until = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    last_error = fields.TextField(default="")
    sent_at = fields.DatetimeField(null=True)
    # The person it was sent to (people.Person id; no FK so core never depends on people).
    person_id = fields.IntField(null=True, db_index=True)
    cause_type = fields.CharField(max_length=64, default="")
    cause_id = fields.CharField(max_length=64, default="")

    class Meta:
        table = "core_outbound_message"
        # (cause_type, cause_id): a registration's messages, found when it is anonymized.
        indexes = (("status", "next_attempt_at"), ("cause_type", "cause_id"))
