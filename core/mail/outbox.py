"""The outbox: the one way any package sends mail.

`queue_mail(...)` renders a message in the recipient's language and stores it in
`core_outbound_message` (the `OutboundMessage` model); the worker (`core.mail.worker`)
delivers it later. Call it inside your own `in_transaction()`: the message is then queued
only if your operation commits.

Templates. A message named `<template>` is made of three files under `templates/emails/`:

- `<template>.subject.txt`: the subject (one line; white space is collapsed),
- `<template>.txt`: the text body, which extends `emails/base.txt`,
- `<template>.html`: the HTML body (optional), which extends `emails/base.html`.

The `.txt` files are not auto-escaped, the `.html` one is. They are rendered with
`core.i18n.current_language` set to the message's language, so `{{ _("...") }}` gives the
recipient's language. Besides the caller's `context`, every template receives
`sender_identification` (settings.mail_sender_address, printed by both base layouts: every
message identifies its sender), `base_url`, `to_name`, `to_address`, `language`,
`category`, `unsubscribe_url` and `preferences_url` (empty unless given).

Bulk messages (`category="bulk"`) that carry an unsubscribe URL (in `context` as
`unsubscribe_url`, or in `headers` as `List-Unsubscribe`) get the RFC 8058 headers
`List-Unsubscribe: <url>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; with
`unsubscribe_mailto` in `context` too (a `mailto:` URL, see `campaigns.preferences`),
`List-Unsubscribe: <url>, <mailto>` (RFC 2369: the https URL first, for RFC 8058).

Header safety: CR, LF and other control characters are removed from the recipient's name
and address, the subject, extra header names and values, attachment names and content
ids, so no caller input can add a header (no header injection).

The same `dedupe_key` queued twice gives back the first message (no duplicate, no error,
even when two transactions race: the insert is `ON CONFLICT DO NOTHING`). Hot paths whose
key is new by construction (it contains a just-created id) use `compose_mail` (render, no
I/O; possibly before their transaction) then `insert_composed` (one INSERT, nothing read
back).

Attachments are stored with their bytes (`data`), or, for images that are a pure function
of a short text (a ticket's QR code from its signed payload), as a `maker` name and its
`source`: the bytes are made when needed (by the worker at send time, by the back office
when shown) by the receiver connected to the keyed signal `attachment_maker`. The message
still holds everything it needs; only the costly drawing leaves the queuing transaction.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email import encoders
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr, parseaddr
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateNotFound
from tortoise.expressions import Q

from core import i18n
from core.errors import ValidationFailed
from core.i18n import _
from core.models import MessageStatus, OutboundMessage
from core.settings import Settings, load_settings
from core.signals import Signal

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet


CATEGORIES = ("transactional", "bulk")
# Headers the outbox writes itself; callers cannot set or replace them.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "sender",
        "return-path",
        "received",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # printable ASCII except ":" (RFC 5322)
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_][a-z0-9_/-]{0,100}$")
# type/subtype with at most one simple parameter (e.g. "text/calendar; method=cancel").
_CONTENT_TYPE = re.compile(
    r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(; ?[a-z-]+=[a-z0-9-]+)?$"
)
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+$")


def one_line(value: object, max_length: int = 998) -> str:
    """A single header-safe line: control characters (CR, LF, ...) become spaces."""
    text = _CONTROL.sub(" ", str(value if value is not None else ""))
    return _SPACES.sub(" ", text).strip()[:max_length]


def clean_address(value: str) -> str:
    address = one_line(value, 254)
    if not _ADDRESS.match(address):
        raise ValidationFailed(fields={"to_address": _("Adresse courriel invalide.")})
    return address


def mail_domain(settings: Settings) -> str:
    return _domain_of(settings.mail_from)


@functools.lru_cache(maxsize=16)
def _domain_of(mail_from: str) -> str:
    """The domain of MAIL_FROM (parsed once per value: every message's id asks for it)."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2].strip().lower()
    return one_line(domain, 200) or "rassembleur.local"


def new_message_id(settings: Settings) -> str:
    return f"<{uuid.uuid4().hex}@{mail_domain(settings)}>"


def _clean_headers(headers: Mapping[str, object] | None) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for raw_name, raw_value in (headers or {}).items():
        name = one_line(raw_name, 76)
        if not _HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
            raise ValidationFailed(
                fields={"headers": _("En-tête de courriel non permis : %(name)s", name=name)}
            )
        value = one_line(raw_value)
        if value:
            cleaned["-".join(p.capitalize() for p in name.split("-"))] = value
    return cleaned


# Attachments may say `{"maker": name, "source": text}` instead of carrying bytes: the
# receiver connected under `name` makes the bytes when the message is sent or shown. A
# maker must be a pure function of `source` (same bytes every time).
attachment_maker: Signal[str, bytes] = Signal(
    "attachment_maker",
    str,
    keyed=True,
    doc="Makes an attachment's bytes from its stored source, by maker name (e.g. ticket QR).",
)


def _clean_attachments(attachments: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = []
    for item in attachments or []:
        maker = item.get("maker")
        data = item.get("data", b"")
        if isinstance(data, str):
            data = data.encode()
        if maker is not None:
            if not attachment_maker.has(str(maker)) or not isinstance(item.get("source"), str):
                raise ValidationFailed(fields={"attachments": _("Pièce jointe invalide.")})
        elif not isinstance(data, bytes | bytearray):
            raise ValidationFailed(fields={"attachments": _("Pièce jointe invalide.")})
        content_type = one_line(item.get("content_type") or "", 100).lower()
        if not _CONTENT_TYPE.match(content_type):
            content_type = "application/octet-stream"
        filename = one_line(item.get("filename") or "piece-jointe", 200).replace('"', "'")
        content_id = item.get("content_id")
        cid = one_line(content_id, 200).strip("<>") if content_id else None
        entry: dict[str, Any] = {
            "filename": filename or "piece-jointe",
            "content_type": content_type,
            "content_id": cid or None,
        }
        if maker is not None:
            entry.update(maker=maker, source=item["source"])
        else:
            entry["data"] = base64.b64encode(bytes(data)).decode("ascii")
        stored.append(entry)
    return stored


def attachment_bytes(item: Mapping[str, Any]) -> bytes:
    """The attachment's bytes: stored, or made now by its registered maker."""
    maker = item.get("maker")
    if maker is not None:
        # LookupError when the package that made it is not loaded: a deployment error.
        return attachment_maker.call(str(maker), str(item.get("source", "")))
    try:
        return base64.b64decode(str(item.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        return b""


def _template_exists(name: str) -> bool:
    from core.templating import templates

    try:
        templates.env.get_template(name)
    except TemplateNotFound:
        return False
    return True


def render_message(
    template: str, context: Mapping[str, Any], language: str, settings: Settings
) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of `template` rendered in `language`."""
    from core.templating import render_string

    if not _TEMPLATE_NAME.match(template):
        raise ValueError(f"invalid e-mail template name {template!r}")
    lang_token = i18n.current_language.set(language)
    tz_token = i18n.current_timezone.set(settings.time_zone)
    try:
        subject = one_line(render_string(f"emails/{template}.subject.txt", dict(context)), 300)
        text_body = render_string(f"emails/{template}.txt", dict(context)).strip() + "\n"
        html_name = f"emails/{template}.html"
        html_body = render_string(html_name, dict(context)) if _template_exists(html_name) else ""
    finally:
        i18n.current_language.reset(lang_token)
        i18n.current_timezone.reset(tz_token)
    return subject, text_body, html_body


async def queue_mail(
    *,
    to_address: str,
    template: str,
    context: Mapping[str, Any],
    language: str = "fr",
    dedupe_key: str,
    to_name: str = "",
    attachments: Iterable[Mapping[str, Any]] | None = None,
    category: str = "transactional",
    person_id: int | None = None,
    cause: tuple[str, object] | None = None,
    headers: Mapping[str, object] | None = None,
    settings: Settings | None = None,
) -> OutboundMessage:
    """Render and queue one message; the same `dedupe_key` again returns the first one."""
    dedupe_key = one_line(dedupe_key, 200)
    if not dedupe_key:
        raise ValueError("dedupe_key is required")
    existing = await OutboundMessage.get_or_none(dedupe_key=dedupe_key)
    if existing is not None:
        return existing
    message = compose_mail(
        to_address=to_address,
        template=template,
        context=context,
        language=language,
        dedupe_key=dedupe_key,
        to_name=to_name,
        attachments=attachments,
        category=category,
        person_id=person_id,
        cause=cause,
        headers=headers,
        settings=settings,
    )
    await insert_composed(message)
    return await OutboundMessage.get(dedupe_key=dedupe_key)


def compose_mail(
    *,
    to_address: str,
    template: str,
    context: Mapping[str, Any],
    language: str = "fr",
    dedupe_key: str,
    to_name: str = "",
    attachments: Iterable[Mapping[str, Any]] | None = None,
    category: str = "transactional",
    person_id: int | None = None,
    cause: tuple[str, object] | None = None,
    headers: Mapping[str, object] | None = None,
    settings: Settings | None = None,
) -> OutboundMessage:
    """The message rendered and checked, not stored (no I/O): a caller may make it
    before its transaction and queue it inside with `insert_composed`."""
    dedupe_key = one_line(dedupe_key, 200)
    if not dedupe_key:
        raise ValueError("dedupe_key is required")
    settings = settings or load_settings()
    if category not in CATEGORIES:
        raise ValueError(f"unknown mail category {category!r}")
    language = language if language in i18n.LANGUAGES else settings.default_language
    address = clean_address(to_address)
    name = one_line(to_name, 200)
    extra_headers = _clean_headers(headers)
    values: dict[str, Any] = dict(context)
    unsubscribe_url = one_line(values.get("unsubscribe_url") or "")
    if not unsubscribe_url and "List-Unsubscribe" in extra_headers:
        unsubscribe_url = extra_headers["List-Unsubscribe"].strip("<>").split(">", 1)[0]
    values.update(
        sender_identification=settings.mail_sender_address,
        base_url=values.get("base_url") or settings.base_url,
        to_name=name,
        to_address=address,
        language=language,
        category=category,
        unsubscribe_url=unsubscribe_url,
        preferences_url=one_line(values.get("preferences_url") or ""),
    )
    unsubscribe_mailto = one_line(values.get("unsubscribe_mailto") or "")
    if not unsubscribe_mailto.startswith("mailto:"):
        unsubscribe_mailto = ""
    if category == "bulk" and unsubscribe_url:
        entries = f"<{unsubscribe_url}>" + (
            f", <{unsubscribe_mailto}>" if unsubscribe_mailto else ""
        )
        extra_headers.setdefault("List-Unsubscribe", entries)
        extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    subject, text_body, html_body = render_message(template, values, language, settings)
    cause_type, cause_id = (one_line(cause[0], 64), one_line(cause[1], 64)) if cause else ("", "")
    message = OutboundMessage(
        dedupe_key=dedupe_key,
        message_id=new_message_id(settings),
        to_address=address,
        to_name=name,
        language=language,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        headers=extra_headers,
        attachments=_clean_attachments(attachments),
        category=category,
        status=MessageStatus.QUEUED,
        next_attempt_at=datetime.now(UTC),
        person_id=person_id,
        cause_type=cause_type,
        cause_id=cause_id,
    )
    return message


# (connection, dialect) -> (field names, INSERT ... ON CONFLICT DO NOTHING)
_INSERT_SQL: dict[tuple[str, str], tuple[list[str], str]] = {}


async def insert_composed(message: OutboundMessage) -> None:
    """Queue a message made by `compose_mail`, in the caller's transaction:
    `bulk_create([message], ignore_conflicts=True)` with its SQL built once per
    database instead of at every call (where it cost more than the insert itself).

    ON CONFLICT DO NOTHING: a concurrent insert of the same key neither fails nor aborts
    the caller's transaction (queue_mail then reads back the one that won)."""
    db = OutboundMessage._meta.db
    key = (db.connection_name, db.capabilities.dialect)
    prepared = _INSERT_SQL.get(key)
    if prepared is None:
        executor = db.executor_class(model=OutboundMessage, db=db)
        columns = list(executor.regular_columns)
        # The statement bulk_create itself builds (Tortoise's executor).
        sql = executor._prepare_insert_statement(columns, ignore_conflicts=True).get_sql()
        prepared = _INSERT_SQL[key] = (columns, sql)
    columns, sql = prepared
    fields_map = OutboundMessage._meta.fields_map
    values = [fields_map[name].to_db_value(getattr(message, name), message) for name in columns]
    await db.execute_insert(sql, values)


async def send_test_mail(settings: Settings, to: str) -> OutboundMessage:
    """Queue a test message (what `rassembleur send-test-mail` does)."""
    now = datetime.now(UTC)
    return await queue_mail(
        to_address=to,
        template="test",
        context={"queued_at": now, "smtp_configured": bool(settings.smtp_url)},
        language=settings.default_language,
        dedupe_key=f"test:{uuid.uuid4().hex}",
        cause=("test", now.strftime("%Y%m%dT%H%M%S")),
        settings=settings,
    )


# Bodies as quoted-printable UTF-8: readable in transit, safe for 7-bit servers.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_PLAIN_LINE = re.compile(r"[\t\x20-\x7e]*")


class _WirePolicy(Compat32):
    """compat32 with the wire's CRLF line ends. A header whose line already fits (plain
    ASCII, at most 78 characters) is written as is: what compat32 writes for it, without
    its `Header` folding machinery, which took a fifth of the worker's time per message."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (
            isinstance(value, str)
            and len(name) + len(value) + 2 <= 78
            and _PLAIN_LINE.fullmatch(value) is not None
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE_POLICY = _WirePolicy(linesep="\r\n", max_line_length=78)


def _header(value: str) -> str:
    """A header value: plain when ASCII, else RFC 2047 encoded words (base64, UTF-8).

    Done here rather than with `email.header.Header`, whose encoder is slow enough to
    show in the worker's profile. Words hold at most 45 bytes (never a split character)
    and are separated by spaces, where the generator may fold the line.
    """
    value = one_line(value)
    if value.isascii():
        return value
    words: list[bytes] = []
    chunk = b""
    for char in value:
        encoded = char.encode()
        if len(chunk) + len(encoded) > 45:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return " ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def _text_part(body: str, subtype: str) -> MIMEText:
    return MIMEText(body, subtype, _UTF8_QP)  # type: ignore[arg-type]


def _binary_part(item: Mapping[str, Any], disposition: str) -> MIMEBase:
    mime, _sep, parameter = str(item["content_type"]).partition(";")
    maintype, _sep, subtype = mime.strip().partition("/")
    part = MIMEBase(maintype, subtype)
    if parameter:
        name, _sep, value = parameter.strip().partition("=")
        part.set_param(name, value.upper() if name == "method" else value)
    part.set_payload(attachment_bytes(item))
    encoders.encode_base64(part)
    filename = str(item.get("filename") or "piece-jointe")
    part.add_header(
        "Content-Disposition",
        disposition,
        filename=filename if filename.isascii() else ("utf-8", "", filename),
    )
    if item.get("content_id"):
        part["Content-ID"] = f"<{item['content_id']}>"
    return part


def build_mime(message: OutboundMessage, settings: Settings) -> Message:
    """The RFC 5322 message the worker sends (also shown in the back office).

    Built with the compat32 `email.mime` classes: several times faster than
    `EmailMessage` (whose header registry dominates the worker's CPU time otherwise).
    """
    attachments = list(message.attachments or [])
    inline = [a for a in attachments if a.get("content_id")] if message.html_body else []
    attached = [a for a in attachments if a not in inline]
    body: Message = _text_part(message.text_body, "plain")
    if message.html_body:
        html: Message = _text_part(message.html_body, "html")
        if inline:
            html = MIMEMultipart("related", _subparts=[html])
            for item in inline:
                html.attach(_binary_part(item, "inline"))
        body = MIMEMultipart("alternative", _subparts=[body, html])
    if attached:
        body = MIMEMultipart("mixed", _subparts=[body])
        for item in attached:
            body.attach(_binary_part(item, "attachment"))
    sender_name, sender_address = parseaddr(one_line(settings.mail_from))
    body["From"] = formataddr((sender_name, sender_address), charset="utf-8")
    body["To"] = formataddr((one_line(message.to_name), message.to_address), charset="utf-8")
    body["Subject"] = _header(message.subject)
    body["Date"] = format_datetime(message.created_at or datetime.now(UTC))
    body["Message-ID"] = message.message_id
    for name, value in (message.headers or {}).items():
        if name.lower() not in RESERVED_HEADERS and _HEADER_NAME.match(name):
            body[name] = _header(str(value))
    # email.mime puts MIME-Version on every part and the content headers first: keep
    # one MIME-Version, at the top level, after the addressing headers.
    for part in body.walk():
        if part is not body:
            del part["MIME-Version"]
    content = {"mime-version", "content-type", "content-transfer-encoding"}
    raw: Any = body  # reordering only, values untouched
    headers = raw._headers
    raw._headers = [h for h in headers if h[0].lower() not in content] + [
        h for h in headers if h[0].lower() in content
    ]
    return body


def mime_bytes(message: Message) -> bytes:
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=_WIRE_POLICY).flatten(message)
    return buffer.getvalue()


def envelope_sender(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1] or f"no-reply@{mail_domain(settings)}"


# --------------------------------------------------------------------------- privacy


async def messages_for_person(person_id: int) -> list[dict[str, Any]]:
    """The messages sent (or to be sent) to one person, for their data export."""
    messages = await OutboundMessage.filter(person_id=person_id).order_by("created_at", "id")
    return [
        {
            "id": m.id,
            "created_at": m.created_at.isoformat(),
            "to_address": m.to_address,
            "subject": m.subject,
            "text_body": m.text_body,
            "category": m.category,
            "status": str(m.status),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        }
        for m in messages
    ]


ERASED_SUBJECT = "(message anonymisé)"


async def forget_person_messages(person_id: int) -> int:
    """Anonymize the stored copies of one person's messages (the rows stay, for counts).

    A message not yet delivered is never sent: it is marked failed.
    """
    return await _forget(OutboundMessage.filter(person_id=person_id))


async def forget_caused_messages(
    causes: Iterable[tuple[str, object]],
    *,
    person_id: int | None = None,
    new_person_id: int | None = None,
) -> int:
    """Anonymize the stored copies of the messages sent because of `causes` ((type, id)
    pairs, as given to `queue_mail`), to `person_id` only when given; `new_person_id`
    moves them to another person (an anonymous one: they no longer tell whom they went to).
    """
    by_type: dict[str, list[str]] = {}
    for cause_type, cause_id in causes:
        by_type.setdefault(cause_type, []).append(str(cause_id))
    if not by_type:
        return 0
    rows = OutboundMessage.filter(
        Q(
            *(Q(cause_type=kind, cause_id__in=ids) for kind, ids in by_type.items()),
            join_type="OR",
        )
    )
    if person_id is not None:
        rows = rows.filter(person_id=person_id)
    if new_person_id is not None:
        ids = list(await rows.values_list("id", flat=True))
        rows = OutboundMessage.filter(id__in=ids)
        await rows.update(person_id=new_person_id)
    return await _forget(rows)


async def _forget(rows: QuerySet[OutboundMessage]) -> int:
    await rows.filter(status__in=(MessageStatus.QUEUED, MessageStatus.SENDING)).update(
        status=MessageStatus.FAILED, claimed_until=None, claim_token=None
    )
    return await rows.update(
        to_address="",
        to_name="",
        subject=ERASED_SUBJECT,
        text_body="",
        html_body="",
        headers={},
        attachments=[],
        last_error="",
    )
