"""Tickets: Ed25519-signed QR payloads, short human codes, QR images.

Payload (version 1), QR alphanumeric-friendly:

    "RSB1:" + BASE32( event_id (4 bytes, big-endian) + public_id (10 bytes) + signature (64) )

The signature covers b"RSB1" + event_id + public_id. The server keeps the private key
(encrypted with a key derived from SECRET_KEY, in the database so that every process of a
deployment signs with the same key); tablets only get the public key, so a lost tablet
cannot mint tickets.
"""

from __future__ import annotations

import base64
import io
import os
import secrets
import struct
import zlib
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
import qrcode.util
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from tortoise.exceptions import IntegrityError

from registrations.models import SigningKey

PREFIX = "RSB1:"
VERSION_TAG = b"RSB1"
PUBLIC_ID_BYTES = 10
KEY_NAME = "tickets-v1"
# No 0/O, 1/I/L: easy to read aloud and to type at the door.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class TicketError(ValueError):
    """A payload that is not a valid ticket (unparseable or forged)."""


def new_public_id() -> str:
    return base64.b32encode(secrets.token_bytes(PUBLIC_ID_BYTES)).decode().rstrip("=")


def new_ticket_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def normalize_code(code: str) -> str:
    """What a volunteer types: case, spaces and dashes forgiven."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _unb32(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 8)
    return base64.b32decode(padded)


def _aes_key(secret_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"rassembleur-signing-key", info=b"aesgcm"
    ).derive(secret_key.encode())


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey
    public_key_b64: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def sign(self, event_id: int, public_id: str) -> str:
        body = struct.pack(">I", event_id) + _unb32(public_id)
        signature = self.private_key.sign(VERSION_TAG + body)
        return PREFIX + _b32(body + signature)


_cache: dict[str, Signer] = {}


def _encrypt(secret_key: str, raw: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_aes_key(secret_key)).encrypt(nonce, raw, b"ed25519")
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _decrypt(secret_key: str, text: str) -> bytes:
    blob = base64.urlsafe_b64decode(text)
    return AESGCM(_aes_key(secret_key)).decrypt(blob[:12], blob[12:], b"ed25519")


async def get_signer(secret_key: str) -> Signer:
    """The ticket signer, generated and stored on first use (safe when processes race)."""
    cached = _cache.get(secret_key)
    if cached is not None:
        return cached
    row = await SigningKey.get_or_none(name=KEY_NAME)
    if row is None:
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        try:
            row = await SigningKey.create(
                name=KEY_NAME,
                public_key=base64.urlsafe_b64encode(public).decode(),
                private_key_encrypted=_encrypt(secret_key, raw),
            )
        except IntegrityError:  # another process created it first
            row = await SigningKey.get(name=KEY_NAME)
    try:
        raw = _decrypt(secret_key, row.private_key_encrypted)
    except Exception as exc:  # noqa: BLE001 - wrong SECRET_KEY or tampered row
        raise RuntimeError(
            "La clé de signature des billets ne peut pas être déchiffrée : SECRET_KEY a-t-il "
            "changé depuis sa création ?"
        ) from exc
    signer = Signer(Ed25519PrivateKey.from_private_bytes(raw), row.public_key)
    _cache[secret_key] = signer
    return signer


def forget_cached_signers() -> None:
    _cache.clear()


@dataclass(frozen=True)
class TicketClaim:
    event_id: int
    public_id: str


def parse_payload(payload: str) -> tuple[TicketClaim, bytes, bytes]:
    """Split a payload into its claim, signed message and signature (no verification)."""
    text = payload.strip()
    if not text.upper().startswith(PREFIX):
        raise TicketError("préfixe inconnu")
    encoded = text[len(PREFIX) :].upper()
    try:
        data = _unb32(encoded)
    except (ValueError, TypeError) as exc:
        raise TicketError("encodage invalide") from exc
    if _b32(data) != encoded:  # non-canonical: the padding bits of the last character
        raise TicketError("encodage non canonique")
    if len(data) != 4 + PUBLIC_ID_BYTES + 64:
        raise TicketError("longueur invalide")
    body, signature = data[: 4 + PUBLIC_ID_BYTES], data[4 + PUBLIC_ID_BYTES :]
    (event_id,) = struct.unpack(">I", body[:4])
    return TicketClaim(event_id, _b32(body[4:])), VERSION_TAG + body, signature


def verify_payload(payload: str, public_key: Ed25519PublicKey) -> TicketClaim:
    """The claim of a genuine ticket; TicketError when unparseable or forged."""
    claim, message, signature = parse_payload(payload)
    try:
        public_key.verify(signature, message)
    except InvalidSignature as exc:
        raise TicketError("signature invalide") from exc
    return claim


# Any of the eight masks gives a valid, decodable symbol; the library's pick of the "best"
# one evaluates all eight in pure Python (about 90 % of the time of a PNG). A fixed mask
# keeps the symbol equally readable for these short, random-looking payloads.
QR_MASK = 2
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


_alnum_versions: dict[int, int] = {}


def qr_matrix(payload: str, *, border: int = 4) -> list[list[bool]]:
    """The modules of a QR code (True = dark), quiet zone included.

    A ticket payload is all QR-alphanumeric, encoded as one segment: its version then
    depends on its length only, remembered so that the library does not fit it again.
    """
    alnum = bool(qrcode.util.RE_ALPHA_NUM.match(payload.encode()))
    version = _alnum_versions.get(len(payload)) if alnum else None
    qr = qrcode.QRCode(
        version=version,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=border,
        mask_pattern=QR_MASK,
    )
    qr.add_data(payload, optimize=0 if alnum else 20)
    qr.make(fit=version is None)
    if alnum and version is None:
        _alnum_versions[len(payload)] = qr.version
    return qr.get_matrix()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def qr_png(payload: str, *, box_size: int = 8) -> bytes:
    """A black-on-white, 1-bit greyscale PNG of the payload's QR code.

    Written directly (rows of packed bits, zlib) rather than drawn module by module with
    Pillow: registering queues one in the confirmation e-mail, so it is on the hot path.
    """
    matrix = qr_matrix(payload)
    size = len(matrix) * box_size
    padding = "1" * (-size % 8)
    pixels = {0: "1" * box_size, 1: "0" * box_size}  # light module: white (1) bits
    rows = []
    for modules in matrix:
        bits = bytes(modules).decode("latin-1").translate(pixels) + padding
        row = b"\x00" + int(bits, 2).to_bytes(len(bits) // 8, "big")  # filter: none
        rows.append(row * box_size)
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + _png_chunk(b"IEND", b"")
    )


def qr_svg(payload: str) -> bytes:
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    qr.add_data(payload)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer)
    return buffer.getvalue()
