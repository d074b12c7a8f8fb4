"""The convergence checks' training, measured outside the grader: any backend, any device, any profile.

    python -m benchmarks.convergence export configs.json      # here, with TensorFlow: build the networks
    python -m benchmarks.convergence train configs.json --profile full --seeds 3 [--out runs.json]
    python -m benchmarks.convergence calibrate [--out benchmarks/results/convergence-quick-2cpu.json]  # make calibrate

`export` builds the training network of every convergence probe from the reference solution, an equivalent
spelling and the broken variants of tests/fixtures, and writes their Keras configurations. `train` needs only
Keras and a backend (e.g. `KERAS_BACKEND=jax` on a GPU machine without TensorFlow): it trains each one under
the profile and seeds, and prints accuracy, last-epoch training loss and seconds per run, plus whether each
run would pass the rubric's check against the reference's run under the same seed.

`calibrate` does both here under the quick profile with the seeds behind each margin: the reference and the
equivalent spelling under ten seeds (each must pass against the reference's seed-0 run, the run students are
compared with), each broken variant under three (each must fail). Its record is what a fast test holds the
rubrics' margins to (tests/test_convergence.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import grader  # noqa: F401  (quiets TensorFlow and pins the backend before Keras is imported)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

# The networks trained for each assignment's convergence probe: the reference first.
VARIANTS: dict[str, dict[str, Path]] = {
    "gap": {"reference": ROOT / "solutions" / "gap.py", "equivalent": FIXTURES / "gap" / "gap_aliases.py",
            "averaging before the class convolution": FIXTURES / "gap" / "gap_pool_then_dense.py"},
    "inception": {"reference": ROOT / "solutions" / "inception.py",
                  "equivalent": FIXTURES / "inception" / "inception_equivalent.py",
                  "no ReLU": FIXTURES / "inception" / "inception_no_relu.py"},
    "resnet": {"reference": ROOT / "solutions" / "resnet.py",
               "equivalent": FIXTURES / "resnet" / "resnet_equivalent.py",
               "no identity shortcut": FIXTURES / "resnet" / "resnet_no_identity_shortcut.py"},
}


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"variant_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export(out: Path) -> None:
    """Build every variant's training network and write the configurations (needs the backend of the fixtures)."""
    import keras

    from grader import harness
    from grader.analysis.graph import trace
    from grader.analysis.structure import signature
    from grader.rubrics import RUBRICS

    cases: dict[str, Any] = {}
    for name, variants in VARIANTS.items():
        rubric = RUBRICS[name]
        probe = next(p for p in rubric.probes.values() if "convergence" in p.measures)
        built = {}
        for label, path in variants.items():
            keras.backend.clear_session()
            module = _load(path)
            if probe.harness:
                model = getattr(harness, probe.harness)(module, **probe.kwargs)
            else:
                model = getattr(module, probe.function)(*probe.args, **probe.kwargs)
            config = json.loads(json.dumps(keras.saving.serialize_keras_object(model), default=str))
            built[label] = {"config": config, "signature": signature(trace(model))}
        cases[name] = {"dataset": probe.dataset, "training": probe.training, "variants": built,
                       "margins": dataclasses.asdict(probe.margins)}
    out.write_text(json.dumps(cases))
    counts = ", ".join(f"{name} ({len(case['variants'])} networks)" for name, case in cases.items())
    print(f"wrote {out}: {counts}")


def _passes(case: dict[str, Any], run: dict[str, Any], reference: dict[str, Any]) -> bool:
    from grader.margins import Margins, verdict

    return verdict(run, reference, Margins(**case["margins"]), run["profile"]) is None


def calibrate(out: Path) -> bool:
    """Quick-profile runs behind each margin (see the module's docstring); True when every verdict is as expected."""
    from grader.convergence import PROFILES, device_name, train

    configs = out.with_suffix(".configs.tmp")
    export(configs)
    cases = json.loads(configs.read_text())
    configs.unlink()
    start, rows, as_expected = time.monotonic(), [], True
    print(f"profile quick on {device_name()}")
    for name, case in cases.items():
        profile = dataclasses.replace(PROFILES["quick"], **case["training"])
        reference = None
        for label, variant in case["variants"].items():
            correct = label in ("reference", "equivalent")
            for seed in range(10 if correct else 3):
                run = train(variant["config"], variant["signature"], case["dataset"], profile, seed=seed,
                            use_cache=False)
                reference = reference or run  # the reference's seed 0: the run students are compared with
                passed = _passes(case, run, reference)
                as_expected &= passed == correct
                print(f"{name:<10} {label:<40} {seed:>4} {run['val_accuracy']:>8.3f} {run['train_loss']:>7.3f} "
                      f"{run['seconds']:>6.1f}  {'pass' if passed else 'FAIL'}", flush=True)
                rows.append({"assignment": name, "variant": label if label in ("reference", "equivalent") else "broken",
                             "label": label, "finite": run["finite"],
                             **{k: run[k] for k in ("seed", "val_accuracy", "train_loss", "steps", "seconds")}})
    total = time.monotonic() - start
    out.write_text(json.dumps({"device": device_name(), "profile": "quick", "runs": rows, "seconds": round(total, 1)},
                              indent=1))
    print(f"{len(rows)} runs in {total:.0f} s: {'every verdict as expected' if as_expected else 'NOT as expected'}; "
          f"wrote {out}")
    return as_expected

def train_all(configs: Path, profile_name: str, seeds: int, out: Path | None) -> None:
    from grader.convergence import PROFILES, device_name, train

    cases = json.loads(configs.read_text())
    start = time.monotonic()
    print(f"profile {profile_name}, {seeds} seed(s), on {device_name()}")
    print(f"{'assignment':<10} {'variant':<40} {'seed':>4} {'accuracy':>8} {'loss':>7} {'steps':>5} {'s':>6}  check")
    rows = []
    for name, case in cases.items():
        profile = dataclasses.replace(PROFILES[profile_name], **case["training"])
        for seed in range(seeds):
            reference = None
            for label, variant in case["variants"].items():
                run = train(variant["config"], variant["signature"], case["dataset"], profile, seed=seed,
                            use_cache=False)
                reference = reference or run
                verdict = "pass" if _passes(case, run, reference) else "FAIL"
                print(f"{name:<10} {label:<40} {seed:>4} {run['val_accuracy']:>8.3f} {run['train_loss']:>7.3f} "
                      f"{run['steps']:>5} {run['seconds']:>6.1f}  {verdict}", flush=True)
                rows.append({"assignment": name, "variant": label, "verdict": verdict,
                             **{k: run[k] for k in ("seed", "val_accuracy", "train_loss", "steps", "seconds")}})
    total = time.monotonic() - start
    print(f"{len(rows)} runs in {total:.1f} s")
    if out:
        out.write_text(json.dumps({"device": device_name(), "profile": profile_name, "runs": rows,
                                   "seconds": total}, indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("export").add_argument("out", type=Path)
    run = sub.add_parser("train")
    run.add_argument("configs", type=Path)
    run.add_argument("--profile", default="quick")
    run.add_argument("--seeds", type=int, default=1)
    run.add_argument("--out", type=Path)
    sub.add_parser("calibrate").add_argument("--out", type=Path,
                                             default=ROOT / "benchmarks" / "results" / "convergence-quick-2cpu.json")
    args = parser.parse_args(argv)
    if args.command == "export":
        export(args.out)
    elif args.command == "calibrate":
        sys.exit(0 if calibrate(args.out) else 1)
    else:
        train_all(args.configs, args.profile, args.seeds, args.out)


if __name__ == "__main__":
    main()
