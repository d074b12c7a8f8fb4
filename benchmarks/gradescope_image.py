"""Gradescope's autograder, end to end, in a clean Debian root: `setup.sh`, then `run_autograder` under a memory
and CPU limit, and `results.json` checked against Gradescope's documented fields. Run as root (not in `make test`):

    python -m benchmarks.gradescope_image [--suite bookworm] [--memory-mb 3072] [--cpus 2] [--submission DIR]

1. A minimal root of the Debian release (debootstrap --variant=minbase: no Python at all, so setup.sh takes the
   branch that installs one from the distribution's archive, as it must on Gradescope's default Ubuntu 22.04 image,
   whose own Python is 3.10); made once and kept in --base, copied afresh for each run.
2. `grade gradescope` builds the zip; it is unpacked into /autograder/source and `setup.sh` runs there as root
   (in a chroot of the root, with its own mount namespace, /proc, /sys and /dev).
3. The submission is copied into /autograder/submission and `/autograder/run_autograder` runs in a memory cgroup
   capped at --memory-mb with --cpus CPUs (a CFS quota; one CPU or less is also pinned to one core), as Gradescope's
   container does; its peak memory and time are read back.
4. results.json is checked (fields and types of Gradescope's specification) and summed up; the record is printed
   and, with --record, written to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MIRROR = "http://deb.debian.org/debian"
# Gradescope's specification of results.json (their docs, specs.md): top level and per test.
TOP_FIELDS = {"score": (int, float), "max_score": (int, float), "execution_time": (int, float), "output": str,
              "output_format": str, "tests": list, "visibility": str, "stdout_visibility": str, "extra_data": dict,
              "leaderboard": list, "test_output_format": str, "test_name_format": str}
TEST_FIELDS = {"score": (int, float), "max_score": (int, float), "status": str, "name": str, "name_format": str,
               "number": str, "output": str, "output_format": str, "tags": list, "visibility": str,
               "extra_data": dict}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="bookworm", help="Debian release of the root")
    parser.add_argument("--base", type=Path, default=None, help="where the pristine root is kept")
    parser.add_argument("--memory-mb", type=int, default=3072)
    parser.add_argument("--cpus", type=float, default=2.0)
    parser.add_argument("--submission", type=Path, default=REPO / "examples" / "submission")
    parser.add_argument("--assignment", "-a", action="append", default=[])
    parser.add_argument("--record", type=Path, default=None, help="append the record to this file")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("run as root: debootstrap, chroot and cgroups need it")
    base = args.base or Path(f"/var/tmp/gradescope-{args.suite}-base")
    lines = [f"# Gradescope autograder in a clean Debian {args.suite} root ({time.strftime('%Y-%m-%d')})",
             f"limits: {args.memory_mb} MB of memory, {args.cpus:g} CPU; submission: "
             f"{args.submission.relative_to(REPO) if args.submission.is_relative_to(REPO) else args.submission}"]
    with tempfile.TemporaryDirectory(prefix="gradescope-root-", dir="/var/tmp") as work:
        root = fresh_root(args.suite, base, Path(work), lines, "Gradescope")
        archive = Path(work) / "autograder.zip"
        only = [x for a in args.assignment for x in ("-a", a)]
        subprocess.run([sys.executable, "-m", "grader", "gradescope", "--out", str(archive), *only], check=True,
                       cwd=REPO)
        autograder = root / "autograder"
        _unzip(archive, autograder / "source")
        shutil.copy(autograder / "source" / "run_autograder", autograder / "run_autograder")
        python_before = _chroot(root, "command -v python3 || echo none", capture=True).strip()
        lines.append(f"python3 in the root before setup.sh: {python_before}")

        start = time.monotonic()
        cert = "PIP_CERT=/etc/host-proxy-ca.crt " if (root / "etc" / "host-proxy-ca.crt").is_file() else ""
        setup = _chroot(root, f"cd /autograder/source && {cert}bash ./setup.sh", capture=True)
        lines.append(f"setup.sh: {time.monotonic() - start:.0f} s; " + " | ".join(setup.strip().splitlines()[-2:]))

        shutil.copytree(args.submission, autograder / "submission")
        (autograder / "results").mkdir()
        start = time.monotonic()
        peak_mb = _limited(root, "/autograder/run_autograder > /autograder/results/stdout 2>&1",
                           args.memory_mb, args.cpus)
        elapsed = time.monotonic() - start
        results = json.loads((autograder / "results" / "results.json").read_text())
        problems = check_results(results)
        lines.append(f"run_autograder: {elapsed:.0f} s, peak memory of the container {peak_mb:.0f} MB")
        lines.append(f"  where it went, {last_breakdown}")
        lines.append(f"results.json: {results['score']:g} / {results.get('max_score', 0):g}, "
                     f"{len(results['tests'])} tests, output_format {results.get('output_format', 'text')}; "
                     + ("fields as Gradescope specifies" if not problems else "PROBLEMS: " + "; ".join(problems)))
        for name, figures in results.get("extra_data", {}).get("assignments", {}).items():
            lines.append(f"  {name}: {figures['score']:g} / {figures['max_score']:g} in "
                         f"{figures['execution_time']:.0f} s, child peak {figures.get('child_peak_mb')} MB")
        if not results["tests"]:
            lines.append(f"  output: {results.get('output')}")
            said = (autograder / "results" / "stdout").read_text(errors="replace").strip().splitlines()
            lines += [f"  | {line}" for line in said[-12:]]  # what the grader said of its failure
        extra = results.get("extra_data", {})
        lines.append(f"  time limit per assignment {extra.get('time_limit_s')} s (this machine's slowdown "
                     f"{extra.get('machine_slowdown')}); grader peak {extra.get('grader_peak_mb')} MB")
        lines.append(f"  protections: {extra.get('protections')}")
    record = "\n".join(lines) + "\n"
    print(record)
    if args.record:
        with args.record.open("a") as f:
            f.write(record + "\n")
    return 1 if problems else 0


def fresh_root(suite: str, base: Path, work: Path, lines: list[str], platform: str) -> Path:
    """A copy, in `work/root`, of the pristine minimal root of `suite` (made by debootstrap the first time and kept in
    `base`), with this machine's resolver and, where PyPI is reached through a TLS-inspecting proxy, its CA for pip
    (`/etc/host-proxy-ca.crt`); what was done is said in `lines`."""
    if not (base / "usr" / "bin" / "apt-get").exists():
        start = time.monotonic()
        subprocess.run(["debootstrap", "--variant=minbase", suite, str(base), MIRROR], check=True,
                       stdout=subprocess.DEVNULL)
        lines.append(f"debootstrap --variant=minbase {suite}: {time.monotonic() - start:.0f} s")
    root = work / "root"
    subprocess.run(["cp", "-a", str(base), str(root)], check=True)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    proxy_ca = os.environ.get("PIP_CERT")
    if proxy_ca and Path(proxy_ca).is_file():
        shutil.copy(proxy_ca, root / "etc" / "host-proxy-ca.crt")
        lines.append(f"this machine's proxy CA given to pip in the root (PIP_CERT; {proxy_ca}): not needed on "
                     f"{platform}")
    return root


def check_results(results: dict) -> list[str]:
    """What in `results` breaks Gradescope's specification of results.json (empty when nothing does)."""
    problems = [f"{key}: {type(results[key]).__name__}" for key, kinds in TOP_FIELDS.items()
                if key in results and not isinstance(results[key], kinds)]
    problems += [f"unknown top-level field {key}" for key in results if key not in TOP_FIELDS]
    if "score" not in results and not all("score" in t for t in results.get("tests", [])):
        problems.append("no score at the top nor in every test")
    for key in ("output_format", "test_output_format"):
        if results.get(key, "text") not in FORMATS:
            problems.append(f"{key} {results[key]!r}")
    for test in results.get("tests", []):
        problems += [f"test {test.get('name')!r}: {key}" for key, kinds in TEST_FIELDS.items()
                     if key in test and not isinstance(test[key], kinds)]
        problems += [f"test {test.get('name')!r}: unknown field {key}" for key in test if key not in TEST_FIELDS]
        if test.get("status", "passed") not in ("passed", "failed"):
            problems.append(f"test {test.get('name')!r}: status {test['status']!r}")
        if test.get("visibility", "visible") not in VISIBILITIES:
            problems.append(f"test {test.get('name')!r}: visibility {test['visibility']!r}")
    return problems


def _unzip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            path = Path(bundle.extract(info, target))
            mode = info.external_attr >> 16
            if mode:
                path.chmod(mode & 0o777)


def _chroot(root: Path, command: str, capture: bool = False) -> str:
    """Run `command` with bash in a chroot of `root`, in a mount namespace of its own with /proc, /sys and /dev."""
    script = _mounts(root, command)
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "--fork", "bash", "-c", script],
                          text=True, capture_output=capture)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}) in the root: {command}\n{done.stdout or ''}{done.stderr or ''}")
    return done.stdout if capture else ""


def _limited(root: Path, command: str, memory_mb: int, cpus: float, network: bool = True) -> float:
    """Run `command` in the chroot inside fresh memory and CPU cgroups (version 1 or 2), without a network if
    `network` is false; the peak memory in MB."""
    name = f"gradescope-{os.getpid()}"
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").is_file()
    groups = [Path("/sys/fs/cgroup") / name] if v2 else [Path("/sys/fs/cgroup/memory") / name,
                                                         Path("/sys/fs/cgroup/cpu") / name]
    for group in groups:
        group.mkdir()
    try:
        period = 100_000
        if v2:
            (groups[0] / "memory.max").write_text(f"{memory_mb}M")
            (groups[0] / "memory.swap.max").write_text("0")
            (groups[0] / "cpu.max").write_text(f"{int(cpus * period)} {period}")
        else:
            (groups[0] / "memory.limit_in_bytes").write_text(f"{memory_mb}M")
            (groups[1] / "cpu.cfs_period_us").write_text(str(period))
            (groups[1] / "cpu.cfs_quota_us").write_text(str(int(cpus * period)))
        enter = " ".join(f"echo $$ > {g}/cgroup.procs;" for g in groups)
        pin = "taskset -c 0 " if cpus <= 1 else ""
        net = "" if network else "--net "
        sampler = _Sampler(groups[0])
        sampler.start()
        subprocess.run(["bash", "-c", f"{enter} exec {pin}unshare {net}--mount --propagation private --fork bash -c "
                        f"{_quote(_mounts(root, command))}"], check=False)
        sampler.stop.set()
        sampler.join()
        global last_breakdown
        last_breakdown = sampler.breakdown()
        peak = (groups[0] / ("memory.peak" if v2 else "memory.max_usage_in_bytes"))
        return int(peak.read_text()) / 2**20 if peak.is_file() else float("nan")
    finally:
        for group in groups:
            try:
                group.rmdir()
            except OSError:
                pass


last_breakdown = ""  # where the memory of the last `_limited` run went, at its peak (`_Sampler`)


def _role(pid: str, command: str) -> str:
    """What a process of the grading is: the fork server (a forked process keeps its command line, so told apart by
    its parent), the child (forked, a fresh interpreter, or the jail's steps), the grader, or something else."""
    try:
        parent = Path(f"/proc/{Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[1]}/cmdline")
        parent_command = parent.read_bytes().decode(errors="replace")
    except (OSError, IndexError):
        parent_command = ""
    if "forkserver" in command:
        return "child" if "forkserver" in parent_command else "fork server"
    if "grader.child" in command or "grader.sandbox.jail" in command or command.startswith("unshare"):
        return "child"
    return "grader" if "-m grader" in command else "other"


class _Sampler(threading.Thread):
    """Where the memory goes: every 0.2 s, each process of the memory cgroup's proportional set size and anonymous
    memory (/proc/PID/smaps_rollup), by role (grader, fork server, child, other); kept at the sample with the most
    anonymous memory in all, which is what the cgroup cannot reclaim."""

    def __init__(self, group: Path) -> None:
        super().__init__(daemon=True)
        self.group, self.stop = group, threading.Event()
        self.peak: tuple[int, dict[str, list[int]]] = (0, {})

    def run(self) -> None:
        while not self.stop.wait(0.2):
            roles: dict[str, list[int]] = {}
            total = 0
            try:
                pids = (self.group / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text()
                                  .splitlines()[1:])
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except (OSError, ValueError):
                    continue
                pss, anonymous = (int(fields[k].split()[0]) // 1024 for k in ("Pss", "Anonymous"))
                role = _role(pid, command)
                entry = roles.setdefault(role, [0, 0, 0])
                entry[0] += 1
                entry[1] += pss
                entry[2] += anonymous
                total += anonymous
            if total > self.peak[0]:
                self.peak = (total, roles)

    def breakdown(self) -> str:
        total, roles = self.peak
        parts = [f"{role} x{n}: PSS {pss} MB, anonymous {anonymous} MB" for role, (n, pss, anonymous)
                 in sorted(roles.items())]
        return f"at the peak of anonymous memory ({total} MB in all): " + "; ".join(parts)


def _mounts(root: Path, command: str) -> str:
    """A bash script that mounts /proc, /sys and /dev in `root` and runs `command` chrooted there, clean env."""
    # The root bound onto itself is a mount point, as a container's root is (unshare, in the jail, needs one).
    return (f"mount --bind {root} {root} && mount -t proc proc {root}/proc && mount -t sysfs sys {root}/sys && "
            f"mount --rbind /sys/fs/cgroup {root}/sys/fs/cgroup && mount --rbind /dev {root}/dev && "
            f"exec chroot {root} /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
            f"/sbin:/bin LANG=C.UTF-8 /bin/bash -c {_quote(command)}")


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


if __name__ == "__main__":
    sys.exit(main())
