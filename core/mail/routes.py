"""Back-office outbox pages: list with counts per status, one message, retry one,
retry every abandoned message."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from tortoise.functions import Count

from core.auth import requires
from core.errors import NotFound, ValidationFailed
from core.http import flash, read_form, redirect
from core.i18n import N_, _, ngettext
from core.mail.outbox import attachment_bytes, build_mime
from core.mail.retry import RETRYABLE, retry_dead_messages, retry_message
from core.models import MessageStatus, OutboundMessage
from core.paging import page_number
from core.templating import render

PAGE_SIZE = 50
STATUS_LABELS = {
    MessageStatus.QUEUED: N_("En file d'attente"),
    MessageStatus.SENDING: N_("En cours d'envoi"),
    MessageStatus.SENT: N_("Envoyé"),
    MessageStatus.FAILED: N_("Refusé"),
    MessageStatus.DEAD: N_("Abandonné"),
}
# The message's HTML is shown in a sandboxed frame: no scripts, no forms, no plugins,
# no network except inline styles and embedded (data:) images.
PREVIEW_CSP = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _labels() -> dict[str, str]:
    return {status.value: _(label) for status, label in STATUS_LABELS.items()}


def _page(request: Request) -> int:
    return page_number(request.query_params.get("page", "1"))


@requires("outbox.view")
async def outbox_page(request: Request) -> Response:
    status = request.query_params.get("status", "")
    if status not in {s.value for s in MessageStatus}:
        status = ""
    search = request.query_params.get("q", "").strip()[:254]
    page = _page(request)
    rows = (
        await OutboundMessage.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    )
    counts = {s.value: 0 for s in MessageStatus}
    for value, n in rows:
        counts[str(value)] = int(n)
    query = OutboundMessage.all()
    if status:
        query = query.filter(status=status)
    if search:
        query = query.filter(to_address__icontains=search)
    messages = (
        await query.order_by("-id")
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
        .only(
            "id",
            "created_at",
            "to_address",
            "to_name",
            "subject",
            "status",
            "attempts",
            "sent_at",
            "next_attempt_at",
            "last_error",
            "category",
        )
    )
    params = "&" + urlencode({"status": status, "q": search})
    return render(
        request,
        "mail/outbox.html",
        {
            "messages": messages[:PAGE_SIZE],
            "has_next": len(messages) > PAGE_SIZE,
            "page": page,
            "status": status,
            "search": search,
            "counts": counts,
            "total": sum(counts.values()),
            "labels": _labels(),
            "params": params,
            "can_retry": request.state.principal.can("outbox.retry"),
        },
    )


async def _message(request: Request) -> OutboundMessage:
    message = await OutboundMessage.get_or_none(id=int(request.path_params["id"]))
    if message is None:
        raise NotFound(_("Ce message n'existe pas."))
    return message


@requires("outbox.view")
async def message_page(request: Request) -> Response:
    message = await _message(request)
    settings = request.app.state.settings
    mime = build_mime(message, settings)
    headers = [(name, str(value)) for name, value in mime.items()]
    attachments = [
        {
            "index": index,
            "filename": item.get("filename", ""),
            "content_type": item.get("content_type", ""),
            "size": len(attachment_bytes(item)),
            "inline": bool(item.get("content_id")),
        }
        for index, item in enumerate(message.attachments or [])
    ]
    return render(
        request,
        "mail/message.html",
        {
            "message": message,
            "headers": headers,
            "attachments": attachments,
            "labels": _labels(),
            "can_retry": message.status in RETRYABLE
            and request.state.principal.can("outbox.retry"),
        },
    )


_CID = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)


@requires("outbox.view")
async def message_html(request: Request) -> Response:
    """The HTML body alone, for the sandboxed iframe (inline images as data: URLs)."""
    message = await _message(request)
    inline = {
        str(item["content_id"]): item
        for item in message.attachments or []
        if item.get("content_id")
    }

    def embed(match: re.Match[str]) -> str:
        item = inline.get(match.group(1))
        if item is None:
            return match.group(0)
        data = base64.b64encode(attachment_bytes(item)).decode("ascii")
        return f"data:{item['content_type']};base64,{data}"

    body = _CID.sub(embed, message.html_body) if inline else message.html_body
    if not body:
        body = "<p>" + _("Ce message n'a pas de version HTML.") + "</p>"
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": PREVIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )


@requires("outbox.view")
async def attachment_download(request: Request) -> Response:
    message = await _message(request)
    index = int(request.path_params["index"])
    items = message.attachments or []
    if not 0 <= index < len(items):
        raise NotFound()
    item = items[index]
    filename = str(item.get("filename") or "piece-jointe")
    return Response(
        attachment_bytes(item),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "no-store",
        },
    )


@requires("outbox.retry")
async def message_retry(request: Request) -> Response:
    await read_form(request)
    message_id = int(request.path_params["id"])
    try:
        await retry_message(request.state.principal, message_id)
    except ValidationFailed as error:
        flash(request, error.message, "error")
    else:
        flash(request, _("Le message est remis dans la file d'envoi."))
    return redirect(f"/admin/outbox/{message_id}")


@requires("outbox.retry")
async def retry_dead(request: Request) -> Response:
    await read_form(request)
    count = await retry_dead_messages(request.state.principal)
    if count:
        flash(
            request,
            ngettext(
                "%(num)s message abandonné est remis dans la file d'envoi.",
                "%(num)s messages abandonnés sont remis dans la file d'envoi.",
                count,
            ),
        )
    else:
        flash(request, _("Aucun message abandonné à renvoyer."), "error")
    return redirect("/admin/outbox")


routes = [
    Route("/admin/outbox", outbox_page, name="outbox"),
    Route("/admin/outbox/retry-dead", retry_dead, methods=["POST"], name="outbox_retry_dead"),
    Route("/admin/outbox/{id:int}", message_page, name="outbox_message"),
    Route("/admin/outbox/{id:int}/html", message_html, name="outbox_message_html"),
    Route(
        "/admin/outbox/{id:int}/attachments/{index:int}",
        attachment_download,
        name="outbox_attachment",
    ),
    Route("/admin/outbox/{id:int}/retry", message_retry, methods=["POST"], name="outbox_retry"),
]
