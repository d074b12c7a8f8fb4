"""Framing of the messages a child sends back: an 8-byte length, then UTF-8 JSON.

The channel is a pipe of its own, never stdout or stderr, and it carries only data the grader measures again
(model configurations, returned types, errors), never a verdict.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

_HEADER = struct.Struct(">Q")
MAX_MESSAGE_BYTES = 256 * 1024 * 1024


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one message to a file descriptor."""
    body = json.dumps(message, default=str).encode("utf-8")
    data = _HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class ChannelError(Exception):
    """The channel carried something that is not a well-formed message."""


def receive(stream: BinaryIO, limit: int = MAX_MESSAGE_BYTES) -> Iterator[dict[str, Any]]:
    """Yield messages as they arrive until end of file; raises ChannelError if the stream is garbled."""
    total = 0
    while True:
        header = stream.read(_HEADER.size)
        if not header:
            return
        if len(header) < _HEADER.size:
            raise ChannelError("the result channel ended in the middle of a message")
        (size,) = _HEADER.unpack(header)
        total += size
        if total > limit:
            raise ChannelError("the result channel carried more data than allowed")
        body = stream.read(size)
        if len(body) < size:
            raise ChannelError("the result channel ended in the middle of a message")
        try:
            message = json.loads(body)
        except ValueError:
            raise ChannelError("the result channel carried something that is not a grader message") from None
        if not isinstance(message, dict):
            raise ChannelError("the result channel carried something that is not a grader message")
        yield message
