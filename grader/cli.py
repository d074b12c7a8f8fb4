"""The `grade` command: a thin layer of Click over `grader.grading` and `grader.reports`."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from grader import errors, settings
from grader.reports import escape, gradescope, terminal
from grader.sandbox.limits import Limits


class _DefaultGroup(click.Group):
    """`grade PATH...` runs the default command; `grade SUBCOMMAND ...` the subcommand."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        if args and args[0] in self.commands:
            return super().resolve_command(ctx, args)
        return "run", self.commands["run"], args

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("grade", "PATH... [OPTIONS]  |  grade COMMAND [ARGS]...")
        self.format_help_text(ctx, formatter)
        with formatter.section("Options of grade PATH..."):
            rows = [p.get_help_record(ctx) for p in self.commands["run"].get_params(ctx)]
            formatter.write_dl([r for r in rows if r is not None and r[1]])
        self.format_commands(ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        head = 0
        while head < len(args) and args[head] == "--course":  # the group's own option comes first
            head += 2
        if head < len(args) and args[head] not in self.commands and args[head] not in ("--help", "-h", "--version"):
            args = [*args[:head], "run", *args[head:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """The one error boundary of every subcommand: a grader error exits with its own status and one line;
        anything else is a bug in the grader (exit 3, with the traceback). A student's mistake never gets here."""
        try:
            return super().invoke(ctx)
        except errors.GraderError as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception:
            click.echo(BUG_BANNER, err=True)
            click.echo(traceback.format_exc(), err=True)
            sys.exit(errors.EXIT_GRADER_FAILED)


_PROFILE_HELP = "Training budget of the convergence checks: quick (CPU; the default without a GPU) or full."
_TRUST_HELP = ("Low stakes only: take the figures measured where student code ran for models the grader cannot "
               "rebuild (custom layer classes, Lambda); by default their measured checks fail.")
_BACKEND_HELP = ("The Keras backend that trains the networks: tensorflow (in the grader's process; the default) or jax "
                 "(in a process of its own; e.g. a GPU machine where TensorFlow has no GPU build: pip install "
                 "'cnn-grader[gpu]').")
_TIMEOUT_HELP = ("Seconds per assignment, taken as given. By default 120 or four times the reference's own time, "
                 "whichever is longer, times how much slower this machine is than the one that measured the "
                 "reference.")
_BUDGET_HELP = ("The whole submission's seconds on its platform (Gradescope's timeout, a CI job's): the time limit "
                "that follows the machine grows to at most a share of it per assignment, so that a submission that "
                "hangs everywhere still ends in time. Without it, at most 300 s per assignment.")
BUG_BANNER = "The grader itself failed (this is a bug in the grader, not in the submission):"


def _set_backend(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        settings.choose(backend=value)


def entry() -> None:
    """The `grade` command: run by this shell's grading service where there is one to use (`grader.service`), else
    here."""
    from grader import service

    code = service.run(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    main()


@click.group(cls=_DefaultGroup, invoke_without_command=False,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cnn-grader")
@click.option("--course", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The course folder (solutions, stubs, caches); by default the one marked by a [tool.cnn-grader] "
                   "table in the working folder's pyproject.toml, or the installed package's.")
def main(course: Path | None) -> None:
    """Grade Keras CNN assignments: `grade PATH...` grades submission folders or files."""
    if course is not None:
        settings.choose(course=course.resolve())


@dataclass(frozen=True)
class Grading:
    """How each submission is graded, as the options of `grade` and `grade batch` say (`grading_options`)."""

    assignments: list[str] | None
    limits: Limits
    profile: str
    trust_custom_layers: bool


def grading_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of `grade` and `grade batch` that decide how a submission is graded, declared once: the command
    is given them as one `Grading`."""
    options = [
        click.option("--assignment", "-a", "assignments", multiple=True,
                     help="Grade only this assignment (repeatable)."),
        click.option("--timeout", type=float, default=None, help=_TIMEOUT_HELP),
        click.option("--budget", type=float, default=None, help=_BUDGET_HELP),
        click.option("--memory", default=3072, show_default=True, help="Resident memory cap per assignment, in MB."),
        click.option("--profile", type=click.Choice(["quick", "full"]), default=None, help=_PROFILE_HELP),
        click.option("--backend", type=click.Choice(list(settings.BACKENDS)), default=None, callback=_set_backend,
                     expose_value=False, is_eager=True, help=_BACKEND_HELP),
        click.option("--trust-custom-layers", is_flag=True, help=_TRUST_HELP),
    ]

    @functools.wraps(command)
    def graded(*, assignments: tuple[str, ...], timeout: float | None, budget: float | None, memory: int,
               profile: str | None, trust_custom_layers: bool, **rest: Any) -> Any:
        grading = Grading(list(assignments) or None, _limits(timeout, memory, budget),
                          profile or _default_profile(), trust_custom_layers)
        return command(grading=grading, **rest)

    for option in reversed(options):
        graded = option(graded)
    return graded


@main.command("run")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@grading_options
@click.option("--json", "json_path", type=click.Path(path_type=Path),
              help="Write Gradescope results.json here (a folder of <submission>.json for several).")
@click.option("--prairielearn", "prairielearn_path", type=click.Path(path_type=Path),
              help="Write PrairieLearn's results.json here (its external graders' format; see grade prairielearn).")
@click.option("--feedback", "feedback_path", type=click.Path(path_type=Path),
              help="Write the student's feedback pages into this folder: feedback.md and feedback.html (one page, "
                   "plots inlined), with the training-curve plots.")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path),
              help="Write JUnit XML here (one test case per check) for CI.")
@click.option("--summary", "summary_path", type=click.Path(path_type=Path),
              help="Append the Markdown summary (scores, failed checks' causes, curves) to this file, e.g. "
                   "\"$GITHUB_STEP_SUMMARY\".")
@click.option("--fail-under", type=float, default=None, help="Exit 1 when a submission scores below PERCENT.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the totals.")
def run_command(paths: tuple[Path, ...], grading: Grading, json_path: Path | None, prairielearn_path: Path | None,
                feedback_path: Path | None, junit_path: Path | None, summary_path: Path | None,
                fail_under: float | None, quiet: bool) -> None:
    """Grade submission folders (or single files) and print a report.

    The assignments found are graded and the missing ones listed, unscored; with -a, a missing one scores 0."""
    from grader.grading import grade_submission
    from grader.reports.outputs import Outputs, write

    status = errors.EXIT_GRADED
    results = []
    several = len(paths) > 1
    for path in paths:
        result = grade_submission(path, grading.assignments, grading.limits, grading.profile,
                                  grading.trust_custom_layers, only_present=not grading.assignments)
        results.append(result)
        if quiet:
            click.echo(f"{escape.terminal(str(path))}: {result.score:g} / {result.max_score:g}")
        else:
            click.echo(terminal.render(result, color=True), nl=False)  # Click drops the colours off a terminal
        name = path.stem or path.name
        write(result, Outputs(
            json=(json_path / f"{name}.json" if several else json_path) if json_path else None,
            prairielearn=(prairielearn_path / f"{name}.json" if several else prairielearn_path)
            if prairielearn_path else None,
            feedback=(feedback_path / name if several else feedback_path) if feedback_path else None,
            summary=summary_path, heading=f"## Grading {escape.markdown(str(path))}\n\n"))
        if fail_under is not None and result.percent < fail_under:
            status = errors.EXIT_BELOW_THRESHOLD
    if junit_path is not None:
        from grader.reports import junit

        junit_path.parent.mkdir(parents=True, exist_ok=True)
        named = [(str(path), gradescope.to_dict(result)) for path, result in zip(paths, results, strict=True)]
        junit_path.write_text(junit.render(named))
    sys.exit(status)


def _limits(timeout: float | None, memory: int, budget: float | None = None) -> Limits:
    if timeout is None:
        return Limits(memory_mb=memory, follow_machine=True, budget=budget)
    return Limits(timeout=timeout, memory_mb=memory, budget=budget)


def _default_profile() -> str:
    from grader.convergence import default_profile

    return default_profile()


@main.command("batch")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for results/<student>.json, grades.csv, summary.md, junit.xml and histogram.png.")
@click.option("--jobs", "-j", default=1, show_default=True, help="Students graded at once.")
@click.option("--force", is_flag=True, help="Grade again students that already have a result.")
@grading_options
@click.option("--fail-under", type=float, default=None,
              help="Exit 1 when a student scores below PERCENT (for CI: the job turns red; summary.md names them).")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="CSV mapping each student's folder to their identifiers (columns: folder, and any of name, "
                   "canvas_id, sis_user_id, sis_login_id, section, email, username, idnumber): writes canvas.csv and "
                   "moodle.csv for the gradebook.")
@click.option("--title", default="CNN assignments", show_default=True,
              help="The gradebook column (Canvas assignment, Moodle grade item) of the exported grades.")
@click.option("--shard", default=None, metavar="K/N",
              help="Grade only slice K of N of the class (by a hash of each student's name); `grade merge` brings "
                   "the slices' output folders together as one run.")
def batch_command(root: Path, out: Path, jobs: int, force: bool, grading: Grading, fail_under: float | None,
                  roster: Path | None, title: str, shard: str | None) -> None:
    """Grade a class: every subfolder or .zip of ROOT is one student. Writes results/<student>.json, grades.csv,
    summary.md, junit.xml and histogram.png into --out."""
    from grader.batch import grade_class, parse_shard

    def progress(items, total):
        with click.progressbar(items, length=total, label="grading", file=sys.stderr) as bar:
            yield from bar

    summary = grade_class(root, out, jobs=jobs, force=force, assignments=grading.assignments,
                          limits=grading.limits, profile=grading.profile, progress=progress,
                          trust_custom_layers=grading.trust_custom_layers, fail_under=fail_under,
                          roster=roster, title=title, shard=parse_shard(shard) if shard else None)
    click.echo(f"graded {len(summary['graded'])} student(s), skipped {summary['skipped']} already graded "
               f"(--force grades them again); {summary['students']} in {out / 'grades.csv'}")
    for name, count in summary["most_failed"]:
        click.echo(f"  failed by {count}: {name}")
    _class_outcome(summary, out, fail_under, roster is not None)


def _class_outcome(summary: dict[str, Any], out: Path, fail_under: float | None, exported: bool) -> None:
    """What `grade batch` and `grade merge` say at the end, and their exit status: 3 when the grader failed on
    someone, 1 when someone is below `fail_under`."""
    if exported:
        click.echo(f"gradebook: {out / 'canvas.csv'} and {out / 'moodle.csv'}")
        if summary["unrostered"]:
            click.echo(f"not in the roster, so not exported: {', '.join(summary['unrostered'])}", err=True)
    if summary["grader_failures"]:
        click.echo(f"The grader itself failed on {len(summary['grader_failures'])} student(s), who are not graded: "
                   f"{', '.join(summary['grader_failures'])} (the grader_error column of grades.csv says why; "
                   "this is a bug in the grader, not in their work)", err=True)
        sys.exit(errors.EXIT_GRADER_FAILED)
    if summary["below"]:
        click.echo(f"below {fail_under:g}%: {', '.join(summary['below'])}", err=True)
        sys.exit(errors.EXIT_BELOW_THRESHOLD)


@main.command("merge")
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder for the merged results: the same grades.csv, summary and pages as one grade batch run.")
@click.option("--fail-under", type=float, default=None, help="Exit 1 when a student scores below PERCENT.")
@click.option("--roster", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="As for grade batch: writes canvas.csv and moodle.csv.")
@click.option("--title", default="CNN assignments", show_default=True, help="As for grade batch.")
def merge_command(parts: tuple[Path, ...], out: Path, fail_under: float | None, roster: Path | None,
                  title: str) -> None:
    """Merge the output folders of `grade batch --shard K/N` runs into one."""
    from grader.batch import merge
    from grader.reports import gradebook

    summary = merge(list(parts), out, fail_under, gradebook.read_roster(roster) if roster else None, title)
    click.echo(f"merged {summary['students']} student(s) from {len(parts)} folder(s) into {out}")
    _class_outcome(summary, out, fail_under, roster is not None)


@main.command("similarity")
@click.argument("root", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="The folder of grade batch's results; similarity.md is written there.")
@click.option("--threshold", default=60.0, show_default=True, help="Percent of both files' code that a pair shares.")
def similarity_command(root: Path, out: Path, threshold: float) -> None:
    """Similar code and identical unusual mistakes across a class: evidence for a person, never a score change."""
    from grader.similarity import report

    out.mkdir(parents=True, exist_ok=True)
    (out / "similarity.md").write_text(report(root, out, threshold / 100))
    click.echo(f"wrote {out / 'similarity.md'}")


@main.command("gradescope")
@click.option("--out", "out", default=Path("autograder.zip"), show_default=True, type=click.Path(path_type=Path),
              help="Where to write the autograder zip.")
@click.option("--assignment", "-a", "assignments", multiple=True, help="Only this assignment (repeatable).")
@click.option("--profile", type=click.Choice(["quick", "full"]), default="quick", show_default=True,
              help="Training budget on Gradescope (its machines have no GPU).")
def gradescope_command(out: Path, assignments: tuple[str, ...], profile: str) -> None:
    """Build Gradescope's autograder zip: setup.sh, run_autograder, the grader, the reference artifacts."""
    from grader.package import gradescope_zip, settings

    path = gradescope_zip(out, list(assignments) or None, profile)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB). Upload it as the assignment's autograder, with "
               f"these Autograder settings:\n{settings()}")


@main.command("prairielearn")
@click.option("--out", "out", default=Path("prairielearn"), show_default=True, type=click.Path(path_type=Path),
              help="Folder for image/ (the Dockerfile and what it copies) and questions/<assignment>/info.json.")
@click.option("--assignment", "-a", "assignments", multiple=True, help="Only this assignment (repeatable).")
@click.option("--profile", type=click.Choice(["quick", "full"]), default="quick", show_default=True,
              help="Training budget on PrairieLearn's graders (no GPU).")
@click.option("--image", default="cnn-grader", show_default=True,
              help="The image's name on Docker Hub, as the questions' info.json will name it.")
def prairielearn_command(out: Path, assignments: tuple[str, ...], profile: str, image: str) -> None:
    """Make PrairieLearn's external grader: the grading image's recipe and each question's info.json settings."""
    from grader.prairielearn import build

    made = build(out, list(assignments) or None, profile, image)
    click.echo(f"image: {made['image']} (docker build -t {image} {made['image']}); questions' "
               f"externalGradingOptions: {made['questions']}/<assignment>/info.json")


@main.command("build")
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if assignments/ is out of date.")
@click.option("--solutions", "solutions", type=click.Path(path_type=Path), default=None,
              help="Folder of reference solutions (default: the course's).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Where the stubs and notebooks go (default: assignments/ beside the solutions).")
def build_command(check: bool, solutions: Path | None, out: Path | None) -> None:
    """Make the student stubs (.py) and notebooks (.ipynb) from the marked regions of the solutions."""
    from grader import locations
    from grader.build import build

    if solutions is None:
        course = locations.course()
        if course.solutions is None:
            raise errors.UsageError("no reference solutions to build from: run grade build in the course folder, or "
                                    "pass --course DIR or --solutions DIR")
        solutions, stubs = course.solutions, course.assignments
    else:
        stubs = None
    out = out or stubs or solutions.parent / "assignments"
    stale = build(solutions, out, check=check)
    if check and stale:
        click.echo(f"out of date in {out}: {', '.join(stale)}; run `grade build`", err=True)
        sys.exit(1)
    click.echo(f"{out}: {len(stale)} file(s) {'to update' if check else 'written'}"
               + (f" ({', '.join(stale)})" if stale else ", all up to date"))


@main.command("validate")
@click.option("--assignment", "-a", "assignments", multiple=True, help="Only this assignment (repeatable).")
def validate_command(assignments: tuple[str, ...]) -> None:
    """Check the rubrics: solutions score full, stubs zero, and every declared mutant loses points."""
    from grader.validate import table, validate

    rows = validate(list(assignments) or None)
    click.echo(table(rows))
    wrong = [r for r in rows if not r.ok]
    click.echo(f"{len(rows) - len(wrong)} of {len(rows)} as expected")
    sys.exit(1 if wrong else 0)


@main.command("release")
@click.option("--out", "out", default=Path("release"), show_default=True, type=click.Path(path_type=Path),
              help="Folder for student/, autograder/ and autograder.zip.")
@click.option("--profile", type=click.Choice(["quick", "full"]), default="quick", show_default=True)
def release_command(out: Path, profile: str) -> None:
    """Make the student folder (stubs, notebooks, visible checks) and the autograder folder and zip."""
    from grader.release import release

    made = release(out, profile)
    click.echo(f"students: {made['student']}  autograder: {made['autograder']} and {made['zip']}")
