"""core.pdf: one-page certificates, read back from the PDF bytes (tests/pdf_reading.py)."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image

from core.pdf import Certificate, Line, certificate_pdf
from registrations.tickets import qr_png
from tests import pdf_reading

URL = "https://evenements.exemple.qc.ca/attestations/verifier/K7PQ2MXR9T"
FRENCH = "« Élève » l’œuvre — Œuvre, ça, où, Noël, naïf, cœur, ÀÂÇÈÉÊËÎÏÔÙÛÜŸ àâçèéêëîïôùûüÿ"


def _certificate(**changes: object) -> Certificate:
    values: dict[str, object] = {
        "title": "Attestation de participation",
        "heading": "Instance régionale de concertation, Québec",
        "lines": [
            "Nous attestons que",
            Line("Marie-Ève Tremblay", size=22, bold=True),
            FRENCH,
            "le 12 décembre 2026 · 6 h 30",
        ],
        "footer": "Instance régionale de concertation sur la persévérance scolaire",
        "qr_png": qr_png(URL),
        "qr_caption": URL,
        "created_at": datetime(2026, 12, 12, 17, 0, tzinfo=UTC),
    }
    values.update(changes)
    return Certificate(**values)  # type: ignore[arg-type]


def test_a_one_page_letter_landscape_pdf() -> None:
    pdf = certificate_pdf(_certificate())
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert pdf.count(b"/Type /Page\n") == 1
    assert b"/MediaBox [0 0 792.00 612.00]" in pdf  # 11 × 8.5 in, landscape
    assert b"/Lang (fr-CA)" in pdf
    assert b"/CreationDate (D:20261212170000Z)" in pdf


def test_french_text_is_embedded_and_extractable(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        pdf = certificate_pdf(_certificate())
    assert "missing the following glyphs" not in caplog.text
    lines = pdf_reading.text(pdf).splitlines()
    assert lines[0] == "Instance régionale de concertation, Québec"
    assert "Attestation de participation" in lines
    assert "Marie-Ève Tremblay" in lines
    assert "le 12 décembre 2026 · 6 h 30" in lines
    assert URL in lines
    # A long line wraps: its words all come back, in order, accents intact.
    words, expected = " ".join(lines).split(), FRENCH.split()
    start = words.index("«")
    assert words[start : start + len(expected)] == expected
    assert "\ufffd" not in "\n".join(lines)
    assert b"DejaVuSerif" in pdf  # the embedded font, not a Latin-1 core font


def test_a_character_outside_the_font_is_reported_not_dropped_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        certificate_pdf(_certificate(lines=["中"]))
    assert "missing the following glyphs" in caplog.text


def test_the_embedded_qr_code_decodes_to_the_url() -> None:
    png = qr_png(URL)
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [URL]
    pdf = certificate_pdf(_certificate(qr_png=png))
    (image,) = pdf_reading.images(pdf)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [URL]


def test_same_input_same_bytes_and_the_name_changes_them() -> None:
    first = certificate_pdf(_certificate())
    assert certificate_pdf(_certificate()) == first
    other = certificate_pdf(_certificate(lines=["Nous attestons que", "Jean Roy"]))
    assert other != first
    assert "Jean Roy" in pdf_reading.text(other)


def test_without_qr_code_or_footer() -> None:
    pdf = certificate_pdf(Certificate(title="Attestation", lines=["Texte"]))
    assert pdf_reading.images(pdf) == []
    assert pdf_reading.text(pdf).splitlines() == ["Attestation", "Texte"]


async def test_many_at_once_are_drawn_by_worker_processes_in_order() -> None:
    from core import pdf

    certificates = [
        _certificate(lines=["Nous attestons que", Line(f"Personne {n}", size=22, bold=True)])
        for n in range(pdf.INLINE_BELOW + 3)
    ]
    drawn = await pdf.certificate_pdfs(certificates)
    assert drawn == [certificate_pdf(c) for c in certificates]
    assert pdf.PDF_WORKERS < 2 or pdf._pool is not None  # the workers did draw them
    assert "Personne 6" in pdf_reading.text(drawn[6])
