"""`make test` in a clean Debian root, as a new user of that release would run it. Run as root (not in `make test`):

    python -m benchmarks.debian_root [--suite trixie] [--record benchmarks/results/debian13-make-test.txt]

A minimal root of the release (debootstrap --variant=minbase, made once and kept in --base, copied afresh for each
run) gets only what the README asks for, from the release's own archive: its `python3` (Debian 13's is 3.13), venv,
make and git, and util-linux and mount (the jail's unshare and mount, so that the jailed tests run too). A clone of
this repository's HEAD is made in it, and `make test` runs there in a chroot with its own mount namespace, /proc, /sys
and /dev, as root, as CI runs it. The record says the Python, the time and pytest's closing line.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.gradescope_image import MIRROR, _mounts

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ["python3", "python3-venv", "make", "git", "ca-certificates", "util-linux", "mount"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="trixie")
    parser.add_argument("--base", type=Path, default=None)
    parser.add_argument("--record", type=Path, default=None)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("run as root: debootstrap and chroot need it")
    base = args.base or Path(f"/var/tmp/debian-{args.suite}-base")
    lines = [f"# make test in a clean Debian {args.suite} root ({time.strftime('%Y-%m-%d')}), commit "
             + subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()]
    if not (base / "usr" / "bin" / "apt-get").exists():
        start = time.monotonic()
        subprocess.run(["debootstrap", "--variant=minbase", args.suite, str(base), MIRROR], check=True,
                       stdout=subprocess.DEVNULL)
        lines.append(f"debootstrap --variant=minbase {args.suite}: {time.monotonic() - start:.0f} s")
    with tempfile.TemporaryDirectory(prefix="debian-root-", dir="/var/tmp") as work:
        root = Path(work) / "root"
        subprocess.run(["cp", "-a", str(base), str(root)], check=True)
        shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
        cert = ""
        proxy_ca = os.environ.get("PIP_CERT")  # a machine that reaches PyPI through a TLS-inspecting proxy
        if proxy_ca and Path(proxy_ca).is_file():
            shutil.copy(proxy_ca, root / "etc" / "host-proxy-ca.crt")
            cert = "PIP_CERT=/etc/host-proxy-ca.crt "
            lines.append("this machine's proxy CA given to pip in the root (PIP_CERT)")
        start = time.monotonic()
        _run(root, f"apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                   f"--no-install-recommends {' '.join(PACKAGES)} >/dev/null")
        python = _run(root, "python3 --version", capture=True).strip()
        lines.append(f"apt-get install {' '.join(PACKAGES)}: {time.monotonic() - start:.0f} s; {python}")
        checkout = root / "work" / "cnn-grader"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(checkout)], check=True)
        start = time.monotonic()
        done = _run(root, f"cd /work/cnn-grader && {cert}CI=true make test 2>&1", capture=True, check=False)
        elapsed = time.monotonic() - start
        log = Path(work).parent / f"debian-{args.suite}-make-test.log"
        log.write_text(done)
        closing = [line for line in done.splitlines() if re.match(r"^(=+ )?\d+ (passed|failed)", line.strip())]
        lines.append(f"make test: {elapsed / 60:.1f} min; " + (closing[-1].strip() if closing else "no closing line"))
        lines.append(f"  the whole output: {log}")
        failed = [line for line in done.splitlines() if line.startswith("FAILED") or line.startswith("ERROR")]
        lines += [f"  {line}" for line in failed[:30]]
        lines.append(f"  last lines: {' | '.join(done.strip().splitlines()[-3:])}")
    record = "\n".join(lines) + "\n"
    print(record)
    if args.record:
        with args.record.open("a") as f:
            f.write(record + "\n")
    return 0


def _run(root: Path, command: str, capture: bool = False, check: bool = True) -> str:
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "--fork", "bash", "-c",
                           _mounts(root, command)], text=True, capture_output=capture)
    if check and done.returncode:
        sys.exit(f"failed ({done.returncode}) in the root: {command}\n{done.stdout or ''}{done.stderr or ''}")
    return (done.stdout or "") + (f"\nexit status {done.returncode}\n" if done.returncode else "")


if __name__ == "__main__":
    sys.exit(main())
