"""Finding a submission's assignment files and turning `.py` and `.ipynb` files into code cells.

Nothing here runs student code: files are read, notebooks converted and every cell compiled, so a syntax
error, a corrupt notebook or a binary file is reported before any process starts.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader import tree
from grader.contract import Cell
from grader.errors import LoadError, UsageError

EXTENSIONS = (".py", ".ipynb")
# Folders below a submission's root that are never searched (README, "Which files are graded"): caches and copies,
# environments and installed packages, and the course's own material, so that `grade .` at the root of a student's
# repository grades the student's files and never a copy of the grader, a rubric, a solution or a test.
_SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", "__MACOSX", "node_modules", "site-packages", "dist-packages",
                 "grader", "rubrics", "solutions", "tests"}
_MAX_PY_BYTES = 2_000_000
_MAX_NOTEBOOK_BYTES = 50_000_000
# Cell magics whose body is plain Python: the magic line is dropped and the body kept.
_PYTHON_CELL_MAGICS = {"time", "capture", "timeit", "prun"}
_SHELL_ASSIGNMENT = re.compile(r"^\s*[\w.,\s\[\]]+=\s*[!%]")


@dataclass(frozen=True)
class StudentSource:
    """The code of one assignment file, ready to run."""

    assignment: str
    path: Path
    cells: tuple[Cell, ...]


def matches(filename: str, assignment: str) -> bool:
    """Whether a file name is a candidate for an assignment.

    Case does not matter, and the copies that browsers and LMSs make still match:

    >>> [matches(n, "resnet") for n in ("ResNet.py", "Resnet (1).py", "jdoe_resnet.ipynb", "resnets.py")]
    [True, True, True, False]
    """
    path = Path(filename)
    if path.suffix.lower() not in EXTENSIONS:
        return False
    return re.search(rf"(?<![a-z]){re.escape(assignment)}(?![a-z])", path.stem.lower()) is not None


def candidate_files(root: Path) -> list[Path]:
    """Every `.py` and `.ipynb` name under `root` that may be the student's work, never entering a linked folder
    nor one of `_SKIPPED_DIRS`, a hidden folder, a virtual environment or a copy of the grader; test files
    (`test_*.py`, `*_test.py`) are left out. A name that is not a regular file is kept, so that `load` can say
    why it refuses it."""
    if not root.is_dir():
        return [root]

    def enter(folder: Path) -> bool:
        return not folder.name.startswith(".") and folder.name not in _SKIPPED_DIRS and not _foreign_folder(folder)

    found = []
    for path, info, _ in tree.walk(root, enter):
        stem, suffix = os.path.splitext(path.name.lower())
        if not stat.S_ISDIR(info.st_mode) and not path.name.startswith(".") and suffix in EXTENSIONS \
                and not stem.startswith("test_") and not stem.endswith("_test"):
            found.append(path)
    return sorted(found)


def _foreign_folder(folder: Path) -> bool:
    """A virtual environment, or a copy of the grader or of a course that uses it (its pyproject.toml says so)."""
    if (folder / "pyvenv.cfg").is_file():
        return True
    project = folder / "pyproject.toml"
    if not project.is_file() or project.is_symlink():
        return False
    try:
        text = project.read_text(errors="replace")[:100_000]
    except OSError:
        return False
    return "cnn-grader" in text


def locate(root: Path, assignment: str, files: list[Path] | None = None) -> Path | None:
    """The one file of `root` that holds `assignment`, or None (`files`: `candidate_files(root)`, if known).

    Where several files are candidates, the untouched stubs among them (every function still raises
    NotImplementedError) give way to the one the student worked in: a student repository holds both gap.py and
    gap.ipynb from the release. Two candidates with work in them are an error naming both."""
    candidates = [p for p in (candidate_files(root) if files is None else files) if matches(p.name, assignment)]
    if len(candidates) > 1:
        worked = [p for p in candidates if not _untouched_stub(p, assignment)]
        candidates = worked or candidates[:1]
    if len(candidates) > 1:
        names = " and ".join(str(p.relative_to(root)) for p in candidates)
        raise LoadError(
            f"Found more than one file for '{assignment}': {names}. "
            "Keep exactly one of them in the submission so the grader knows which one to grade."
        )
    return candidates[0] if candidates else None


def started(root: Path, assignment: str, files: list[Path] | None = None) -> bool:
    """Whether `root` holds a file of `assignment` that is not an untouched stub (`files` as for `locate`)."""
    return any(matches(p.name, assignment) and not _untouched_stub(p, assignment)
               for p in (candidate_files(root) if files is None else files))


def _untouched_stub(path: Path, assignment: str) -> bool:
    """Whether `path` loads and every function it defines only raises NotImplementedError (after its docstring)."""
    try:
        cells = load(path, assignment).cells
    except LoadError:
        return False  # a file that does not load is someone's work: it is graded, and says why it fails
    functions = [node for cell in cells for node in ast.walk(ast.parse(cell.source))
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    return bool(functions) and all(_raises_not_implemented(f.body) for f in functions)


def _raises_not_implemented(body: list[ast.stmt]) -> bool:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def load(path: Path, assignment: str) -> StudentSource:
    """Read and compile one assignment file; raises LoadError with a message for the student.

    Only a regular file is opened, never through a link: a symbolic link, a hard link to a file elsewhere, a
    pipe or a device is refused, and nothing of what it points to is read or shown."""
    data = _read_regular(path, _MAX_NOTEBOOK_BYTES if path.suffix.lower() == ".ipynb" else _MAX_PY_BYTES)
    if path.suffix.lower() == ".ipynb":
        if len(data) > _MAX_NOTEBOOK_BYTES:
            raise LoadError(f"{path.name} is larger than {_MAX_NOTEBOOK_BYTES // 1_000_000} MB; clear its outputs.")
        cells = _notebook_cells(path.name, data)
    else:
        if len(data) > _MAX_PY_BYTES:
            raise LoadError(f"{path.name} is larger than {_MAX_PY_BYTES // 1_000_000} MB: is it really code?")
        cells = (Cell(path.name, _decode_text(path.name, data)),)
    for cell in cells:
        _compile(cell)
    return StudentSource(assignment, path, cells)


_ONLY_FILES = "the grader opens only regular files of the submission itself: submit the file, not a link to it"


def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of `path`, at most `limit` + 1, if it is a regular file with no other name; else LoadError."""
    if path.is_symlink():
        raise LoadError(f"{path.name} is a symbolic link; {_ONLY_FILES}.")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise LoadError(f"{path.name} does not exist or is not a file.") from None
    except OSError as exc:
        raise LoadError(f"{path.name} could not be opened ({exc.strerror}); {_ONLY_FILES}.") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(f"{path.name} is not a regular file; {_ONLY_FILES}.")
        if info.st_nlink > 1:
            raise LoadError(f"{path.name} is a hard link, another name of a file that may be anywhere; {_ONLY_FILES}.")
        return f.read(limit + 1)


def _decode_text(name: str, data: bytes) -> str:
    if b"\x00" in data:
        raise LoadError(f"{name} is a binary file, not Python source. Submit the .py or .ipynb file itself.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"{name} is not UTF-8 text (byte {exc.start} cannot be decoded). Save it as UTF-8 Python source."
        ) from None


def _notebook_cells(name: str, data: bytes) -> tuple[Cell, ...]:
    import nbformat

    text = _decode_text(name, data)
    try:
        notebook = nbformat.reads(text, as_version=4)
        raw_cells = list(notebook.cells)
    except Exception as exc:  # nbformat raises JSON, schema and version errors of many kinds
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LoadError(
            f"{name} is not a valid Jupyter notebook ({reason}). Open it in Jupyter, save it again, "
            "and resubmit; or submit the code as a .py file."
        ) from None
    cells = []
    for number, cell in enumerate(raw_cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = strip_ipython(cell.get("source", ""))
        if source.strip():
            cells.append(Cell(f"{name}, cell {number}", source))
    return tuple(cells)


def strip_ipython(source: str) -> str:
    """Replace IPython magics and shell lines by `pass`, so that they are never executed.

    >>> strip_ipython("%matplotlib inline\\n!pip install keras\\nx = 1")
    'pass\\npass\\nx = 1'
    >>> strip_ipython("%%bash\\nrm -rf /")
    ''
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)
        if not magic or magic[0] not in _PYTHON_CELL_MAGICS:
            return ""
        lines = lines[1:]
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) or _SHELL_ASSIGNMENT.match(line):
            out.append(line[: len(line) - len(stripped)] + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def _compile(cell: Cell) -> None:
    try:
        compile(cell.source, cell.label, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise LoadError(format_syntax_error(exc)) from None
    except ValueError as exc:  # e.g. source with null bytes inside a notebook string
        raise LoadError(f"{cell.label} cannot be compiled: {exc}") from None


def format_syntax_error(exc: SyntaxError) -> str:
    """A syntax error the way a student wants to read it: where, what, and the line itself."""
    where = f"{exc.filename}, line {exc.lineno}" if exc.lineno else exc.filename
    message = f"{type(exc).__name__} in {where}: {exc.msg}"
    if exc.text:
        text = exc.text.rstrip("\n")
        message += f"\n    {text.strip()}"
        if exc.offset:
            indent = len(text) - len(text.lstrip())
            message += "\n    " + " " * max(exc.offset - 1 - indent, 0) + "^"
    return message


# A class's submissions: one student per subfolder or zip of a folder (`grade batch`, `grade similarity`).

_MAX_UNZIPPED_BYTES = 50_000_000


@dataclass(frozen=True)
class Student:
    name: str
    path: Path  # a folder, or a .zip to unpack first


def student_name(path: Path) -> str:
    """The name a student's folder or zip is graded under, and their files are written under: letters, digits and
    `._@+-` kept, anything else `_`, no leading dot. It cannot be `.`, `..`, hidden or a path.

    >>> student_name(Path("...zip")), student_name(Path("Ana María (2)")), student_name(Path("../bob.zip"))
    ('__', 'Ana_María__2_', 'bob')
    """
    raw = path.name[: -len(".zip")] if path.name.lower().endswith(".zip") else path.name
    name = "".join(c if c.isalnum() or c in "._@+-" else "_" for c in raw)
    return name.lstrip(".") or "_" * len(name) or "_"


def students(root: Path) -> list[Student]:
    """Every student under `root`: each subfolder and each `.zip`, by `student_name`. Two sources that would be
    graded under one name (`erin/` and `erin.zip`, `a b/` and `a_b/`) are refused by name, before anything is
    graded: neither may silently replace the other."""
    if not root.is_dir():
        raise UsageError(f"no such folder: {root}")
    found = [Student(student_name(p), p) for p in sorted(root.iterdir())
             if (p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
             or (p.suffix.lower() == ".zip" and p.is_file() and not p.is_symlink())]
    if not found:
        raise UsageError(f"no student folders or .zip files in {root}")
    sources: dict[str, list[str]] = {}
    for student in found:
        sources.setdefault(student.name.lower(), []).append(student.path.name)
    clashes = {name: paths for name, paths in sources.items() if len(paths) > 1}
    if clashes:
        said = "; ".join(f"{' and '.join(repr(p) for p in paths)}" for paths in clashes.values())
        raise UsageError(f"two submissions would be graded as one student: {said}. Rename or remove one of each "
                         "pair; nothing was graded")
    return found


def unpack(archive: Path, folder: Path) -> Path:
    """Unpack a student's zip safely into a fresh `folder` (nothing left from before; no paths outside it; a size
    cap); returns the folder."""
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(archive) as bundle:
        total = 0
        for member in bundle.infolist():
            target = (folder / member.filename).resolve()
            if not target.is_relative_to(folder.resolve()):
                continue  # a path that climbs out of the folder is skipped
            total += member.file_size
            if total > _MAX_UNZIPPED_BYTES:
                break
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink)
    return folder
