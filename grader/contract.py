"""The contract between the grader and the child that runs student code: the job, the messages, their framing.

The grader writes one `Job` (JSON) to the child's stdin. The child answers on a pipe of its own, never stdout or
stderr, with framed messages (an 8-byte length, then UTF-8 JSON), in this order for each assignment:
`Begin`, `Load`, then `Started` and `ProbeResult` for each probe it runs, `End`; and `Done` after the last.
Every message is checked against its kind here on receipt (`parse`): the grader never reads a key that was not
declared and validated. Messages carry only data the grader measures again (model configurations, returned
types, errors), never a verdict.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar

_HEADER = struct.Struct(">Q")
# What a child may cost the grader. The largest honest message, ResNet-152's configuration, is 0.5 MB and 11 levels
# deep; a whole submission sends a few MB.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # one message
MAX_CHANNEL_BYTES = 32 * 1024 * 1024  # everything one child sends
MAX_DEPTH = 64  # nesting of lists and objects in one message
MAX_TEXT = 4000  # characters in any one string of a message; an honest configuration's longest is a few dozen
_TEXT_LIMITS = {"error": 2000, "measure_error": 500, "returned": 200, "assignment": 100, "id": 200}


class ContractError(Exception):
    """Something on the channel is not a message of this contract."""


ChannelError = ContractError  # the name the sandbox's reader catches


# The job: what the grader asks of the child.

@dataclass(frozen=True)
class Cell:
    """A piece of student code and the name its tracebacks show ("gap.py", "gap.ipynb, cell 3"): what
    `grader.submission` loads and the child runs."""

    label: str
    source: str


@dataclass(frozen=True)
class ProbeCall:
    """One call of a student function, as the child makes it."""

    id: str
    function: str
    args: list[Any]
    kwargs: dict[str, Any]
    block_input: list[int | None] | None  # a block on keras.Input(shape), or None for a builder
    harness: str | None  # a builder of grader.harness that wraps `function`
    measures: list[str]
    sizes: list[list[int]]
    value: bool  # a plain function: its returned value is the result


@dataclass(frozen=True)
class AssignmentJob:
    module: str
    cells: list[Cell]
    functions: list[str]
    probes: list[ProbeCall]


@dataclass(frozen=True)
class Job:
    assignments: list[AssignmentJob]
    timeout: float  # seconds per assignment (the child dumps its stack just before)

    def to_wire(self) -> bytes:
        return json.dumps(dataclasses.asdict(self)).encode()

    @classmethod
    def from_wire(cls, data: str | bytes) -> Job:
        raw = json.loads(data)
        return cls([AssignmentJob(a["module"], [Cell(**c) for c in a["cells"]], a["functions"],
                                  [ProbeCall(**p) for p in a["probes"]]) for a in raw["assignments"]],
                   raw["timeout"])


# The messages: what the child answers.

@dataclass(frozen=True)
class Message:
    kind: ClassVar[str]

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class Begin(Message):
    """The child begins an assignment: its deadline starts now."""

    kind: ClassVar[str] = "begin"
    assignment: str


@dataclass(frozen=True)
class Load(Message):
    """The assignment's file ran (or raised `error`); `defined`: the required functions it defines."""

    kind: ClassVar[str] = "load"
    assignment: str
    error: str | None
    defined: list[str]


@dataclass(frozen=True)
class Started(Message):
    """A probe's call begins (if the child dies now, this call is what killed it)."""

    kind: ClassVar[str] = "started"
    assignment: str
    id: str


@dataclass(frozen=True)
class ProbeResult(Message):
    """What a probe's call gave: a model's configuration, a plain value, or the student's error."""

    kind: ClassVar[str] = "probe"
    assignment: str
    id: str
    returned: str | None = None  # the type of what was returned
    model: dict[str, Any] | None = None  # the Keras configuration of the model
    error: str | None = None
    value: Any = None  # a plain function's returned value, as JSON data
    foreign: list[str] | None = None  # custom layer classes or Lambda: the model cannot be rebuilt here
    measured_here: dict[str, Any] | None = None  # measured in the child (foreign models only)
    measure_error: str | None = None


@dataclass(frozen=True)
class End(Message):
    kind: ClassVar[str] = "end"
    assignment: str


@dataclass(frozen=True)
class Done(Message):
    """The child finished every assignment of its job."""

    kind: ClassVar[str] = "done"


KINDS: dict[str, type[Message]] = {k.kind: k for k in (Begin, Load, Started, ProbeResult, End, Done)}

# The JSON types each declared field may hold (None allowed where the field's default or hint allows it).
_TYPES: dict[str, tuple[type, ...]] = {
    "assignment": (str,), "id": (str,), "error": (str, type(None)), "defined": (list,),
    "returned": (str, type(None)), "model": (dict, type(None)), "foreign": (list, type(None)),
    "measured_here": (dict, type(None)), "measure_error": (str, type(None)),
}


def parse(raw: Any) -> Message:
    """The message `raw` (decoded JSON) stands for; raises ContractError if it is not one of the kinds above."""
    if not isinstance(raw, dict) or raw.get("type") not in KINDS:
        raise ContractError("not a grader message")
    kind = KINDS[raw["type"]]
    values = {}
    for f in dataclasses.fields(kind):
        if f.name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ContractError(f"a {kind.kind!r} message without {f.name!r}")
            continue
        allowed = _TYPES.get(f.name)
        if allowed is not None and not isinstance(raw[f.name], allowed):
            raise ContractError(f"a {kind.kind!r} message whose {f.name!r} is a {type(raw[f.name]).__name__}")
        values[f.name] = _bounded(raw[f.name], _TEXT_LIMITS.get(f.name, MAX_TEXT))
    if isinstance(values.get("defined"), list) and not all(isinstance(d, str) for d in values["defined"]):
        raise ContractError("a 'load' message whose 'defined' holds something other than names")
    return kind(**values)


# Framing.

def send(fd: int, message: Message) -> None:
    """Write one message to a file descriptor."""
    body = json.dumps(message.to_wire(), default=str).encode("utf-8")
    data = _HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@dataclass
class Receipt:
    """What was refused on a channel, as it happens."""

    rejected: list[str] = field(default_factory=list)
    on_reject: Callable[[str], None] | None = None

    def reject(self, reason: str) -> None:
        self.rejected.append(reason)
        if self.on_reject is not None:
            self.on_reject(reason)


def receive(stream: BinaryIO, limit: int = MAX_CHANNEL_BYTES, receipt: Receipt | None = None,
            each: int = MAX_MESSAGE_BYTES) -> Iterator[Message]:
    """Yield messages as they arrive until end of file; raises ContractError if the framing is garbled or the
    channel carries more than `limit` bytes (the messages before stay received).

    A message over `each` bytes or `MAX_DEPTH` levels, or that is not one of the kinds, is left out and noted in
    `receipt`; its body is never decoded whole."""
    total = 0
    while True:
        header = stream.read(_HEADER.size)
        if not header:
            return
        if len(header) < _HEADER.size:
            raise ContractError("the result channel ended in the middle of a message")
        (size,) = _HEADER.unpack(header)
        if size > each:  # skipped a chunk at a time, never held: it costs the grader no memory
            _skip(stream, size)
            if receipt is not None:
                receipt.reject(f"a result of {size / 2**20:.1f} MB, more than the {each / 2**20:g} MB a model's "
                               "configuration needs")
            continue
        total += size
        if total > limit:
            raise ContractError(f"the code sent more than {limit / 2**20:g} MB of results, more than a submission "
                                "needs, so the rest was not read")
        body = stream.read(size)
        if len(body) < size:
            raise ContractError("the result channel ended in the middle of a message")
        try:
            raw = json.loads(body)
            if _deeper_than(raw, MAX_DEPTH):
                raise ContractError(f"a result nested more than {MAX_DEPTH} levels deep")
            yield parse(raw)
        except (ValueError, ContractError, TypeError, RecursionError) as exc:
            if receipt is not None:
                receipt.reject(str(exc)[:200] if not isinstance(exc, RecursionError)
                               else f"a result nested more than {MAX_DEPTH} levels deep")


def _skip(stream: BinaryIO, size: int) -> None:
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            raise ContractError("the result channel ended in the middle of a message")
        size -= len(chunk)


def _bounded(value: Any, limit: int) -> Any:
    """`value` with every string cut to `limit` characters and every lone surrogate (which JSON can carry but no
    file or terminal can hold) replaced by U+FFFD; walked without recursion."""
    def fix(text: str) -> str:
        if len(text) > limit:
            text = f"{text[:limit]} ... ({len(text) - limit:,} more characters not shown)"
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")

    if isinstance(value, str):
        return fix(value)
    stack = [value]
    while stack:
        item = stack.pop()
        pairs = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        for key, child in list(pairs):
            if isinstance(child, str):
                item[key] = fix(child)
            elif isinstance(child, dict | list):
                stack.append(child)
            if isinstance(key, str) and isinstance(item, dict) and fix(key) != key:
                item[fix(key)] = item.pop(key)
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` nests lists and objects more than `limit` levels (without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False
