"""Student stubs and notebooks generated from the marked regions of the reference solutions.

In `solutions/<name>.py`:

- `# BEGIN SOLUTION` ... `# END SOLUTION` inside a function: replaced by `raise NotImplementedError(hint)`, the
  hint taken from the `# HINT:` comment that opens the region (continued on `#   ` lines);
- `# BEGIN SOLUTION ONLY` ... `# END SOLUTION ONLY`: left out of the stub altogether (helpers, tables).

`assignments/<name>.py` is the stub; `assignments/<name>.ipynb` the same code as a notebook, with the module's
and each function's explanation in markdown cells. `check` lists the files that are out of date.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat

from grader.errors import UsageError

_BEGIN, _END = "# BEGIN SOLUTION", "# END SOLUTION"
_BEGIN_ONLY, _END_ONLY = "# BEGIN SOLUTION ONLY", "# END SOLUTION ONLY"


class BuildError(UsageError):
    """A solution's markers are malformed."""


def stub_source(solution: str, name: str) -> str:
    """The student's stub made from the text of a reference solution."""
    out: list[str] = []
    lines = drop_marked(solution, _BEGIN_ONLY, _END_ONLY).splitlines()
    index = 0
    while index < len(lines):
        line, stripped = lines[index], lines[index].strip()
        if stripped == _BEGIN:
            end = _skip_to(lines, index, _END)
            indent = line[: len(line) - len(line.lstrip())]
            out += _raise(indent, _hint(lines[index + 1:end]))
            index = end + 1
            continue
        if stripped.startswith(("# END SOLUTION", "# HINT:")):
            raise BuildError(f"{name}: line {index + 1}: {stripped} outside a solution region")
        out.append(line)
        index += 1
    return _add_instructions("\n".join(out).rstrip() + "\n", name)


def drop_marked(text: str, begin: str, end: str) -> str:
    """`text` without the lines from each `begin` marker line to its `end` marker line, both included."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == begin:
            index = _skip_to(lines, index, end) + 1
            continue
        out.append(lines[index])
        index += 1
    return re.sub(r"\n{4,}", "\n\n\n", "\n".join(out)).rstrip() + "\n"


def _skip_to(lines: list[str], start: int, marker: str) -> int:
    for index in range(start + 1, len(lines)):
        if lines[index].strip() == marker:
            return index
    raise BuildError(f"line {start + 1}: {lines[start].strip()} has no {marker}")


def _hint(region: list[str]) -> str:
    words: list[str] = []
    for line in region:
        stripped = line.strip()
        if stripped.startswith("# HINT:"):
            words.append(stripped[len("# HINT:"):].strip())
        elif words and stripped.startswith("#   "):
            words.append(stripped[1:].strip())
        else:
            break
    return " ".join(words) or "write this part"


def _raise(indent: str, hint: str) -> list[str]:
    pieces = textwrap.wrap(hint, 112 - len(indent) - 6, drop_whitespace=False)
    body = [f"{indent}    {_literal(piece)}" for piece in pieces]
    return [f"{indent}raise NotImplementedError(", *body, f"{indent})"]


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PY_INSTRUCTIONS = "Fill in the functions below, then check your work with `grade assignments/{name}.py`."
_NOTEBOOK_INSTRUCTIONS = "Fill in the functions below, then check your work with the last cell of this notebook."


def _add_instructions(text: str, name: str) -> str:
    """The module docstring gains how to check one's work."""
    match = re.match(r'(\s*""".*?)(\n?""")', text, re.S)
    note = "\n\n" + _PY_INSTRUCTIONS.format(name=name)
    if match is None:
        return f'"""{note.strip()}"""\n\n' + text
    return text[: match.end(1)] + note + text[match.end(1):]


def notebook(stub: str, name: str) -> str:
    """The stub as a notebook: the module's explanation, the imports, then each function after its own."""
    tree = ast.parse(stub)
    lines = stub.splitlines()
    cells = []
    doc = (ast.get_docstring(tree) or name).replace(_PY_INSTRUCTIONS.format(name=name), _NOTEBOOK_INSTRUCTIONS)
    title, _, rest = doc.partition("\n")
    cells.append(nbformat.v4.new_markdown_cell(f"# {title}\n{rest}".rstrip()))
    body = [node for node in tree.body if not _is_docstring(node)]
    first_def = next((i for i, n in enumerate(body) if isinstance(n, ast.FunctionDef | ast.ClassDef)), len(body))
    preamble = body[:first_def]
    if preamble:
        start = min(_start(n) for n in preamble)
        cells.append(nbformat.v4.new_code_cell("\n".join(lines[start - 1: preamble[-1].end_lineno]).strip()))
    for node in body[first_def:]:
        source = "\n".join(lines[_start(node) - 1: node.end_lineno]).strip()
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and ast.get_docstring(node):
            cells.append(nbformat.v4.new_markdown_cell(f"## `{node.name}`\n\n{ast.get_docstring(node)}"))
        cells.append(nbformat.v4.new_code_cell(source))
    cells.append(nbformat.v4.new_markdown_cell(
        "## Check your work\n\nSave the notebook (Ctrl+S), then run the cell below: it grades the notebook as saved, "
        "with the visible checks, and shows the report here. From a terminal, the same: "
        f"`grade assignments/{name}.ipynb`. Only code cells are graded; this cell does nothing when the grader runs "
        "the notebook."))
    cells.append(nbformat.v4.new_code_cell(f'from grader import check\n\ncheck("{name}")'))
    for index, cell in enumerate(cells):
        cell["id"] = f"{name}-{index}"  # stable ids: the same solution gives the same file
    book = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    return nbformat.writes(book) + "\n"


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def outputs(solutions: Path) -> dict[str, str]:
    """File name -> content of every stub and notebook made from `solutions`."""
    made = {}
    for path in sorted(solutions.glob("*.py")):
        if path.name.startswith("_"):
            continue
        stub = stub_source(path.read_text(), path.stem)
        made[f"{path.stem}.py"] = stub
        made[f"{path.stem}.ipynb"] = notebook(stub, path.stem)
    return made


def build(solutions: Path, target: Path, check: bool = False) -> list[str]:
    """Write the stubs and notebooks into `target` (or, with `check`, only compare); returns the names of the
    files that were out of date."""
    stale = []
    for name, content in outputs(solutions).items():
        path = target / name
        if not path.is_file() or path.read_text() != content:
            stale.append(name)
            if not check:
                target.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    return stale
