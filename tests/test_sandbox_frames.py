"""The executor's wire format: length-prefixed JSON frames."""

from __future__ import annotations

import json
import os

import pytest
from leti_sandbox import frames


def _through_pipe(data: bytes):
    read_end, write_end = os.pipe()
    try:
        frames.write_all(write_end, data)
        os.close(write_end)
        write_end = -1
        return frames.read_frame(read_end)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def test_messages_survive_a_round_trip():
    message = {
        "source": "print('héllo \\u2603')\n\t\"quoted\"\n",
        "surrogate": "\udc80",
        "nonce": "ab12",
        "timeout": 2.5,
        "memory_mb": 512,
        "nested": [None, True, False, -1.25e-7, {"k": []}],
    }
    body = frames.encode(message)[4:]
    assert body.isascii() and json.loads(body) == message
    assert _through_pipe(frames.encode(message)) == message


def test_end_of_stream_is_none():
    assert _through_pipe(b"") is None
    assert _through_pipe(frames.encode({"a": 1})[:-1]) is None  # cut short


@pytest.mark.parametrize("body", [b'{"a": 1} {"b": 2}', b'{"a": ', b"nonsense", b'{"a": 1}x'])
def test_malformed_frames_are_value_errors(body):
    with pytest.raises(ValueError):
        _through_pipe(frames.HEADER.pack(len(body)) + body)


def test_oversized_frames_are_refused_before_reading():
    with pytest.raises(ValueError, match="too large"):
        _through_pipe(frames.HEADER.pack(frames.MAX_FRAME + 1))
