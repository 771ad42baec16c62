"""Length-prefixed JSON frames between the host and a warm executor (standard library only)."""

import json
import os
import struct

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


def encode(message):
    """One frame: a 4-byte big-endian length, then the JSON body."""
    body = json.dumps(message, separators=(",", ":")).encode()
    return HEADER.pack(len(body)) + body


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_exact(fd, size):
    """``size`` bytes from a blocking fd, or None at end of file."""
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    """The next message from a blocking fd, or None at end of file."""
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError("frame too large: %d bytes" % size)
    body = read_exact(fd, size)
    return None if body is None else json.loads(body)
