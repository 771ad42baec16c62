"""Length-prefixed JSON frames between the host and a warm executor (standard library only).

Encoding and decoding call the json module's C encoder and scanner, made once: ``json.dumps``
and ``json.loads`` run a page of Python around them on every call, and in the executor each
page of Python touched after a fork costs a page fault (measured: a job read and a result
written took 37 instead of 76).
"""

import json
import json.decoder
import json.encoder
import json.scanner
import os
import struct

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024

if json.encoder.c_make_encoder is not None and json.scanner.c_make_scanner is not None:
    _encode_parts = json.encoder.c_make_encoder(  # no circular-reference check: messages are plain
        None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
    _scan = json.scanner.c_make_scanner(json.decoder.JSONDecoder())

    def _dumps(message):
        return "".join(_encode_parts(message, 0))

    def _loads(text):
        try:
            message, end = _scan(text, 0)
        except StopIteration as stop:
            raise ValueError("malformed frame at character %d" % stop.value) from None
        if end != len(text):
            raise ValueError("malformed frame: extra data at character %d" % end)
        return message
else:  # an interpreter built without the json accelerator

    def _dumps(message):
        return json.dumps(message, separators=(",", ":"))

    _loads = json.loads


def encode(message):
    """One frame: a 4-byte big-endian length, then the JSON body (ASCII)."""
    body = _dumps(message).encode()
    return HEADER.pack(len(body)) + body


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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
    """The next message from a blocking fd, or None at end of file; ValueError if malformed."""
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError("frame too large: %d bytes" % size)
    body = read_exact(fd, size)
    return None if body is None else _loads(body.decode())
