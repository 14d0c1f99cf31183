"""The page's icon, drawn in code: a blue dot, 16 by 16, as an ICO file holding a PNG.

Browsers ask every page's site for ``/favicon.ico``; serving one keeps a 404 out of
the browser console and the emulator's log.
"""

import math
import struct
import zlib

SIZE = 16
COLOUR = (37, 99, 235)  # the page's inbound bubble blue


def _chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


def _pixel(x: int, y: int) -> bytes:
    """RGBA of one pixel: inside the dot opaque, its edge half-transparent, outside clear."""
    centre = (SIZE - 1) / 2
    distance = math.hypot(x - centre, y - centre)
    alpha = 255 if distance <= centre - 1 else 128 if distance <= centre else 0
    return bytes((*COLOUR, alpha))


def png() -> bytes:
    """The dot as an RGBA PNG, ``SIZE`` pixels square."""
    rows = b"".join(b"\0" + b"".join(_pixel(x, y) for x in range(SIZE)) for y in range(SIZE))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def ico() -> bytes:
    """An ICO file with one 16 by 16, 32-bit image stored as PNG."""
    image = png()
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    return directory + entry + image


FAVICON = ico()
