"""Public verification of a certificate (what a window sticker's QR code opens) and the
certificate itself: its page, its PDF and its window sticker.

A certificate in force answers 200; one that expired, lapsed, was revoked or replaced by
its renewal answers 410 Gone with a clear page; an unknown code answers 404. The JSON
twin (`/api/v1/certification/verify/{code}`) answers the same statuses.
"""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campaigns.certification import certificates, verification
from campaigns.certification.public_schemas import VerificationOut
from core import i18n
from core.auth import current_principal
from core.errors import NotFound
from core.http import json_response, settings_of
from core.openapi import api_doc
from core.templating import render

TAGS = ["certification"]


async def verify_page(request: Request) -> Response:
    await current_principal(request)
    code = str(request.path_params["code"])
    base_url = settings_of(request).base_url
    try:
        result = await verification.verify(code)
    except NotFound as exc:
        return render(
            request,
            "certification/verify.html",
            {"result": None, "message": exc.message},
            status_code=404,
        )
    context = {
        "result": result,
        "language": i18n.current_language.get(),
        "certificate_url": certificates.certificate_path(result.code),
        "replacement_url": (
            verification.verify_path(result.replacement_code) if result.replacement_code else None
        ),
        "verify_url": verification.verify_url(base_url, result.code),
    }
    return render(
        request,
        "certification/verify.html",
        context,
        status_code=410 if result.gone else 200,
        headers={"Cache-Control": "no-store"},
    )


@api_doc(
    summary="Vérifier un certificat (200 valide; 410 expiré, échu, révoqué ou remplacé)",
    description=(
        '410 : `{"error": {"code": "certificate_revoked" (ou certificate_expired, '
        'certificate_lapsed, certificate_renewed), "message", "certificate": {...}}}`.'
    ),
    tags=TAGS,
    auth="public",
    response=VerificationOut,
    errors=[404, 410],
)
async def verify_api(request: Request) -> Response:
    result = await verification.verify(str(request.path_params["code"]))
    base_url = settings_of(request).base_url
    if result.gone:
        raise verification.CertificateGone(result, base_url)
    return json_response(result.as_json(base_url), headers={"Cache-Control": "no-store"})


async def _printable(request: Request) -> certificates.Printable:
    settings = settings_of(request)
    return await certificates.printable(
        str(request.path_params["code"]),
        base_url=settings.base_url,
        body_name=settings.mail_sender_address,
    )


async def certificate_page(request: Request) -> Response:
    try:
        item = await _printable(request)
    except verification.CertificateGone:
        return await verify_page(request)  # the same clear 410 page
    await current_principal(request)
    qr = base64.b64encode(certificates.qr_image(item)).decode()
    base = certificates.certificate_path(item.verification.code)
    context = {
        "item": item,
        "result": item.verification,
        "qr_data_url": "data:image/png;base64," + qr,
        "pdf_url": base + "/certificat.pdf",
        "sticker_url": base + "/autocollant.pdf",
    }
    return render(request, "certification/certificate.html", context)


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


async def certificate_pdf(request: Request) -> Response:
    item = await _printable(request)
    return _pdf(
        certificates.certificate_pdf(item),
        certificates.filename("certificat", item.verification.code),
    )


async def sticker_pdf(request: Request) -> Response:
    item = await _printable(request)
    return _pdf(
        certificates.sticker_pdf(item),
        certificates.filename("autocollant", item.verification.code),
    )


CERT = "/certification/certificat/{code:str}"

routes = [
    Route("/certification/verify/{code:str}", verify_page, name="certification_verify"),
    Route(
        "/api/v1/certification/verify/{code:str}",
        verify_api,
        methods=["GET"],
        name="api_certification_verify",
    ),
    Route(CERT, certificate_page, name="certification_certificate"),
    Route(CERT + "/certificat.pdf", certificate_pdf, name="certification_certificate_pdf"),
    Route(CERT + "/autocollant.pdf", sticker_pdf, name="certification_sticker_pdf"),
]
