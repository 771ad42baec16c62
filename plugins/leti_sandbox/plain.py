"""The wire between a judge and the program it judges: plain data only (standard library only).

Messages are ``marshal`` dumps behind a 4-byte length. What crosses is plain data (None, bool,
int, float, complex, str, bytes, list, tuple, dict, set, frozenset) and references: a
``(REF, "obj", id, type name)`` tuple naming an object that stays in the program's process, or
``(REF, "module", name, id)`` for a module the judge imports itself. The judge checks every value
it receives (``marshal`` could also carry code objects), so it never holds anything the program
made but plain values.
"""

import marshal
import os
import struct

HEADER = struct.Struct(">I")
MAX_MESSAGE = 256 * 1024 * 1024
REF = "\x00leti-ref\x00"  # first item of a reference tuple
SCALARS = frozenset({type(None), bool, int, float, complex, str, bytes})
CONTAINERS = frozenset({list, tuple, dict, set, frozenset})


class Closed(Exception):
    """The other side closed the channel, or sent something that is not a message."""


def send(fd, message):
    body = marshal.dumps(message, 4)
    view = memoryview(HEADER.pack(len(body)) + body)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as error:
        raise Closed(str(error)) from None


def _read_exact(fd, size):
    chunks = []
    while size:
        try:
            chunk = os.read(fd, min(size, 1 << 20))
        except OSError as error:
            raise Closed(str(error)) from None
        if not chunk:
            raise Closed("end of file")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def receive(fd):
    """The next message on ``fd``; Closed at end of file or on anything malformed."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size))
    if size > MAX_MESSAGE:
        raise Closed("a message of %d bytes" % size)
    try:
        return marshal.loads(_read_exact(fd, size))
    except (ValueError, EOFError, TypeError) as error:
        raise Closed("malformed message: %s" % error) from None
