"""One-page printable documents (certificates, attestations) made with fpdf2.

fpdf2's core fonts are Latin-1 only: "’", "œ" and "—", common in French, are refused. The
documents therefore embed DejaVu Serif (static/fonts/dejavu/, Bitstream Vera licence, see
the LICENSE file there), subset to the characters used.

Speed: fpdf2 parses the font and subsets it with fontTools for every document (about 45 ms
with the full font). The font is cut once per process, in memory, to the Latin, punctuation
and currency characters French and English need (the file on disk stays as published), and
one face is used: bold is drawn by stroking the glyph outline as well as filling it; the
font object is read once and copied per document; a one-line paragraph is a cell (fpdf2's
line breaking measures the line again at every character). A certificate then takes about
10 ms of CPU. Many at once (`certificate_pdfs`): drawn by worker processes, so the server's
event loop stays free.

Pages are US Letter, landscape: the paper format used in Québec. The output is the same bytes
for the same input (fixed creation date, no random identifier), so tests can compare it.

    pdf = certificate_pdf(
        Certificate(
            title="Attestation de participation",
            lines=["Nous attestons que", Line("Marie Tremblay", size=22, bold=True)],
            footer=settings.mail_sender_address,
            qr_png=tickets.qr_png(url),
            qr_caption=url,
            created_at=issued_at,
        )
    )
"""

from __future__ import annotations

import asyncio
import copy
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from fontTools import subset as ftsubset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import TextMode
from fpdf.fonts import SubsetMap, TTFFont

FONT_FILE = (
    Path(__file__).resolve().parent.parent / "static" / "fonts" / "dejavu" / "DejaVuSerif.ttf"
)
FONT_FAMILY = "dejavu-serif"
# Basic Latin, Latin-1, Latin Extended-A (œ, Œ), general punctuation (’ « » — … and the
# narrow no-break space of French typography), €, ™, №.
FONT_CHARACTERS = frozenset(
    [*range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x2000, 0x2070), 0x20AC, 0x2116, 0x2122]
)

PAGE_FORMAT = "letter"  # 279.4 × 215.9 mm, landscape
MARGIN = 18.0  # mm
QR_SIZE = 34.0  # mm: scans from a phone held at arm's length
INK = (33, 37, 41)
ACCENT = (13, 71, 120)
MUTED = (90, 96, 104)
DEFAULT_DATE = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Line:
    """One centred paragraph of the body (wrapped when too long)."""

    text: str
    size: float = 13  # points
    bold: bool = False
    space_before: float = 3  # mm


@dataclass(frozen=True)
class Certificate:
    title: str
    lines: Sequence[Line | str] = ()
    footer: str = ""  # the body's name, bottom left
    heading: str = ""  # a small line above the title
    qr_png: bytes | None = None  # bottom right, e.g. registrations.tickets.qr_png(url)
    qr_caption: str = ""  # under the QR code, e.g. the URL it holds
    created_at: datetime = DEFAULT_DATE  # the document's creation date (metadata)
    author: str = ""
    language: str = "fr-CA"


_font_bytes: bytes | None = None
_font_lock = threading.Lock()


def _latin_font() -> bytes:
    """DejaVu Serif cut to FONT_CHARACTERS, without hinting or layout tables (once)."""
    global _font_bytes
    with _font_lock:
        if _font_bytes is None:
            font = ttLib.TTFont(FONT_FILE, recalcTimestamp=False)
            options = ftsubset.Options(
                notdef_outline=True, recommended_glyphs=True, hinting=False, layout_features=[]
            )
            options.name_IDs = ["*"]
            options.name_languages = ["*"]
            options.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "kern"]
            subsetter = ftsubset.Subsetter(options)
            subsetter.populate(unicodes=FONT_CHARACTERS)
            subsetter.subset(font)
            buffer = BytesIO()
            font.save(buffer)
            _font_bytes = buffer.getvalue()
        return _font_bytes


_template: TTFFont | None = None


def _font_for(pdf: FPDF) -> TTFFont:
    """The font object of one document. Reading a TTF into fpdf2's font object (metrics,
    character map, widths) is done once: each document gets a shallow copy with its own
    font file object (fpdf2 cuts it to the glyphs used when writing the PDF) and its own
    record of the glyphs used; the metrics are shared and only read."""
    global _template
    data = _latin_font()
    if _template is None:
        _template = TTFFont(pdf, BytesIO(data), FONT_FAMILY, "")  # type: ignore[arg-type]
    font = copy.copy(_template)
    font.i = len(pdf.fonts) + 1
    font.biggest_size_pt = 0
    font.ttfont = ttLib.TTFont(BytesIO(data), recalcTimestamp=False, lazy=True)
    # The glyphs' bounding boxes were computed when the font was cut: recomputing them
    # when fpdf2 saves its subset would decode every outline again.
    font.ttfont.recalcBBoxes = False
    font.missing_glyphs = []
    font.subset = SubsetMap(font)
    return font


class _Document(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="landscape", unit="mm", format=PAGE_FORMAT)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.fonts[FONT_FAMILY] = _font_for(self)

    def write_line(self, text: str, *, size: float, bold: bool, width: float) -> None:
        self.set_font(FONT_FAMILY, "", size)
        if bold:  # stroke the outline too: one face to embed instead of two
            self.text_mode = TextMode.FILL_STROKE
            self.set_line_width(size * 0.012)
        height = size * 0.5
        if self.get_string_width(text) <= width - 2 * self.c_margin:
            # One line: fpdf2's line breaking measures the line again at every character.
            self.cell(width, height, text, align="C", new_x="LMARGIN", new_y="NEXT")
        else:
            self.multi_cell(width, height, text, align="C", new_x="LMARGIN", new_y="NEXT")
        self.text_mode = TextMode.FILL


def certificate_pdf(certificate: Certificate) -> bytes:
    """A one-page, landscape Letter PDF of the certificate."""
    pdf = _Document()
    pdf.set_creation_date(certificate.created_at)
    pdf.set_lang(certificate.language)
    pdf.set_title(certificate.title)
    pdf.set_creator("Rassembleur")
    pdf.set_producer("Rassembleur")
    if certificate.author:
        pdf.set_author(certificate.author)
    pdf.add_page()
    width = pdf.w - 2 * MARGIN

    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(MARGIN / 2, MARGIN / 2, pdf.w - MARGIN, pdf.h - MARGIN)
    pdf.set_line_width(0.3)
    pdf.rect(MARGIN / 2 + 2.5, MARGIN / 2 + 2.5, pdf.w - MARGIN - 5, pdf.h - MARGIN - 5)

    pdf.set_y(MARGIN + 4)
    if certificate.heading:
        pdf.set_text_color(*MUTED)
        pdf.write_line(certificate.heading, size=12, bold=False, width=width)
        pdf.ln(4)
    pdf.set_text_color(*ACCENT)
    pdf.set_draw_color(*ACCENT)
    pdf.write_line(certificate.title, size=28, bold=True, width=width)
    pdf.ln(6)

    pdf.set_text_color(*INK)
    pdf.set_draw_color(*INK)
    for item in certificate.lines:
        line = Line(item) if isinstance(item, str) else item
        pdf.ln(line.space_before)
        pdf.write_line(line.text, size=line.size, bold=line.bold, width=width)

    bottom = pdf.h - MARGIN - 2
    if certificate.qr_png is not None:
        caption_height = 5 if certificate.qr_caption else 0
        pdf.image(
            BytesIO(certificate.qr_png),
            x=pdf.w - MARGIN - QR_SIZE - 2,
            y=bottom - QR_SIZE - caption_height,
            w=QR_SIZE,
            h=QR_SIZE,
        )
        if certificate.qr_caption:
            caption_width = 110.0
            pdf.set_font(FONT_FAMILY, "", 7)
            pdf.set_text_color(*MUTED)
            pdf.set_xy(pdf.w - MARGIN - caption_width - 2, bottom - 4)
            pdf.cell(caption_width, 4, certificate.qr_caption, align="R")
    if certificate.footer:
        footer_width = width - 4 - (QR_SIZE + 8 if certificate.qr_png is not None else 0)
        pdf.set_text_color(*ACCENT)
        pdf.set_draw_color(*ACCENT)
        pdf.set_xy(MARGIN + 2, bottom - 10)
        pdf.set_font(FONT_FAMILY, "", 12)
        pdf.text_mode = TextMode.FILL_STROKE
        pdf.set_line_width(0.15)
        pdf.multi_cell(footer_width, 6, certificate.footer, align="L")
        pdf.text_mode = TextMode.FILL
    return bytes(pdf.output())


# --------------------------------------------------------------------------- many at once

# Drawing is CPU work (about 10 ms a page) that would hold the event loop: many documents
# at once (mailing every certificate of an event) are drawn by worker processes, started
# when first needed ("spawn": nothing of the server's state is inherited) and kept.
PDF_WORKERS = min(4, os.cpu_count() or 1)
INLINE_BELOW = 4  # fewer documents than this: drawn here
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
log = logging.getLogger("rassembleur.pdf")


def _executor() -> ProcessPoolExecutor | None:
    global _pool
    if PDF_WORKERS < 2:
        return None
    with _pool_lock:
        if _pool is None:
            try:
                _pool = ProcessPoolExecutor(
                    max_workers=PDF_WORKERS, mp_context=multiprocessing.get_context("spawn")
                )
            except (OSError, NotImplementedError):  # no worker processes here: draw inline
                log.warning("processus de dessin PDF indisponibles; dessin dans le processus")
                return None
        return _pool


def _draw(certificates: list[Certificate]) -> list[bytes]:
    return [certificate_pdf(certificate) for certificate in certificates]


async def certificate_pdfs(certificates: list[Certificate]) -> list[bytes]:
    """`certificate_pdf` of each, in order, drawn by worker processes (the event loop
    stays free); a handful, or without workers: here, yielding between pages."""
    pool = _executor() if len(certificates) >= INLINE_BELOW else None
    if pool is None:
        pages = []
        for certificate in certificates:
            pages.append(certificate_pdf(certificate))
            await asyncio.sleep(0)
        return pages
    loop = asyncio.get_running_loop()
    size = -(-len(certificates) // PDF_WORKERS)
    chunks = [certificates[i : i + size] for i in range(0, len(certificates), size)]
    try:
        drawn = await asyncio.gather(*(loop.run_in_executor(pool, _draw, c) for c in chunks))
    except BrokenProcessPool:  # a worker died (killed, out of memory): new ones next time
        log.exception("processus de dessin PDF interrompu; dessin dans le processus")
        shutdown_workers()
        return _draw(certificates)
    return [page for chunk in drawn for page in chunk]


def shutdown_workers() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None
