"""Hostile submissions: each is graded with a reason, quickly, and touches nothing else.

The files are in tests/fixtures/hostile/. Where a protection exists only when the grader runs as root on a
kernel that allows namespaces (reading the solutions, the network, processes left in new sessions), the test
says so and is skipped elsewhere; CI runs as root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, GAP, ROOT, graded
from grader.cli import main
from grader.grading import grade_submission
from grader.sandbox import isolation
from grader.sandbox.limits import Limits

HOSTILE = FIXTURES / "hostile"
isolated = pytest.mark.skipif(not isolation.current().namespaces,
                              reason=f"no namespaces here: {isolation.current().reason}")


def _check(result, category: str, description_part: str = ""):
    return next(c for c in result.checks if c.category == category and description_part in c.description)


def _processes_with(text: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(f"{pid}: {command}")
    return found


def test_endless_loop_inside_a_function_keeps_what_was_measured_before_it() -> None:
    start = time.monotonic()
    result = graded(HOSTILE / "gap_loop_in_function.py", timeout=20)
    assert time.monotonic() - start < 60  # stopped at its own limit, far before the default 120 s
    assert _check(result, "api", "gap_head").passed  # measured before the builder hung
    builder = _check(result, "shape", "build_lenet_gap")
    assert not builder.passed
    assert "time limit of 20 s" in builder.output
    assert "gap_loop_in_function.py, line" in builder.output  # where it was stuck
    assert 0 < result.score < result.max_score


def test_memory_bomb_is_stopped_at_the_cap() -> None:
    start = time.monotonic()
    result = grade_submission(HOSTILE / "gap_memory_bomb.py", ["gap"], Limits(timeout=60, memory_mb=1500))
    elapsed = time.monotonic() - start
    gap = result.assignments[0]
    assert gap.score == 0
    assert "more than 1,500 MB of memory" in gap.checks[0].output
    assert elapsed < 60  # stopped for its memory, before its time limit


def test_os_exit_fails_the_checks_it_did_not_reach_and_keeps_the_others() -> None:
    result = graded(HOSTILE / "gap_os_exit.py")
    assert _check(result, "api", "gap_head").passed
    builder = _check(result, "shape", "build_lenet_gap")
    assert not builder.passed and "exited early (exit status 0)" in builder.output


def test_segfault_is_named() -> None:
    result = graded(HOSTILE / "gap_segfault.py")
    assert _check(result, "api", "gap_head").passed
    assert "killed by signal SIGSEGV" in _check(result, "shape", "build_lenet_gap").output


def test_100_mb_of_prints_cost_the_assignment_and_not_the_grader() -> None:
    start = time.monotonic()
    result = graded(HOSTILE / "gap_prints_100mb.py")
    assert time.monotonic() - start < 60  # far before the time limit of 120 s
    assert result.score == 0
    assert "printed or wrote more output than allowed" in result.checks[0].output


@isolated
def test_processes_left_in_new_sessions_are_killed_with_the_child() -> None:
    result = graded(HOSTILE / "gap_setsid_sleepers.py")
    assert result.score == result.max_score  # the code itself is correct
    time.sleep(0.5)
    assert _processes_with("sleep 734") == []


@isolated
def test_the_reference_the_artifact_and_the_hidden_checks_cannot_be_read() -> None:
    result = graded(HOSTILE / "gap_reads_reference.py")
    assert result.score == 0
    assert "gap_head, build_lenet_gap are not defined" in result.checks[0].output


@isolated
def test_no_network() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 47391))
    server.listen()
    server.settimeout(0.2)
    reached: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            reached.append(connection.recv(100))
            connection.close()

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    try:
        result = graded(HOSTILE / "gap_socket.py")
    finally:
        stop.set()
        listener.join()
        server.close()
    assert reached == []
    assert result.score == 0


def test_patched_keras_cannot_change_a_count() -> None:
    result = graded(HOSTILE / "gap_patched_keras.py")
    params = _check(result, "params", "gap_head on 16 channels")
    assert not params.passed
    assert "expected 4,010, found 1,450" in params.output


def test_a_fake_result_printed_and_written_everywhere_changes_nothing(tmp_path) -> None:
    submission = tmp_path / "alice"
    submission.mkdir()
    (submission / "gap.py").write_text((HOSTILE / "gap_fake_results.py").read_text())
    out = tmp_path / "results.json"
    before = Path("/tmp/results.json").stat().st_mtime if Path("/tmp/results.json").exists() else None
    outcome = CliRunner().invoke(main, [str(submission), "-a", "gap", "--json", str(out), "-q"])
    assert outcome.exit_code == 0, outcome.output
    report = json.loads(out.read_text())
    assert report["score"] == 0 and report["max_score"] == 23
    assert sorted(p.name for p in submission.iterdir()) == ["gap.py"]  # the submission folder is untouched
    assert not (tmp_path / "results.json.tmp").exists()
    if isolation.current().namespaces:  # its /tmp was its own
        after = Path("/tmp/results.json").stat().st_mtime if Path("/tmp/results.json").exists() else None
        assert after == before


def test_the_protections_applied_are_in_the_json(tmp_path, shared_grading) -> None:
    out = tmp_path / "results.json"
    outcome = CliRunner().invoke(main, [str(ROOT / "solutions" / "gap.py"), "--json", str(out), "-q"])
    assert outcome.exit_code == 0, outcome.output
    protections = json.loads(out.read_text())["extra_data"]["protections"]
    assert protections["process_group"] and protections["time_limit"] and protections["memory_limit"]
    assert protections["pid_namespace"] == isolation.current().namespaces
    if isolation.current().namespaces:
        assert protections["unprivileged_user"] and protections["network_namespace"]
        assert str(ROOT / "solutions") in protections["hidden_paths"]
    else:
        assert protections["why_not"]


def test_hostile_submissions_do_not_affect_the_next_student(tmp_path) -> None:
    out = tmp_path / "json"
    files = [HOSTILE / "gap_segfault.py", HOSTILE / "gap_prints_100mb.py", ROOT / "solutions" / "gap.py"]
    outcome = CliRunner().invoke(main, [*map(str, files), "--json", str(out), "-q"])
    assert outcome.exit_code == 0, outcome.output
    good = json.loads((out / "gap.json").read_text())
    assert good["score"] == good["max_score"] == 23


def test_fork_bomb_is_stopped_and_every_process_killed() -> None:
    start = time.monotonic()
    result = graded(HOSTILE / "gap_fork_bomb.py")
    assert time.monotonic() - start < 60  # far before the time limit of 120 s
    assert result.score == 0
    # Copies of one process share their memory, but each counts it: the memory cap may come first.
    assert re.search(r"starting more than 64 processes|MB in \d+ processes", result.checks[0].output)


@pytest.mark.parametrize(("fixture", "classes"),
                         [("gap_custom_layer.py", "MeanOverSpace"), ("gap_lambda.py", "Lambda")])
def test_a_model_the_grader_cannot_rebuild_earns_nothing_it_measured_by_default(fixture, classes) -> None:
    """Its figures could come only from the process that ran the student's code, which can report anything."""
    result = graded(FIXTURES / "gap" / fixture)
    for category, description in (("params", "build_lenet_gap(10, 1)"), ("values", "build_lenet_gap"),
                                  ("convergence", "build_lenet_gap")):
        check = _check(result, category, description)
        assert not check.passed and classes in check.output and "standard Keras layers" in check.output
    assert not any("measured in the process that ran your code" in n for n in result.notes)


def test_an_instructor_may_trust_the_childs_figures_and_the_report_says_so() -> None:
    result = grade_submission(FIXTURES / "gap" / "gap_custom_layer.py", ["gap"], trust_custom_layers=True)
    gap = result.assignments[0]
    assert result.extra["trusted_custom_layers"] is True
    assert _check(gap, "params", "build_lenet_gap(10, 1)").passed  # measured, there
    notes = [n for n in gap.notes if "the instructor chose to trust" in n]
    assert len(notes) == 1 and "MeanOverSpace" in notes[0]
    assert "kernel_size=7" not in " ".join(gap.notes)  # the hidden calls' arguments stay hidden
    training = _check(gap, "convergence")
    assert not training.passed and "only models it can rebuild" in training.output


def test_a_link_to_the_reference_solution_scores_nothing_and_reads_nothing(tmp_path) -> None:
    submission = tmp_path / "alice"
    submission.mkdir()
    (submission / "gap.py").symlink_to(ROOT / "solutions" / "gap.py")
    (submission / "blocks").symlink_to(ROOT / "solutions")  # a linked folder is neither searched nor copied
    result = grade_submission(submission, ["gap"]).assignments[0]
    assert result.score == 0 and result.max_score == 23
    assert "symbolic link" in result.checks[0].output and "def gap_head" not in result.checks[0].output


def test_code_that_claims_its_models_are_custom_cannot_send_figures_of_its_own() -> None:
    """Whether a model can be rebuilt is decided from its configuration by the grader, never by the child."""
    forged = graded(HOSTILE / "gap_claims_foreign.py")
    honest = graded(GAP / "gap_wrong_kernel.py")
    assert [(c.description, c.passed) for c in forged.checks] == [(c.description, c.passed) for c in honest.checks]
    assert "expected 4,010, found 1,450" in _check(forged, "params", "gap_head on 16 channels").output


def test_messages_that_would_cost_the_grader_are_refused_and_honest_results_kept() -> None:
    result = graded(HOSTILE / "gap_floods_channel.py")
    assert result.score == result.max_score == 23, [c.output for c in result.checks if not c.passed]


def test_one_assignments_code_cannot_speak_for_another(tmp_path) -> None:
    (tmp_path / "convolution.py").write_text((HOSTILE / "convolution_forges_gap.py").read_text())
    (tmp_path / "gap.py").write_text((ROOT / "solutions" / "gap.py").read_text())
    result = grade_submission(tmp_path, ["convolution", "gap"])
    assert [(a.score, a.max_score) for a in result.assignments] == [(17, 17), (23, 23)], \
        [c.output for a in result.assignments for c in a.checks if not c.passed]


def _traces() -> set[str]:
    """What the children's users own where they could leave something: /run/lock, System V IPC objects."""
    from grader.sandbox.isolation import CHILD_UID, CHILD_UIDS

    def childs(uid: int) -> bool:
        return uid == CHILD_UID or uid in CHILD_UIDS

    found = {f"/run/lock/{p.name}" for p in Path("/run/lock").glob("*") if childs(p.stat().st_uid)} \
        if Path("/run/lock").is_dir() else set()
    for kind in ("shm", "msg", "sem"):
        table = Path(f"/proc/sysvipc/{kind}")
        if table.is_file():
            lines = table.read_text().splitlines()
            columns = lines[0].split()
            for line in lines[1:]:
                row = dict(zip(columns, line.split(), strict=False))
                if row.get("uid", "").isdigit() and childs(int(row["uid"])):
                    found.add(f"{kind} {row.get('key')} {row.get('shmid') or row.get('msqid') or row.get('semid')}")
    return found


@pytest.mark.skipif(not isolation.current().namespaces, reason="needs root and namespaces (as on CI and Gradescope)")
def test_nothing_is_left_behind_and_the_grader_does_not_wait_for_an_exit_handler() -> None:
    before = _traces()
    start = time.monotonic()
    result = graded(HOSTILE / "gap_leaves_traces.py")
    assert time.monotonic() - start < 50  # not the minute its exit handler sleeps
    assert result.score == result.max_score  # the right network: its 300 MB did not fit in its quota
    assert _traces() == before


def test_every_folder_anyone_may_write_to_is_private_to_the_child() -> None:
    writable = set()
    for top in ("/tmp", "/var", "/run", "/dev", "/home", "/srv", "/opt"):
        for folder, folders, _ in os.walk(top):
            if folder.count("/") > 3:
                folders[:] = []
            mode = os.lstat(folder).st_mode
            if mode & 0o002 and not os.path.islink(folder) and os.path.ismount(folder) is False:
                writable.add(folder)
    inside = {w for w in writable if any(w == p or w.startswith(p + "/") for p in isolation.PRIVATE_FOLDERS)}
    assert writable == inside, writable - inside


@pytest.mark.skipif(not isolation.current().namespaces, reason="needs root and namespaces (as on CI and Gradescope)")
def test_the_child_sees_an_allow_list_not_the_machine() -> None:
    """A readable copy of a solution elsewhere on the machine (another course, another student) is not there for it."""
    copy = ROOT.parent / f".grader-test-copy-{os.getpid()}"
    try:
        copy.mkdir()
        (copy / "gap.py").write_text((ROOT / "solutions" / "gap.py").read_text())
        os.chmod(copy, 0o755)
        os.chmod(copy / "gap.py", 0o644)
        result = grade_submission(HOSTILE / "gap_walks_the_disk.py", ["gap"]).assignments[0]
        assert result.score == result.max_score, [c.output for c in result.checks if not c.passed]
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def test_a_model_far_larger_than_the_assignments_is_refused_before_the_grader_builds_it() -> None:
    result = graded(HOSTILE / "gap_huge_model.py")
    params = _check(result, "params", "build_lenet_gap(10, 1)")
    assert not params.passed and "far more than the assignment's networks" in params.output
    assert _check(result, "params", "gap_head on 16 channels").passed  # the head is rebuilt as usual


def test_a_model_of_thousands_of_layers_is_refused_before_the_grader_builds_it() -> None:
    result = graded(HOSTILE / "gap_wide_head.py", "gap")  # 1,500 branches: rebuilt, it took the grader minutes
    assert result.score == 0
    assert len(result.causes) == 1 and "layers, far more than the assignment's networks" in result.causes[0].text


# Round 3: the grader's own limits, hidden arguments, shared memory and text that acts on its reader.

def test_hidden_arguments_never_reach_a_visible_message() -> None:
    result = graded(HOSTILE / "gap_hidden_leak.py")
    visible = "\n".join(c.output for c in result.checks if not c.hidden)
    assert "the calls I was given: [('gap_head', {'num_classes': 10}" in visible  # it did find its own job
    for hidden_argument in ("'kernel_size': 7", "'num_classes': 7", "'num_classes': 5", "'channels': 3"):
        assert hidden_argument not in visible
    hidden = [c.output for c in result.checks if c.hidden]
    assert hidden and all(o.startswith("hidden check: ") and not any(ch.isdigit() for ch in o) for o in hidden)


def test_results_sent_again_are_measured_once() -> None:
    start = time.monotonic()
    result = graded(HOSTILE / "gap_repeats_results.py")
    assert result.score == result.max_score  # the first answer to each call counts, as it is honest
    assert time.monotonic() - start < 90  # 300 rebuilds of each model would take many minutes


def test_feature_maps_too_large_for_the_grader_fail_with_a_message() -> None:
    import psutil

    before = psutil.Process().memory_info().rss
    result = graded(HOSTILE / "gap_feature_map_bomb.py")
    shape = _check(result, "shape", "build_lenet_gap gives")
    assert not shape.passed and "GB of feature maps" in shape.output and "UpSampling2D" in shape.output
    assert _check(result, "api", "gap_head").passed  # the honest head keeps its points
    assert psutil.Process().memory_info().rss - before < 2 * 2**30


def test_a_receptive_field_too_large_for_the_canvas_fails_with_a_message() -> None:
    result = graded(HOSTILE / "gap_huge_field.py")
    invariance = _check(result, "invariance")
    assert not invariance.passed and "receptive field is" in invariance.output and "512x512" in invariance.output


@isolated
def test_detached_shared_memory_is_capped_in_the_childs_namespace() -> None:
    result = graded(HOSTILE / "gap_sysv_shm.py")
    held = re.search(r"held (\d+) MB of shared memory", _check(result, "api", "gap_head").output)
    assert held is not None and int(held.group(1)) <= 64  # it asked for 1,536
    assert _check(result, "api", "build_lenet_gap").passed


def test_a_returned_string_is_quoted_within_a_budget() -> None:
    result = graded(HOSTILE / "convolution_long_string.py", "convolution")
    values = [c for c in result.checks if c.category == "values" and not c.hidden]
    assert values and not any(c.passed for c in values)
    assert all(len(c.output) < 2_000 for c in values)
    assert sum("more characters not shown" in c.output for c in values) >= 3


def test_returned_text_is_drawn_and_shown_as_text(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = CliRunner().invoke(main, [str(HOSTILE / "convolution_mathtext.py"), "-a", "convolution", "-q", "--json",
                                    str(out / "results.json"), "--feedback", str(out / "feedback")])
    assert run.exit_code == 0, run.output  # mathtext once raised a ParseException while drawing (exit 3)
    assert list((out / "feedback").glob("convolution-*-values.png"))  # the connectivity picture, drawn
    drawn = [t for t in json.loads((out / "results.json").read_text())["tests"] if t.get("output_format") == "html"]
    assert drawn and all("<img src=x" not in t["output"] and "&lt;img src=x" in t["output"] for t in drawn)
    assert "<img src=x" not in (out / "feedback" / "feedback.html").read_text()


def test_a_deep_head_fails_its_layers_check_without_a_drawing() -> None:
    result = graded(HOSTILE / "gap_deep_head.py", "gap")
    layers = [c for c in result.checks if c.category == "structure" and not c.passed]
    assert layers and all("figure" not in (c.data or {}) for c in layers)  # 400 layers are not drawn
    assert len(result.causes) == 1  # one mistake, however many times it repeats


def test_hostile_text_reaches_no_output_raw(tmp_path: Path) -> None:
    from xml.etree import ElementTree

    outputs = tmp_path / "out"
    outputs.mkdir()
    run = CliRunner().invoke(main, [str(HOSTILE / "gap_hostile_text.py"), "-a", "gap", "--json",
                                    str(outputs / "results.json"), "--junit", str(outputs / "junit.xml"),
                                    "--feedback", str(outputs / "feedback"), "--summary", str(outputs / "summary.md")])
    assert run.exit_code == 0, run.output  # a lone surrogate once crashed the report (exit 3)
    assert "\x1b" not in run.output and "\r" not in run.output and "\\x1b]0;pwned" in run.output
    ElementTree.parse(outputs / "junit.xml")  # well-formed XML 1.0
    summary = (outputs / "summary.md").read_text()
    assert "[Regrade request](" not in summary and "<img" not in summary
    report = json.loads((outputs / "results.json").read_text())
    assert "](https://evil" not in report["output"] and "\\x1b\\]0;pwned" in report["output"]
    page = (outputs / "feedback" / "feedback.md").read_text()
    assert "](https://evil" not in page.split("````")[0]  # the message itself sits in a longer fence


def test_folders_600_deep_beside_an_honest_file_are_graded(tmp_path: Path) -> None:
    shutil.copy(ROOT / "solutions" / "gap.py", tmp_path / "gap.py")
    deep = tmp_path
    for _ in range(600):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "gap.py").write_text("raise SystemExit('found')\n")  # out of reach of the walk: not a second file
    result = grade_submission(tmp_path, ["gap"], Limits(timeout=60))  # once a RecursionError (exit 3)
    assert result.score == result.max_score


_ROOT_ON_LINUX = pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0,
                                    reason="root on Linux (as in a container)")


@_ROOT_ON_LINUX
def test_root_without_namespaces_still_runs_the_child_as_a_user_of_its_own(tmp_path, monkeypatch) -> None:
    """A container that grants no namespaces (Docker's default capabilities, as PrairieLearn's and Gradescope's
    may be): the child still becomes an unprivileged user, and the hidden folders are closed to it by permissions.
    Where an unprivileged user cannot run the grader at all (a checkout in a folder only root may enter, as CI's
    clone is), the next test holds."""
    from grader.sandbox.isolation import CHILD_UIDS

    monkeypatch.setenv("GRADER_NO_NAMESPACES", "1")
    monkeypatch.setattr(isolation, "_isolation", None)  # probed again under the switch, and restored after
    protections = isolation.current()
    if not protections.unprivileged:
        pytest.skip(protections.reason)
    assert not protections.namespaces
    stolen = grade_submission(HOSTILE / "gap_reads_reference.py", ["gap"], Limits(timeout=120)).assignments[0]
    assert stolen.score == 0 and "gap_head, build_lenet_gap are not defined" in stolen.checks[0].output
    (tmp_path / "gap.py").write_text("import os\nraise RuntimeError(f'running as {os.getuid()}:{os.getgid()}')\n")
    who = grade_submission(tmp_path / "gap.py", ["gap"], Limits(timeout=120)).assignments[0].checks[0].output
    uid, gid = (int(n) for n in who.split("running as ")[1].split()[0].rstrip(".").split(":"))
    assert uid == gid and uid in CHILD_UIDS, who
    for path in protections.hidden:
        assert not os.stat(path).st_mode & 0o077, path


@_ROOT_ON_LINUX
def test_where_an_unprivileged_user_cannot_run_the_grader_the_child_stays_as_before_and_says_why(tmp_path,
                                                                                               monkeypatch) -> None:
    """Switching the child to a user that cannot even start Python would turn every submission into a grader
    failure: the probe tries first, and where it cannot, the child runs as before and the report says why."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    (locked / "python").symlink_to(sys.executable)  # an interpreter no other user may reach
    monkeypatch.setenv("GRADER_NO_NAMESPACES", "1")
    monkeypatch.setattr(isolation, "_isolation", None)
    monkeypatch.setattr(isolation.sys, "executable", str(locked / "python"))
    protections = isolation._probe()
    assert not protections.unprivileged and not protections.user_only
    assert "an unprivileged user cannot run the grader from here" in protections.reason
    assert "Permission denied" in protections.reason
