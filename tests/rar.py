"""A minimal RAR 4.x writer ("stored" method, no compression) for extractor tests.

Enough for the real extractors (unar, bsdtar, unrar, 7z) to read, with real
header and file CRCs, so corruption is detectable. No RAR writer ships on
Debian, so tests build their archives with this.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

from har.train.archives import rar_tool
from tests.helpers import need

RAR_TOOLS = [t for t in ("unrar", "unar", "bsdtar", "7z", "7zz") if shutil.which(t)]


def _block(head_type: int, flags: int, body: bytes) -> bytes:
    """A RAR 4 block: CRC16 (low 16 bits of the CRC32 of the rest), type, flags, size, body."""
    rest = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(rest) & 0xFFFF) + rest


def write_rar(path: Path, files: dict[str, bytes]) -> Path:
    """Write a RAR 4.x archive storing ``files`` (name with '/' -> bytes) uncompressed.

    Names are stored exactly as given, so ``"../evil.avi"`` or ``"/tmp/x"``
    make the hostile archives the path-traversal tests need.
    """
    out = [b"Rar!\x1a\x07\x00", _block(0x73, 0, b"\x00" * 6)]  # marker block, main header
    dos_time = (40 << 25) | (1 << 21) | (1 << 16)  # 2020-01-01
    for name, data in files.items():
        raw = name.replace("/", "\\").encode()  # RAR 4 stores Windows separators
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 2, zlib.crc32(data), dos_time, 20, 0x30,
                           len(raw), 0x20) + raw  # packed, unpacked, Win32, CRC32, time, ver 2.0, stored
        out += [_block(0x74, 0x8000, body), data]
    out.append(_block(0x7B, 0x4000, b""))  # end of archive
    path.write_bytes(b"".join(out))
    return path


def require_rar_tool() -> str:
    """The extractor the code will use; skip without one, but fail in CI (which installs unar)."""
    tool = rar_tool()
    need(tool is not None, "no RAR extractor installed (sudo apt-get install unar)")
    return tool
