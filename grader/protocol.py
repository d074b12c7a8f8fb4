"""Framing of the messages a child sends back: an 8-byte length, then UTF-8 JSON.

The channel is a pipe of its own, never stdout or stderr, and it carries only data the grader measures again
(model configurations, returned types, errors), never a verdict.
"""

from __future__ import annotations

import json
import os
import struct
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


def receive_all(stream: BinaryIO, limit: int = MAX_MESSAGE_BYTES) -> tuple[list[dict[str, Any]], str | None]:
    """Read messages until end of file; returns them and a problem description if the stream was garbled."""
    messages: list[dict[str, Any]] = []
    total = 0
    while True:
        header = stream.read(_HEADER.size)
        if not header:
            return messages, None
        if len(header) < _HEADER.size:
            return messages, "the result channel ended in the middle of a message"
        (size,) = _HEADER.unpack(header)
        total += size
        if total > limit:
            return messages, "the result channel carried more data than allowed"
        body = stream.read(size)
        if len(body) < size:
            return messages, "the result channel ended in the middle of a message"
        try:
            message = json.loads(body)
        except ValueError:
            return messages, "the result channel carried something that is not a grader message"
        if not isinstance(message, dict):
            return messages, "the result channel carried something that is not a grader message"
        messages.append(message)
