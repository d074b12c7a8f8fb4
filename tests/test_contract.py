"""The child-grader contract: every message kind survives the channel, and what is not a message is left out."""

from __future__ import annotations

import io
import json
import os
import struct

import pytest

from grader import contract
from grader.contract import Begin, Cell, Done, Job, Load, ProbeCall, ProbeResult, Started

pytestmark = pytest.mark.quick


def _framed(*bodies: bytes) -> io.BytesIO:
    return io.BytesIO(b"".join(struct.pack(">Q", len(b)) + b for b in bodies))


def test_every_kind_survives_the_channel() -> None:
    sent = [Begin("gap"), Load("gap", None, ["gap_head"]), Started("gap", "gap_head#1"),
            ProbeResult("gap", "gap_head#1", returned="KerasTensor", model={"class_name": "Functional"}),
            ProbeResult("convolution", "f#2", returned="int", value=13), contract.End("gap"), Done()]
    read, write = os.pipe()
    for message in sent:
        contract.send(write, message)
    os.close(write)
    with os.fdopen(read, "rb") as stream:
        assert list(contract.receive(stream)) == sent


def test_the_job_survives_the_trip_to_the_child() -> None:
    job = Job([contract.AssignmentJob("gap", [Cell("gap.py", "x = 1")], ["gap_head"],
                                      [ProbeCall("gap_head#1", "gap_head", [], {"num_classes": 10}, [7, 7, 16], None,
                                                 ["params"], [], False)])], timeout=20.0)
    assert Job.from_wire(job.to_wire()) == job


def test_what_is_not_a_message_of_the_contract_is_left_out_and_noted() -> None:
    good = json.dumps(Begin("gap").to_wire()).encode()
    bad = [b"not json", b"[1, 2]", json.dumps({"type": "verdict", "score": 23}).encode(),
           json.dumps({"type": "load", "assignment": "gap", "error": None}).encode(),  # no "defined"
           json.dumps({"type": "load", "assignment": "gap", "error": None, "defined": [1]}).encode(),
           json.dumps({"type": "probe", "assignment": "gap", "id": 7}).encode()]
    receipt = contract.Receipt()
    assert list(contract.receive(_framed(*bad, good), receipt=receipt)) == [Begin("gap")]
    assert len(receipt.rejected) == len(bad)
    assert any("without 'defined'" in r for r in receipt.rejected)


def test_a_garbled_frame_ends_the_channel_with_a_reason() -> None:
    with pytest.raises(contract.ContractError, match="middle of a message"):
        list(contract.receive(io.BytesIO(struct.pack(">Q", 100) + b"short")))
    with pytest.raises(contract.ContractError, match="more than a submission needs"):
        list(contract.receive(_framed(b"{}" * 10), limit=5))


def test_too_large_or_too_deep_messages_are_refused_and_the_next_ones_kept() -> None:
    good = json.dumps(Begin("gap").to_wire()).encode()
    deep = b"[" * 800 + b"]" * 800
    deeper = b"[" * 100_000 + b"]" * 100_000  # more than the decoder itself would follow
    big = json.dumps({"type": "begin", "assignment": "x" * 400_000}).encode()
    receipt = contract.Receipt()
    received = list(contract.receive(_framed(deep, deeper, big, big, big, good), receipt=receipt, each=300_000,
                                     limit=500_000))  # the big ones, skipped, do not count against the limit
    assert received == [Begin("gap")]
    assert [r.split(",")[0] for r in receipt.rejected] == ["a result nested more than 64 levels deep"] * 2 + \
        ["a result of 0.4 MB"] * 3
