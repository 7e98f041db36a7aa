"""Student copies of the book's exercises, and the checks that keep them honest.

Every exercise in `nbs/` is a markdown question followed by ONE hidden code cell laid out as

    #| hide
    <the solution>
    # --- check ---
    <asserts that only pass if the solution is right>

    python tools/exercises.py make [--src nbs] [--out _exercises]   # write the student copies
    python tools/exercises.py lint [--src nbs]                      # check the layout of every exercise

`make` copies every notebook that has exercises, replaces each solution with a stub (`# your code here` and
`raise NotImplementedError`), keeps the check below the marker (teacher's comments removed), clears the
exercise cells' outputs and keeps every other cell as it is. Standard library only: it runs on a fresh clone
without the virtual environment and without a network. That each check fails without its solution and passes
with it is tested when nbval runs the notebooks (`nbs/conftest.py`).
"""
from __future__ import annotations
import argparse, ast, builtins, copy, io, json, re, sys, tokenize
from pathlib import Path

MARKER = "# --- check ---"
STUB = "# your code here\nraise NotImplementedError(\"exercise {n}: write your solution above the check\")"
STUDENT_NOTE = ("> **Student copy.** Each exercise's solution is replaced by `# your code here`: write your "
                "code there, delete the `raise NotImplementedError` line and run the cell. The check below "
                "`# --- check ---` passes only when your solution is right.")
TEACHER_README = """# Student copies of the exercises

Written by `make exercises` (`python tools/exercises.py make`) from the notebooks in `nbs/`. In every copy
each exercise's solution is replaced by `# your code here` and `raise NotImplementedError`; its check stays
below `# --- check ---`, so a student knows when an answer is right. Everything else is the chapter as
published. The solutions are in `nbs/`.

Hand out this folder with the repository: students run `make lab` once, then open these notebooks from
JupyterLab's file browser. The notebooks import `aigc_book` and read files relative to the repository, so the
folder must sit at the repository's top level, next to `nbs/`.

| notebook | exercises |
|---|---|
{table}
"""
_DIRECTIVE = re.compile(r"^\s*#\s*(\||NBVAL_)")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def split_exercise(source: str):
    "Split an exercise cell into `(directives, solution, check)`, or return None if it has no marker."
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    lines = source.splitlines()
    at = [i for i, line in enumerate(lines) if line.strip() == MARKER]
    if not at:
        return None
    if len(at) > 1:
        raise ValueError(f"an exercise cell must hold the line {MARKER!r} once, found it {len(at)} times")
    head = 0
    while head < at[0] and _DIRECTIVE.match(lines[head]):
        head += 1
    directives = "\n".join(lines[:head])
    solution = "\n".join(lines[head:at[0]]).strip("\n")
    check = "\n".join(lines[at[0] + 1:]).strip("\n")
    return directives, solution, check


def is_exercise(cell) -> bool:
    "True for a code cell laid out as an exercise (it holds the marker line)."
    return cell.get("cell_type") == "code" and any(
        line.strip() == MARKER for line in _source(cell).splitlines())


def strip_comments(code: str) -> str:
    "`code` without its comments (comment-only lines are dropped); unchanged if it does not tokenize."
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code
    cut = {t.start[0]: t.start[1] for t in tokens if t.type == tokenize.COMMENT}
    out = []
    for row, line in enumerate(code.splitlines(), start=1):
        if row not in cut:
            out.append(line)
        elif line[:cut[row]].strip():
            out.append(line[:cut[row]].rstrip())
    return "\n".join(out)


def student_source(source: str, number: int = 1) -> str:
    "The student's version of an exercise cell: a stub that raises, the marker, the check without comments."
    parts = split_exercise(source)
    if parts is None:
        raise ValueError(f"not an exercise cell: it has no line {MARKER!r}")
    return f"{STUB.format(n=number)}\n{MARKER}\n{strip_comments(parts[2])}"


def check_source(source: str) -> str:
    "What the test runs to see a check fail: the cell without its solution (the stub without its `raise`)."
    parts = split_exercise(source)
    if parts is None:
        raise ValueError(f"not an exercise cell: it has no line {MARKER!r}")
    return parts[2]


def _set_source(cell, text: str):
    cell["source"] = text.splitlines(keepends=True)


def student_notebook(nb: dict) -> dict:
    "A copy of notebook `nb` with every exercise's solution replaced by a stub and its outputs cleared."
    if not isinstance(nb, dict) or "cells" not in nb:
        raise TypeError("nb must be a notebook dict with a 'cells' list")
    out, n = copy.deepcopy(nb), 0
    for cell in out["cells"]:
        if is_exercise(cell):
            n += 1
            _set_source(cell, student_source(_source(cell), n))
            cell["outputs"], cell["execution_count"] = [], None
    if n:
        out["cells"].insert(0, {"cell_type": "markdown", "id": "student-copy-note", "metadata": {},
                                "source": STUDENT_NOTE.splitlines(keepends=True)})
    return out


# ---------------------------------------------------------------- lint: layout and independence of exercises
_BUILTINS = set(dir(builtins)) | {"display", "get_ipython", "__file__"}


def _names(code: str):
    "(names bound at top level, free names read anywhere) of a cell; None if it does not parse."
    code = "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    bound, free = set(), set()

    def targets(node, into):
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                into.add(n.id)

    def scope(body_nodes, local, top):
        for node in body_nodes:
            visit(node, local, top)

    def visit(node, local, top):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                (bound if top else local).add(node.name)
                for d in node.decorator_list:
                    visit(d, local, top)
            a = node.args
            inner = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            inner |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
            for d in a.defaults + [d for d in a.kw_defaults if d is not None]:
                visit(d, local, top)
            body = node.body if isinstance(node.body, list) else [node.body]
            for n in body:
                for m in ast.walk(n):
                    if isinstance(m, ast.Name) and isinstance(m.ctx, ast.Store):
                        inner.add(m.id)
            scope(body, inner, False)
            return
        if isinstance(node, ast.ClassDef):
            (bound if top else local).add(node.name)
            scope(node.body, set(local), False)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = set(local)
            for g in node.generators:
                targets(g.target, inner)
            for child in ast.iter_child_nodes(node):
                visit(child, inner, False)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                (bound if top else local).add((a.asname or a.name).split(".")[0])
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                if node.id not in local:
                    free.add(node.id)
            elif top:
                bound.add(node.id)
            else:
                local.add(node.id)
            return
        if isinstance(node, ast.ExceptHandler) and node.name:
            (bound if top else local).add(node.name)
        for child in ast.iter_child_nodes(node):
            visit(child, local, top)

    scope(tree.body, set(), True)
    return bound, free


def lint(nb: dict) -> list[str]:
    "Problems with the exercises of notebook `nb`, as messages (empty when the layout is right)."
    cells, problems = nb["cells"], []
    in_exercises, seen_section, questions = False, False, 0
    defined = set()                       # names bound by the cells before, exercises excluded
    by_exercise = []                      # (cell index, names an exercise binds)
    for i, cell in enumerate(cells):
        src = _source(cell)
        if cell.get("cell_type") == "markdown":
            heads = re.findall(r"^(#{1,2}) +(.*)$", src, flags=re.M)
            if heads:
                in_exercises = heads[-1][1].strip().lower().startswith("exercises")
                seen_section |= in_exercises
            if in_exercises:
                questions += len(re.findall(r"^\d+\. ", src.split("## Exercises")[-1], flags=re.M))
            continue
        if cell.get("cell_type") != "code":
            continue
        names = _names(src)
        if is_exercise(cell):
            try:
                directives, solution, check = split_exercise(src)
            except ValueError as e:
                problems.append(f"cell {i}: {e}")
                continue
            if "#| hide" not in directives.splitlines():
                problems.append(f"cell {i}: an exercise cell starts with '#| hide'")
            if not solution.strip() or not check.strip():
                problems.append(f"cell {i}: an exercise needs code above and below {MARKER!r}")
            if i == 0 or cells[i - 1].get("cell_type") != "markdown":
                problems.append(f"cell {i}: an exercise cell follows the markdown cell with its question")
            if names is not None:
                bound, free = names
                for j, other in by_exercise:
                    used = sorted((free & other) - defined - bound - _BUILTINS)
                    if used:
                        problems.append(f"cell {i}: exercise reads {used} bound only by the exercise in cell "
                                        f"{j}: a student who skips that one cannot do this one")
                by_exercise.append((i, bound))
            continue
        if in_exercises:
            problems.append(f"cell {i}: code cell in the Exercises section without the line {MARKER!r}")
        if names is not None:
            bound, free = names
            for j, other in by_exercise:
                used = sorted(free & other - bound)
                if used:
                    problems.append(f"cell {i}: reads {used}, which the exercise in cell {j} binds: "
                                    "in the student copy it has another value")
            defined |= bound
    if seen_section and not by_exercise:
        problems.append("an Exercises section without exercise cells")
    elif questions != len(by_exercise):
        problems.append(f"{questions} numbered questions but {len(by_exercise)} exercise cells: "
                        "one markdown question and one exercise cell per exercise")
    return problems


# ---------------------------------------------------------------- command line
def _notebooks(src: Path):
    return sorted(p for p in Path(src).glob("*.ipynb") if p.name != "index.ipynb")


def make(src: Path, out: Path) -> list[Path]:
    "Write the student copy of every notebook in `src` that has exercises to `out`; return the paths written."
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.ipynb"):
        stale.unlink()
    for path in _notebooks(src):
        nb = json.loads(path.read_text(encoding="utf-8"))
        problems = lint(nb)
        if not any(is_exercise(c) for c in nb["cells"]):
            if problems:
                print(f"skipped {path.name}: its exercises do not use {MARKER!r} yet (the copy would hold "
                      "the solutions)", file=sys.stderr)
            continue
        if problems:
            raise SystemExit(f"{path}: fix the exercises first:\n  " + "\n  ".join(problems))
        target = out / path.name
        text = json.dumps(student_notebook(nb), indent=1, ensure_ascii=False) + "\n"
        target.write_text(text, encoding="utf-8")
        written.append(target)
    counts = {p.name: sum(map(is_exercise, json.loads(p.read_text(encoding="utf-8"))["cells"]))
              for p in written}
    rows = [f"| `{name}` | {n} |" for name, n in counts.items()]
    (out / "README.md").write_text(TEACHER_README.format(table="\n".join(rows)), encoding="utf-8")
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["make", "lint"])
    ap.add_argument("--src", default="nbs", help="folder of the book's notebooks")
    ap.add_argument("--out", default="_exercises", help="folder for the student copies (make)")
    a = ap.parse_args(argv)
    if a.command == "lint":
        bad = 0
        for path in _notebooks(Path(a.src)):
            for p in lint(json.loads(path.read_text(encoding="utf-8"))):
                print(f"{path.name}: {p}")
                bad += 1
        return 1 if bad else 0
    written = make(Path(a.src), Path(a.out))
    n = sum(sum(is_exercise(c) for c in json.loads(p.read_text(encoding="utf-8"))["cells"]) for p in written)
    print(f"wrote {len(written)} student notebooks with {n} exercises to {a.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
