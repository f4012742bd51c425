"""The drawn signature's PNG check (attendance/pngcheck.py, through services._png): what a canvas sends is accepted
without decoding its pixels; whatever Pillow's full decode refused is still refused (damaged, truncated, not a PNG,
of refused dimensions, blank), and what it accepted still is (every filter, every colour type)."""
from __future__ import annotations

import base64
import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageDraw

from trainingmgr.attendance import pngcheck, services
from trainingmgr.core.errors import ValidationError

from tests.attendance.support import drawing

UNREADABLE = "n'a pas pu être lue"
BLANK = "La signature est vide"
SIZE = "La taille de la signature dessinée n'est pas acceptée"
NOT_PNG = "doit être une image PNG"


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def refusal(png: bytes) -> str:
    with pytest.raises(ValidationError) as refused:
        services._png(data_url(png))
    assert list(refused.value.fields) == ["signature"]
    return str(refused.value)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def raw_png(width: int, height: int, rows: list[bytes], *, colour: int = 6, depth: int = 8, interlace: int = 0,
            extra: list[bytes] = (), stream: bytes | None = None) -> bytes:
    """A PNG from filtered scanlines (each starts with its filter byte)."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    idat = zlib.compress(b"".join(rows)) if stream is None else stream
    return (pngcheck.SIGNATURE + chunk(b"IHDR", header) + b"".join(extra) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filtered(pixels: list[bytes], bpp: int, kinds: list[int]) -> list[bytes]:
    """Encode raw rows with the given filter type per row (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth)."""
    out, previous = [], bytes(len(pixels[0]))
    for row, kind in zip(pixels, kinds):
        line = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            line.append((x - predictor) % 256)
        out.append(bytes([kind]) + bytes(line))
        previous = row
    return out


def pillow_verdict(png: bytes) -> str:
    """What the former check (a full decode by Pillow) said: 'ink' or 'blank'."""
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        alpha = image.getchannel("A") if "A" in image.getbands() else None
        ink = alpha.getbbox() if alpha is not None else image.convert("L").point(lambda v: 255 - v).getbbox()
    return "blank" if ink is None else "ink"


def verdict(png: bytes) -> str:
    try:
        services._png(data_url(png))
    except ValidationError as exc:
        assert BLANK in str(exc), str(exc)
        return "blank"
    return "ink"


def saved(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


# --------------------------------------------------------------------------- accepted


def test_a_canvas_drawing_is_accepted_as_sent():
    url = drawing()
    assert services._png(url) == base64.b64decode(url.split(",", 1)[1])


@pytest.mark.parametrize("size, dot", [((10, 10), (0, 0)), ((10, 10), (9, 9)), ((600, 200), (599, 199)),
                                       ((3000, 40), (2999, 39)), ((40, 3000), (0, 2999))])
def test_a_single_inked_pixel_anywhere_is_ink(size, dot):
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.putpixel(dot, (0, 0, 0, 1))  # the faintest ink
    assert verdict(saved(image)) == "ink"


def test_every_filter_type_reads_the_same_as_pillow():
    random.seed(22)
    width, height, bpp = 24, 12, 4
    for trial in range(40):
        rows = [bytearray(width * bpp) for _ in range(height)]
        if trial % 4:  # three in four drawings have ink: a few pixels, of any colour and alpha
            for _ in range(trial % 7 + 1):
                x, y = random.randrange(width), random.randrange(height)
                rows[y][x * bpp:x * bpp + 4] = bytes([random.randrange(256) for _ in range(3)] + [random.randrange(1, 256)])
        else:  # blank, but with colour under a zero alpha
            for y in range(height):
                for x in range(0, width, 3):
                    rows[y][x * bpp:x * bpp + 3] = bytes([random.randrange(256) for _ in range(3)])
        kinds = [random.randrange(5) for _ in range(height)]
        png = raw_png(width, height, filtered([bytes(r) for r in rows], bpp, kinds))
        with Image.open(io.BytesIO(png)) as image:  # the encoder above is right: Pillow reads the same pixels
            assert image.tobytes() == b"".join(rows)
        assert verdict(png) == pillow_verdict(png), (trial, kinds)


@pytest.mark.parametrize("mode, colour, blank_colour", [
    ("RGBA", (11, 31, 102, 255), (255, 255, 255, 0)),
    ("LA", (0, 255), (255, 0)),
    ("RGB", (11, 31, 102), (255, 255, 255)),  # no alpha: blank is all white (decoded by Pillow, as before)
    ("L", 0, 255),
    ("P", 1, 0),
])
def test_every_colour_type_reads_the_same_as_pillow(mode, colour, blank_colour):
    blank = Image.new(mode, (120, 40), blank_colour)
    if mode == "P":
        blank.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    inked = blank.copy()
    ImageDraw.Draw(inked).line([(5, 30), (60, 5), (115, 35)], fill=colour, width=2)
    for image, expected in ((blank, "blank"), (inked, "ink")):
        png = saved(image)
        assert pillow_verdict(png) == expected
        assert verdict(png) == expected, (mode, expected)


def test_sixteen_bits_and_ancillary_chunks_are_accepted():
    rows = [b"\x00" + b"\x00\x00" * 3 + b"\xff\xff" + b"\x00" * 8 * 11 for _ in range(10)]
    png = raw_png(12, 10, rows, depth=16, extra=[chunk(b"pHYs", struct.pack(">IIB", 3780, 3780, 1)),
                                                 chunk(b"tEXt", b"Software\x00canvas")])
    assert pillow_verdict(png) == "ink" and verdict(png) == "ink"


def test_the_idat_stream_may_be_split_in_several_chunks():
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(0, 50), (199, 60)], fill=(0, 0, 0, 255), width=3)
    rows = [b"\x00" + image.tobytes()[y * 800:(y + 1) * 800] for y in range(100)]
    stream = zlib.compress(b"".join(rows))
    parts = [stream[i:i + 97] for i in range(0, len(stream), 97)]
    header = struct.pack(">IIBBBBB", 200, 100, 8, 6, 0, 0, 0)
    png = (pngcheck.SIGNATURE + chunk(b"IHDR", header) + b"".join(chunk(b"IDAT", p) for p in parts)
           + chunk(b"IEND", b""))
    assert verdict(png) == "ink"


# --------------------------------------------------------------------------- refused


def test_a_blank_canvas_is_refused():
    assert BLANK in refusal(base64.b64decode(drawing(blank=True).split(",", 1)[1]))


def test_a_truncated_png_is_refused():
    png = base64.b64decode(drawing().split(",", 1)[1])
    for cut in (8, 20, 33, 40, len(png) // 2, len(png) - 12, len(png) - 1):
        assert UNREADABLE in refusal(png[:cut]), cut


def test_a_bad_crc_is_refused():
    png = bytearray(base64.b64decode(drawing().split(",", 1)[1]))
    for position in (20, 45, len(png) - 20):  # in IHDR, at the start of IDAT, near its end
        damaged = bytearray(png)
        damaged[position] ^= 0x01
        assert UNREADABLE in refusal(bytes(damaged)), position


@pytest.mark.parametrize("width, height", [(3001, 200), (200, 3001), (9, 200), (600, 9), (100_000, 100_000)])
def test_refused_dimensions_are_refused_before_inflating(width, height, monkeypatch):
    monkeypatch.setattr(pngcheck, "_inflate", lambda *args: pytest.fail("inflated"))
    png = raw_png(width, height, [], stream=zlib.compress(b"\x00" * 10))
    assert SIZE in refusal(png)


@pytest.mark.parametrize("image_format", ["JPEG", "GIF", "BMP", "WEBP"])
def test_another_image_format_is_refused_as_not_a_png(image_format):
    image = Image.new("RGB", (60, 20), (255, 255, 255))
    ImageDraw.Draw(image).line([(0, 0), (59, 19)], fill=(0, 0, 0))
    assert NOT_PNG in refusal(saved_as(image, image_format))


@pytest.mark.parametrize("data", [b"<svg xmlns='http://www.w3.org/2000/svg'/>", bytes(200), b"\x00\x00\x00",
                                  b"\x89PNG\r\n"])
def test_what_is_not_an_image_is_refused_as_unreadable(data):
    assert UNREADABLE in refusal(data)


def saved_as(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def test_a_damaged_stream_with_good_crcs_is_refused():
    """Every chunk's CRC right, the PNG still damaged: refused, including what Pillow's decode accepted."""
    image = Image.new("RGBA", (60, 20), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(0, 0), (59, 19)], fill=(0, 0, 0, 255))
    rows = [b"\x00" + image.tobytes()[y * 240:(y + 1) * 240] for y in range(20)]
    whole = b"".join(rows)
    cases = {
        "rows missing": raw_png(60, 20, rows[:-1]),
        "rows too many": raw_png(60, 20, rows + rows[:1]),
        "filter type 5": raw_png(60, 20, [b"\x05" + rows[0][1:]] + rows[1:]),
        "not zlib": raw_png(60, 20, rows, stream=b"\x78\x9c" + bytes(50)),
        "stream cut": raw_png(60, 20, rows, stream=zlib.compress(whole)[:-6]),
        "checksum wrong": raw_png(60, 20, rows, stream=zlib.compress(whole)[:-4] + b"\x00\x00\x00\x00"),
        "data after IEND": raw_png(60, 20, rows) + b"\x00",
        "no IDAT": pngcheck.SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 60, 20, 8, 6, 0, 0, 0))
        + chunk(b"IEND", b""),
        "IHDR not first": pngcheck.SIGNATURE + chunk(b"tEXt", b"a\x00b") + raw_png(60, 20, rows)[8:],
        "two IHDR": raw_png(60, 20, rows, extra=[chunk(b"IHDR", struct.pack(">IIBBBBB", 60, 20, 8, 6, 0, 0, 0))]),
        "unknown critical chunk": raw_png(60, 20, rows, extra=[chunk(b"ABCD", b"")]),
        "IDAT not in one run": raw_png(60, 20, rows)[:-12] + chunk(b"tEXt", b"a\x00b") + chunk(b"IDAT", b"")
        + chunk(b"IEND", b""),
        "colour type 5": raw_png(60, 20, rows, colour=5),
        "RGBA in 4 bits": raw_png(60, 20, rows, depth=4),
        "palette without PLTE": raw_png(60, 20, [b"\x00" + bytes(60)] * 20, colour=3),
        "IHDR of 12 bytes": pngcheck.SIGNATURE + chunk(b"IHDR", bytes(12)) + raw_png(60, 20, rows)[33:],
    }
    for name, png in cases.items():
        assert UNREADABLE in refusal(png), name
    # Pillow's decode let these through; no canvas writes them, and the register keeps whole PNGs only.
    let_through = {"rows missing", "rows too many", "data after IEND", "IHDR not first", "two IHDR",
                   "unknown critical chunk", "IDAT not in one run", "palette without PLTE"}
    assert {name for name, png in cases.items() if not pillow_refuses(png)} == let_through


def pillow_refuses(png: bytes) -> bool:
    try:
        pillow_verdict(png)
    except Exception:  # noqa: BLE001 - any refusal
        return True
    return False


def test_a_huge_file_is_refused_before_anything_else():
    png = pngcheck.SIGNATURE + bytes(services.MAX_IMAGE_BYTES)
    assert "trop volumineuse" in refusal(png)


def test_the_standard_zlib_gives_the_same_verdicts(monkeypatch):
    """zlib-ng only inflates faster (requirements.txt); without it the standard zlib checks the same."""
    monkeypatch.setattr(pngcheck, "inflating", zlib)
    assert services._png(drawing())
    assert BLANK in refusal(base64.b64decode(drawing(blank=True).split(",", 1)[1]))
    image = Image.new("RGBA", (30, 10), (0, 0, 0, 0))
    rows = [b"\x00" + image.tobytes()[y * 120:(y + 1) * 120] for y in range(10)]
    assert UNREADABLE in refusal(raw_png(30, 10, rows[:-1]))
    assert UNREADABLE in refusal(raw_png(30, 10, rows, stream=zlib.compress(b"".join(rows))[:-4] + bytes(4)))
