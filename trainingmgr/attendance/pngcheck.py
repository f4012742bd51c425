"""A drawn signature's PNG, checked without decoding it into pixels (Pillow only for unusual PNGs).

See docs/signing.md for what is checked and in which order."""
from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

try:
    from zlib_ng import zlib_ng as inflating
except ImportError:  # requirements.txt installs it; the standard zlib checks the same, slower
    inflating = zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type: (channels, allowed bit depths)
COLOUR_TYPES = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)), 4: (2, (8, 16)), 6: (4, (8, 16))}


class Unreadable(ValueError):
    """Not a PNG, or a damaged one."""


class Blank(ValueError):
    """A valid PNG without any ink."""


def check(data: bytes, check_size: Callable[[int, int], None]) -> None:
    """Raise ``Unreadable`` or ``Blank``; ``check_size(width, height)`` runs once the header is read and may
    raise to refuse the dimensions before anything is inflated."""
    if not data.startswith(SIGNATURE):
        raise Unreadable("not a PNG")
    chunks = _chunks(data)
    kind, header = chunks[0]
    if kind != b"IHDR" or len(header) != 13:
        raise Unreadable("IHDR first")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", header)
    channels, depths = COLOUR_TYPES.get(colour, (0, ()))
    if depth not in depths or compression or filtering or interlace > 1 or not width or not height:
        raise Unreadable("bad IHDR")
    check_size(width, height)
    kinds = [kind for kind, _ in chunks]
    if kinds[-1] != b"IEND" or kinds.count(b"IEND") != 1 or b"IDAT" not in kinds or kinds.count(b"IHDR") != 1:
        raise Unreadable("chunk order")
    first = kinds.index(b"IDAT")
    last = len(kinds) - 1 - kinds[::-1].index(b"IDAT")
    if any(kind != b"IDAT" for kind in kinds[first:last + 1]) or (colour == 3 and b"PLTE" not in kinds[:first]):
        raise Unreadable("chunk order")
    stream = b"".join(body for _, body in chunks[first:last + 1])
    if depth != 8 or colour not in (4, 6) or interlace:
        return _decoded_ink(data)
    stride = 1 + width * channels
    pixels = _inflate(stream, stride * height)
    if max(pixels[::stride]) > 4:
        raise Unreadable("filter type")
    alpha = channels - 1  # the last byte of each pixel
    empty = bytes(stride - 1)  # a row of zeros (a canvas' untouched rows): no ink, compared at once
    for row in range(height):
        start = row * stride + 1
        if pixels[start:start + stride - 1] != empty and pixels[start + alpha:start + stride - 1:channels].strip(b"\x00"):
            return
    raise Blank("no ink")


def other_image_format(data: bytes) -> str | None:
    """The format of an image that is not a PNG, as Pillow identifies it from its header (None: not an image)."""
    from PIL import Image, UnidentifiedImageError  # Pillow loads only for an image that is not a plain PNG

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """[(type, data)] up to IEND, each chunk's length and CRC checked; nothing may follow IEND."""
    chunks, position, size = [], len(SIGNATURE), len(data)
    while True:
        if position + 12 > size:
            raise Unreadable("truncated")
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        end = position + 8 + length
        if length > 2 ** 31 - 1 or end + 4 > size or not kind.isalpha():
            raise Unreadable("truncated or bad chunk")
        body = data[position + 8:end]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end:end + 4])[0]:
            raise Unreadable("CRC")
        if kind[:1].isupper() and kind not in (b"IHDR", b"PLTE", b"IDAT", b"IEND"):
            raise Unreadable("unknown critical chunk")
        chunks.append((kind, body))
        position = end + 4
        if kind == b"IEND":
            if position != size:
                raise Unreadable("data after IEND")
            return chunks


def _inflate(stream: bytes, expected: int) -> bytes:
    """The IDAT stream inflated: exactly ``expected`` bytes (never more are produced), and a complete stream."""
    inflater = inflating.decompressobj()
    try:
        pixels = inflater.decompress(stream, expected + 1)
    except inflating.error:
        raise Unreadable("zlib") from None
    if len(pixels) != expected or not inflater.eof:
        raise Unreadable("pixel data of the wrong size")
    return pixels


def _decoded_ink(data: bytes) -> None:
    """Any other PNG: decoded by Pillow (the dimensions are checked already). Blank: no pixel with any alpha, or,
    without alpha, every pixel white."""
    from PIL import Image  # Pillow loads only for an unusual PNG

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            alpha = image.getchannel("A") if "A" in image.getbands() else None
            ink = alpha.getbbox() if alpha is not None else image.convert("L").point(lambda v: 255 - v).getbbox()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, OSError, SyntaxError, ValueError):
        raise Unreadable("Pillow") from None
    if ink is None:
        raise Blank("no ink")
