"""The certificate of a certified employer: its page, its PDF and its window sticker.

Both documents carry the employer's name, the program, the level, the dates, the body's
name and a QR code that opens the public verification page
(`BASE_URL/certification/verify/{code}`), so that anyone scanning a sticker in a shop
window learns whether the certification still holds. The QR images are the tickets' (one
black-on-white PNG writer, error correction M).

The certificate uses the shared one-page layout of `core.pdf` (fpdf2, Letter landscape,
DejaVu fonts embedded); the sticker is a square 5-inch page of its own drawn here with
fpdf2 and the same fonts. Only a certificate in force can be printed: an expired, lapsed,
revoked or replaced one answers 410 like its verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Any

from fpdf import FPDF
from fpdf.enums import TextMode

from campaigns.certification.verification import (
    CertificateGone,
    Verification,
    verify,
    verify_url,
)
from core import i18n, pdf
from core.i18n import _
from registrations.tickets import qr_png

STICKER_SIZE = 127.0  # mm: a 5-inch square, the usual window-sticker size
STICKER_QR = 60.0  # mm
STICKER_MARGIN = 7.0  # mm
# Level colours on the sticker (by level code; others get the brand colour).
LEVEL_COLOURS: dict[str, tuple[int, int, int]] = {
    "bronze": (140, 82, 35),
    "argent": (96, 103, 112),
    "silver": (96, 103, 112),
    "or": (150, 110, 10),
    "gold": (150, 110, 10),
}
BRAND = pdf.ACCENT


@dataclass(frozen=True)
class Printable:
    """What both documents print (in the current language)."""

    verification: Verification
    url: str
    body_name: str
    language: str

    @property
    def level_name(self) -> str:
        return self.verification.level_name(self.language)

    @property
    def issued(self) -> str:
        return i18n.format_day(self.verification.issued_at)

    @property
    def valid_until(self) -> str:
        return i18n.format_day(self.verification.valid_until)

    @property
    def colour(self) -> tuple[int, int, int]:
        return LEVEL_COLOURS.get(self.verification.level_code.lower(), BRAND)


def certificate_path(code: str) -> str:
    return f"/certification/certificat/{code}"


async def printable(code: str, *, base_url: str, body_name: str) -> Printable:
    """The certificate `code` ready to print; NotFound when unknown, CertificateGone (410)
    when no longer in force."""
    verification = await verify(code)
    if not verification.in_force:
        raise CertificateGone(verification, base_url)
    return Printable(
        verification=verification,
        url=verify_url(base_url, verification.code),
        body_name=body_name,
        language=i18n.current_language.get(),
    )


def qr_image(item: Printable) -> bytes:
    return qr_png(item.url)


def certificate_pdf(item: Printable) -> bytes:
    """A one-page Letter certificate (landscape) with the verification QR."""
    v = item.verification
    document = pdf.Certificate(
        heading=item.body_name,
        title=v.program_name,
        lines=[
            pdf.Line(_("Certificat décerné à"), size=13, space_before=2),
            pdf.Line(v.employer_name, size=24, bold=True, space_before=4),
            pdf.Line(_("Niveau %(level)s", level=item.level_name), size=20, bold=True),
            pdf.Line(
                _(
                    "L'employeur s'engage à favoriser la conciliation études-travail de ses "
                    "employés aux études et à valoriser l'obtention d'un premier diplôme."
                ),
                size=12,
                space_before=6,
            ),
            pdf.Line(
                _(
                    "Délivré le %(issued)s · valide jusqu'au %(until)s",
                    issued=item.issued,
                    until=item.valid_until,
                ),
                size=12,
                space_before=4,
            ),
            pdf.Line(_("Code du certificat : %(code)s", code=v.code), size=11),
        ],
        footer=item.body_name,
        qr_png=qr_image(item),
        qr_caption=_("Vérifier : %(url)s", url=item.url),
        created_at=v.issued_at,
        author=item.body_name,
        language="en-CA" if item.language == "en" else "fr-CA",
    )
    return pdf.certificate_pdf(document)


class _Sticker(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format=(STICKER_SIZE, STICKER_SIZE))
        self.set_margins(STICKER_MARGIN, STICKER_MARGIN, STICKER_MARGIN)
        self.set_auto_page_break(False)
        self.add_font(pdf.FONT_FAMILY, "", pdf.FONT_FILE)

    def centred(self, text: str, *, size: float, bold: bool = False, **cell: Any) -> None:
        """One line in `size` points; bold drawn as core.pdf does (outline stroked)."""
        self.set_font(pdf.FONT_FAMILY, "", size)
        if bold:
            self.text_mode = TextMode.FILL_STROKE
            self.set_line_width(size * 0.012)
        self.multi_cell(text=text, align="C", **cell)
        self.text_mode = TextMode.FILL


def sticker_pdf(item: Printable) -> bytes:
    """A square window sticker: the level in large type, the employer, the validity and a
    large QR code to scan from the street."""
    v = item.verification
    doc = _Sticker()
    doc.set_creation_date(v.issued_at)
    doc.set_lang("en-CA" if item.language == "en" else "fr-CA")
    doc.set_title(_("Autocollant — %(employer)s", employer=v.employer_name))
    doc.set_creator("Rassembleur")
    doc.set_producer("Rassembleur")
    doc.set_author(item.body_name)
    doc.add_page()
    width = STICKER_SIZE - 2 * STICKER_MARGIN

    # A band in the level's colour: the program, then the level.
    doc.set_fill_color(*item.colour)
    doc.rect(0, 0, STICKER_SIZE, 25, style="F")
    doc.set_text_color(255, 255, 255)
    doc.set_draw_color(255, 255, 255)
    doc.set_xy(STICKER_MARGIN, 3.5)
    doc.centred(v.program_name, size=9, w=width, h=4, max_line_height=4)
    doc.set_xy(STICKER_MARGIN, 14)
    doc.centred(
        _("Employeur certifié · %(level)s", level=item.level_name),
        size=15,
        bold=True,
        w=width,
        h=7,
    )

    doc.set_text_color(*pdf.INK)
    doc.set_draw_color(*pdf.INK)
    doc.set_xy(STICKER_MARGIN, 27.5)
    doc.centred(v.employer_name, size=11, bold=True, w=width, h=5, new_x="LMARGIN", new_y="NEXT")
    doc.centred(_("Valide jusqu'au %(until)s", until=item.valid_until), size=8.5, w=width, h=4.5)

    qr_y = STICKER_SIZE - STICKER_QR - 16
    doc.image(
        BytesIO(qr_image(item)),
        x=(STICKER_SIZE - STICKER_QR) / 2,
        y=qr_y,
        w=STICKER_QR,
        h=STICKER_QR,
    )
    doc.set_text_color(*pdf.MUTED)
    doc.set_xy(STICKER_MARGIN, qr_y + STICKER_QR)
    doc.centred(_("Scannez pour vérifier · code %(code)s", code=v.code), size=7, w=width, h=3.5)
    doc.set_xy(STICKER_MARGIN, qr_y + STICKER_QR + 3.5)
    doc.centred(item.url, size=6.5, w=width, h=3.5)
    doc.set_text_color(*pdf.ACCENT)
    doc.set_draw_color(*pdf.ACCENT)
    doc.set_xy(STICKER_MARGIN, STICKER_SIZE - STICKER_MARGIN - 1)
    doc.centred(item.body_name, size=8, bold=True, w=width, h=4)
    return bytes(doc.output())


def filename(prefix: str, code: str) -> str:
    return f"{prefix}-{code}.pdf"
