"""The certificate page, the PDF certificate and the window sticker: each carries the
employer, the level, the dates, the body's name and a QR code that decodes (zxing-cpp) to
the public verification URL. The PDFs are rasterized with PDFium (pypdfium2) as a printer
or a viewer would, and the QR code is read from the rendered page."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime, timedelta

import pypdfium2
import zxingcpp
from PIL import Image

from campaigns.certification.models import CertificateStatus
from core import i18n
from tests.certification.certified import certified, program

NOW = datetime.now(UTC)
BODY = "Instance régionale de concertation, Québec"  # Settings.mail_sender_address


def decode(image: Image.Image) -> str:
    results = zxingcpp.read_barcodes(image)
    assert results, "no QR code found"
    assert {r.format for r in results} == {zxingcpp.BarcodeFormat.QRCode}
    texts = {r.text for r in results}
    assert len(texts) == 1
    return results[0].text


def rendered(pdf: bytes) -> tuple[Image.Image, str, tuple[float, float]]:
    """The first page at 150 dpi, its text and its size in points."""
    document = pypdfium2.PdfDocument(pdf)
    assert len(document) == 1
    page = document[0]
    image = page.render(scale=150 / 72).to_pil()
    text = page.get_textpage().get_text_range()
    return image, text, page.get_size()


async def test_the_pdf_certificate_qr_decodes_to_the_verification_url(client):
    cert = await certified(
        await program(), "Boulangerie L’Œuf d’or — Joliette", level="argent", code="QRPD2345"
    )
    response = await client.get(f"/certification/certificat/{cert.code}/certificat.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="certificat-QRPD2345.pdf"' in response.headers["content-disposition"]
    image, text, (width, height) = rendered(response.content)
    assert (round(width), round(height)) == (792, 612)  # Letter, landscape
    assert decode(image) == "http://testserver/certification/verify/QRPD2345"
    flat = " ".join(text.split())
    assert "Boulangerie L’Œuf d’or — Joliette" in flat
    assert "Niveau Argent" in flat
    assert BODY in flat
    i18n.current_language.set("fr")
    assert i18n.format_day(cert.valid_until) in flat
    assert i18n.format_day(cert.issued_at) in flat


async def test_the_window_sticker_qr_decodes_to_the_verification_url(client):
    cert = await certified(await program(), "Fromagerie du Rang-Double", level="or")
    response = await client.get(f"/certification/certificat/{cert.code}/autocollant.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    image, text, (width, height) = rendered(response.content)
    assert round(width) == round(height) == 360  # 5 inches square
    assert decode(image) == f"http://testserver/certification/verify/{cert.code}"
    # Still readable when printed small: a 1-inch-wide rendering of the whole sticker.
    small = pypdfium2.PdfDocument(response.content)[0].render(scale=0.5).to_pil()
    assert decode(small) == f"http://testserver/certification/verify/{cert.code}"
    flat = " ".join(text.split())
    assert "Fromagerie du Rang-Double" in flat
    assert "Employeur certifié · Or" in flat
    assert "Valide jusqu" in flat
    assert BODY in flat


async def test_the_certificate_page_shows_the_qr_and_the_downloads(client):
    cert = await certified(await program(), "Marché Lachenaie", level="bronze")
    response = await client.get(f"/certification/certificat/{cert.code}")
    assert response.status_code == 200
    page = response.text
    assert "Marché Lachenaie" in page
    assert "Niveau Bronze" in page
    assert f"/certification/certificat/{cert.code}/certificat.pdf" in page
    assert f"/certification/certificat/{cert.code}/autocollant.pdf" in page
    data = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    assert decode(image) == f"http://testserver/certification/verify/{cert.code}"


async def test_no_certificate_for_a_revoked_or_lapsed_employer(client):
    prog = await program()
    revoked = await certified(
        prog, "Restaurant Chez Paul", status=CertificateStatus.REVOKED, revoked_at=NOW
    )
    lapsed = await certified(
        prog,
        "Dépanneur du Coin",
        status=CertificateStatus.LAPSED,
        valid_until=NOW - timedelta(days=1),
        issued_at=NOW - timedelta(days=731),
    )
    for cert in (revoked, lapsed):
        base = f"/certification/certificat/{cert.code}"
        page = await client.get(base)
        assert page.status_code == 410
        assert "Certificat non valide" in page.text
        for name in ("certificat.pdf", "autocollant.pdf"):
            document = await client.get(f"{base}/{name}")
            assert document.status_code == 410
            assert not document.content.startswith(b"%PDF")
    assert (await client.get("/certification/certificat/NOPE0000/certificat.pdf")).status_code == (
        404
    )


async def test_english_certificate(client):
    cert = await certified(await program(), "Garage Leblanc", level="or")
    response = await client.get(f"/certification/certificat/{cert.code}/certificat.pdf?lang=en")
    _image, text, _size = rendered(response.content)
    assert "Gold level" in " ".join(text.split())
