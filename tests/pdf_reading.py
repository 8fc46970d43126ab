"""Reading back the PDFs the application makes (tests only): no PDF library is installed,
so this reads what fpdf2 writes — numbered objects, Flate streams, a Type0 font with a
ToUnicode map, hex-encoded text, CCITT G4 or Flate images."""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass

from PIL import Image

_OBJECT = re.compile(rb"(\d+) 0 obj\s*")


@dataclass
class PdfObject:
    number: int
    dictionary: bytes
    stream: bytes | None  # decoded when Flate, raw otherwise

    def value(self, key: str) -> bytes | None:
        match = re.search(rb"/" + key.encode() + rb"\s+([^/\n>]+|/\w+|<<.*?>>)", self.dictionary)
        return match.group(1).strip() if match else None


def objects(pdf: bytes) -> dict[int, PdfObject]:
    found: dict[int, PdfObject] = {}
    position = 0
    while match := _OBJECT.search(pdf, position):
        start = match.end()
        end_dict = pdf.find(b"endobj", start)
        stream_at = pdf.find(b"stream", start)
        stream = None
        if stream_at != -1 and stream_at < end_dict:
            dictionary = pdf[start:stream_at]
            length = int(re.search(rb"/Length (\d+)", dictionary).group(1))  # type: ignore[union-attr]
            data_start = stream_at + len(b"stream")
            data_start += 2 if pdf[data_start : data_start + 2] == b"\r\n" else 1
            stream = pdf[data_start : data_start + length]
            if b"/FlateDecode" in dictionary:
                stream = zlib.decompress(stream)
            position = pdf.find(b"endobj", data_start + length) + 6
        else:
            dictionary = pdf[start:end_dict]
            position = end_dict + 6
        number = int(match.group(1))
        found[number] = PdfObject(number, dictionary, stream)
    return found


def _to_unicode(cmap: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, text in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            first = int(text, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}


def _literal_strings(content: bytes) -> list[bytes]:
    """Every (literal string) shown by Tj in a content stream, escapes decoded."""
    shown = []
    i = 0
    while (i := content.find(b"(", i)) != -1:
        depth, value, i = 1, bytearray(), i + 1
        while depth:
            byte = content[i]
            if byte == 0x5C:  # backslash
                following = content[i + 1]
                if 0x30 <= following <= 0x37:
                    digits = re.match(rb"[0-7]{1,3}", content[i + 1 : i + 4]).group(0)  # type: ignore[union-attr]
                    value.append(int(digits, 8))
                    i += 1 + len(digits)
                    continue
                value.append(_ESCAPES.get(following, following))
                i += 2
                continue
            depth += byte == 0x28
            depth -= byte == 0x29
            if depth:
                value.append(byte)
            i += 1
        if content[i : i + 4].lstrip().startswith(b"Tj"):
            shown.append(bytes(value))
    return shown


def text(pdf: bytes) -> str:
    """The text shown on the pages, one line per text-showing operator."""
    everything = objects(pdf)
    mapping: dict[int, str] = {}
    for obj in everything.values():
        if b"/ToUnicode" in obj.dictionary:
            ref = int(re.search(rb"/ToUnicode (\d+) 0 R", obj.dictionary).group(1))  # type: ignore[union-attr]
            mapping.update(_to_unicode(everything[ref].stream or b""))
    lines = []
    for obj in everything.values():
        if obj.stream is None or b"BT" not in obj.stream or b"/Subtype" in obj.dictionary:
            continue
        for shown in _literal_strings(obj.stream):
            codes = struct.unpack(f">{len(shown) // 2}H", shown)
            lines.append("".join(mapping.get(code, "\ufffd") for code in codes))
    return "\n".join(lines)


def _tiff_g4(data: bytes, width: int, height: int, black_is_1: bool) -> bytes:
    """A one-strip TIFF around CCITT G4 data, for Pillow (libtiff) to decode."""
    entries = [
        (256, 4, width),
        (257, 4, height),
        (258, 3, 1),
        (259, 3, 4),  # CCITT Group 4
        (262, 3, 1 if black_is_1 else 0),
        (273, 4, 8 + 2 + 9 * 12 + 4),
        (277, 3, 1),
        (278, 4, height),
        (279, 4, len(data)),
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        ifd += (
            struct.pack("<HHII", tag, kind, 1, value)
            if kind == 4
            else struct.pack("<HHIHH", tag, kind, 1, value, 0)
        )
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + data


def images(pdf: bytes) -> list[Image.Image]:
    found = []
    for obj in objects(pdf).values():
        if b"/Subtype /Image" not in obj.dictionary or obj.stream is None:
            continue
        width = int(obj.value("Width") or 0)
        height = int(obj.value("Height") or 0)
        bits = int(obj.value("BitsPerComponent") or 8)
        if b"/CCITTFaxDecode" in obj.dictionary:
            tiff = _tiff_g4(obj.stream, width, height, b"/BlackIs1 true" in obj.dictionary)
            image = Image.open(io.BytesIO(tiff))
            image.load()
            found.append(image.convert("L"))
        else:
            mode = {b"/DeviceGray": "L", b"/DeviceRGB": "RGB"}[obj.value("ColorSpace") or b""]
            if bits == 1:
                mode = "1"
            found.append(Image.frombytes(mode, (width, height), obj.stream).convert("L"))
    return found
