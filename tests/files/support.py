"""Hostile files for the upload tests and bench/uploads.py: zip packages written entry by entry (so that a part can
declare what it likes), a gibibyte of zeros deflated into about 1 MB, PNG headers of any size."""
from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass

GIBIBYTE = 1 << 30
ZEROS = bytes(1 << 20)


@dataclass
class RawEntry:
    """A zip entry as stored: its name, method, CRC, declared uncompressed size and compressed bytes."""

    name: str
    method: int
    crc: int
    size: int
    data: bytes


def deflated(name: str, payload: bytes) -> RawEntry:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return RawEntry(name, zipfile.ZIP_DEFLATED, zlib.crc32(payload), len(payload),
                    compressor.compress(payload) + compressor.flush())


def zeros_entry(name: str, size: int) -> RawEntry:
    """``size`` zero bytes deflated, streamed a mebibyte at a time (never held whole in memory)."""
    compressor, crc, chunks = zlib.compressobj(9, zlib.DEFLATED, -15), 0, []
    for start in range(0, size, len(ZEROS)):
        block = ZEROS[:min(len(ZEROS), size - start)]
        crc = zlib.crc32(block, crc)
        chunks.append(compressor.compress(block))
    chunks.append(compressor.flush())
    return RawEntry(name, zipfile.ZIP_DEFLATED, crc, size, b"".join(chunks))


def gibibyte_bomb(folder) -> RawEntry:
    """1 GiB of zeros deflated (about 1 MB), written once into ``folder`` and read back afterwards."""
    path = os.path.join(folder, "gibibyte.deflate")
    if not os.path.exists(path):
        entry = zeros_entry("bomb", GIBIBYTE)
        with open(path + ".tmp", "wb") as handle:
            handle.write(struct.pack("<I", entry.crc) + entry.data)
        os.replace(path + ".tmp", path)
    with open(path, "rb") as handle:
        crc, = struct.unpack("<I", handle.read(4))
        return RawEntry("bomb", zipfile.ZIP_DEFLATED, crc, GIBIBYTE, handle.read())


def raw_entries(package: bytes) -> list[RawEntry]:
    """The entries of a zip as stored (compressed bytes copied, nothing decompressed)."""
    entries = []
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        for info in archive.infolist():
            start = info.header_offset
            name_length, extra_length = struct.unpack("<HH", package[start + 26:start + 30])
            begin = start + 30 + name_length + extra_length
            entries.append(RawEntry(info.filename, info.compress_type, info.CRC, info.file_size,
                                    package[begin:begin + info.compress_size]))
    return entries


def build_zip(entries: list[RawEntry], flags: int = 0) -> bytes:
    """A zip of ``entries`` exactly as given (declared sizes included); ``flags``: general purpose bits of all."""
    local, central, offset = [], [], 0
    for entry in entries:
        name = entry.name.encode("utf-8")
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, entry.method, 0, 0x21, entry.crc,
                             len(entry.data), entry.size, len(name), 0) + name
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, entry.method, 0, 0x21, entry.crc,
                                   len(entry.data), entry.size, len(name), 0, 0, 0, 0, 0, offset) + name)
        local.append(header + entry.data)
        offset += len(header) + len(entry.data)
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), offset, 0)
    return b"".join(local) + directory + end


def with_entry(package: bytes, entry: RawEntry, name: str | None = None) -> bytes:
    """``package`` with ``entry`` (renamed ``name``) replacing the part of that name, or added at the end."""
    entry = RawEntry(name or entry.name, entry.method, entry.crc, entry.size, entry.data)
    entries = [e for e in raw_entries(package) if e.name != entry.name]
    return build_zip(entries + [entry])


def with_xml(package: bytes, name: str, xml: bytes) -> bytes:
    return with_entry(package, deflated(name, xml))


def many_entries(package: bytes, count: int) -> bytes:
    """``package`` and tiny extra parts, ``count`` entries in all."""
    entries = raw_entries(package)
    extra = [deflated(f"customXml/extra{n}.txt", b"x") for n in range(count - len(entries))]
    return build_zip(entries + extra)


def png(width: int, height: int) -> bytes:
    """A grey PNG whose header says ``width`` × ``height``, holding one row of pixels (readers that decode it fail
    or fill the rest; the upload checks read the header only)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(width + 1)))
            + chunk(b"IEND", b""))


def real_png(width: int = 40, height: int = 20) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (11, 31, 102)).save(buffer, format="PNG")
    return buffer.getvalue()


BILLION_LAUGHS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  b'<!DOCTYPE w:document [\n<!ENTITY lol "lol">\n'
                  + b"".join(b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                             for n in range(1, 10))
                  + b']>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                  b'<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>')


def process_memory(key: str) -> int:
    """VmRSS or VmHWM of this process, in bytes (Linux)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(key)


def reset_peak() -> bool:
    """Reset this process's peak resident memory (VmHWM) to its current size; False where Linux does not let us."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_growth(action) -> int:
    """How far above its resident size before it the process's resident memory went while ``action`` ran."""
    if not reset_peak():
        raise OSError("/proc/self/clear_refs is not writable")
    before = process_memory("VmRSS")
    action()
    return process_memory("VmHWM") - before
