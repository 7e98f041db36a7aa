"""Build the book's website: notebooks -> Sphinx sources in `_proc/` -> HTML in `_docs/` (`make docs`).

`python docs/build.py [--nbs nbs] [--proc _proc] [--out _docs]` first writes one processed notebook per
chapter (a file whose content did not change is left untouched, so Sphinx rebuilds only the pages that
changed), then runs `sphinx-build -W --keep-going` with `docs/conf.py`: any Sphinx warning (a chapter that
does not parse, an exported function autodoc cannot import) fails the build.

What changes between `nbs/X.ipynb` and `_proc/X.ipynb` (nothing is executed; stored outputs are kept):
- `#| hide`, `#| default_exp` and `#| include: false` cells are dropped; `#| echo: false` hides a cell's code
  and `#| output: false` its outputs; directive lines and `# NBVAL_...` test markers are removed from the
  code shown.
- after each `#| export` / `#| exports` cell, a markdown cell with one autodoc directive per public function
  or class the cell defines (Sphinx renders the signature and docstring; `docs/conf.py` adds the docments
  comments).
- widgets: a tqdm progress bar is drawn statically from the saved widget state (its final value); an
  interactive widget becomes a one-line note (widgets need a kernel: `make lab`). No ipywidgets CDN script.
- markdown as Jupyter reads it: a multi-line `$$...$$` is put on lines of its own (so a line inside it that
  starts with `+` is not a list), and an HTML anchor `<a id="x"></a>` opening a line becomes a MyST target.
- `index.ipynb` links each chapter in its chapter table and gets the navigation: one hidden toctree per decade
  (0x spine, 1x math, 2x images, 3x sequences, 4x cases, 5x responsible), captions from the table's bold rows.
  New notebooks are picked up by their `NN_name.ipynb` file name; nothing to register.
- local images in markdown (`![alt](path)`, relative to `nbs/` or, for the index, to the repository root)
  are copied into `_proc/_assets/`.
"""
from __future__ import annotations
import argparse
import ast
import html
import json
import re
import subprocess
import sys
from pathlib import Path

LIB = "aigc_book"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CHAPTER_RE = re.compile(r"^(\d)(\d)_[\w-]+\.ipynb$")
DIRECTIVE_RE = re.compile(r"^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")
NBVAL_RE = re.compile(r"^\s*#\s*NBVAL_\w+\s*$")
HIDE_LINE_RE = re.compile(r"#\s*\|\s*hide_line\s*$")
# captions for the chapter decades when the index's table has no bold row for one
DEFAULT_PARTS = {0: "The spine", 1: "The math", 2: "Image generators", 3: "Sequence generators",
                 4: "Business case studies", 5: "Responsible AIGC"}
WIDGET_NOTE = ("*Interactive widget: it needs a running kernel. Open this chapter with `make lab` and run it "
               "to use the controls.*")


def split_directives(source: str) -> tuple[dict[str, str], str]:
    "A code cell's leading `#| key: value` directives (and `# NBVAL_...` markers), and the code without them."
    lines = source.splitlines()
    directives = {}
    i = 0
    while i < len(lines):
        m = DIRECTIVE_RE.match(lines[i])
        if m:
            directives[m.group(1)] = m.group(2)
        elif not NBVAL_RE.match(lines[i]) and lines[i].strip():
            break
        i += 1
    body = [line for line in lines[i:] if not HIDE_LINE_RE.search(line)]
    return directives, "\n".join(body).strip("\n")


def public_defs(code: str) -> list[tuple[str, str]]:
    "`(name, 'function' | 'class')` for each public top-level def/class in `code` (nbdev's show_doc targets)."
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    kinds = {ast.FunctionDef: "function", ast.AsyncFunctionDef: "function", ast.ClassDef: "class"}
    return [(node.name, kinds[type(node)]) for node in tree.body
            if type(node) in kinds and not node.name.startswith("_")]


def api_cell(module: str, defs, documented: set) -> dict:
    "A markdown cell with one autodoc directive per definition (`:no-index:` for a name already documented)."
    lines = []
    for name, kind in defs:
        target = f"{module}.{name}"
        lines.append(f".. auto{kind}:: {target}")
        if target in documented:
            lines.append("   :no-index:")
        documented.add(target)
        lines.append("")
    return {"cell_type": "markdown", "metadata": {}, "source": "```{eval-rst}\n" + "\n".join(lines) + "```"}


def _strip_tags(s: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", s))


def static_widget(view: dict, state: dict) -> dict | None:
    "Replacement data for a widget-view output: a static tqdm progress bar, or None."
    model = state.get(view.get("model_id", ""), {})
    children = [c.removeprefix("IPY_MODEL_") for c in model.get("state", {}).get("children", [])]
    kinds = [state.get(c, {}).get("model_name") for c in children]
    if model.get("model_name") == "HBoxModel" and kinds == ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        left, bar, right = (state[c]["state"] for c in children)
        value, top = bar.get("value", 0), bar.get("max", 1) or 1
        text = f"{_strip_tags(left.get('value', ''))} {_strip_tags(right.get('value', ''))}"
        bar_html = f'<progress value="{value}" max="{top}"></progress>'
        return {"text/html": (f'<div class="static-progress">{left.get("value", "")} '
                              f'{bar_html} {right.get("value", "")}</div>'),
                "text/plain": text}
    return None


def process_outputs(outputs: list, state: dict) -> list:
    "Stored outputs with widget views replaced by static content (none needs the ipywidgets JavaScript)."
    out = []
    for o in outputs:
        data = o.get("data", {})
        if WIDGET_VIEW not in data:
            out.append(o)
            continue
        plain = "".join(data.get("text/plain", ""))
        static = static_widget(data[WIDGET_VIEW], state)
        if static is None and re.match(r"^[^\n|]*\d+%\|", plain):   # a tqdm bar without saved widget state
            static = {"text/plain": plain}
        if static is None:
            static = {"text/markdown": WIDGET_NOTE}
        out.append({"output_type": "display_data", "metadata": {}, "data": static})
    return out


def isolate_display_math(markdown: str) -> str:
    "Put each multi-line `$$...$$` on lines of its own, as Jupyter reads it (math first, then markdown)."
    parts = re.split(r"(?m)(^```.*?^```)", markdown, flags=re.S)          # leave fenced code alone
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"[ \t]*\$\$(.+?)\$\$[ \t]*",
                          lambda m: f"\n\n$${m.group(1)}$$\n\n" if "\n" in m.group(1) else m.group(0),
                          parts[i], flags=re.S)
    return "".join(parts)


def html_anchors_to_targets(markdown: str) -> str:
    "A Jupyter anchor `<a id='x'></a>` opening a line becomes a MyST target `(x)=`: `[..](#x)` resolves."
    return re.sub(r"""(?m)^<a (?:id|name)=["']([\w-]+)["']>\s*</a>[ \t]*""", r"\n(\1)=\n", markdown)


def process_notebook(nb: dict, documented: set) -> dict:
    "The processed copy of one notebook (see the module docstring)."
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    module = None
    cells = []
    for cell in nb["cells"]:
        source = "".join(cell.get("source", ""))
        if cell["cell_type"] == "markdown":
            text = source.strip()
            if text.startswith("#") and text.endswith(" -"):        # nbdev hides a heading ending in " -"
                continue
            text = isolate_display_math(html_anchors_to_targets(source))
            cells.append({"cell_type": "markdown", "metadata": {}, "source": text})
            continue
        if cell["cell_type"] != "code":
            continue
        directives, code = split_directives(source)
        if "default_exp" in directives:
            module = f"{LIB}.{directives['default_exp']}"
        if {"hide", "default_exp"} & directives.keys() or directives.get("include") == "false":
            continue
        tags = []
        if directives.get("echo") == "false":
            tags.append("remove-input")
        if directives.get("output") == "false":
            tags.append("remove-output")
        outputs = process_outputs(cell.get("outputs", []), state)
        if code or outputs:
            meta = {"tags": tags} if tags else {}
            cells.append({"cell_type": "code", "execution_count": None, "metadata": meta,
                          "outputs": outputs, "source": code})
        export = next((k for k in ("export", "exports") if k in directives), None)
        target = (f"{LIB}.{directives[export]}" if export and directives[export] else module)
        defs = public_defs(code) if export else []
        if defs and target:
            cells.append(api_cell(target, defs, documented))
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k in ("kernelspec", "language_info")}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def chapter_title(nb: dict, fallback: str) -> str:
    "The chapter's `# Title` (the first level-1 heading of a markdown cell)."
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def part_captions(index_md: str) -> dict[int, str]:
    "Decade -> caption from the chapter table's bold rows (`| **The math** | | |` before the 1x chapters)."
    captions, pending = {}, None
    for line in index_md.splitlines():
        bold = re.match(r"^\|\s*\*\*(.+?)\*\*\s*\|", line)
        chapter = re.match(r"^\|\s*`(\d)\d_[\w-]+`\s*\|", line)
        if bold:
            pending = bold.group(1).strip()
        elif chapter and pending:
            captions.setdefault(int(chapter.group(1)), pending)
            pending = None
    return captions


def navigation(chapters: list[tuple[str, str]], captions: dict[int, str]) -> str:
    "One hidden toctree per decade: `NN Short title <NN_name>` entries under the part's caption."
    parts = {}
    for stem, title in chapters:
        parts.setdefault(int(stem[0]), []).append(f"{stem[:2]} · {title.split(':')[0].strip()} <{stem}>")
    blocks = []
    for decade in sorted(parts):
        caption = captions.get(decade) or DEFAULT_PARTS.get(decade) or f"Chapters {decade}0–{decade}9"
        entries = "\n".join(parts[decade])
        blocks.append(f"```{{toctree}}\n:caption: {caption}\n:hidden:\n:maxdepth: 2\n\n{entries}\n```")
    return "\n\n".join(blocks)


def link_chapters(source: str, stems: set[str]) -> str:
    "Turn `` `NN_name` `` in the index's chapter table into links to the chapter pages."
    def link(m):
        return f"[`{m.group(1)}`]({m.group(1)}.ipynb)" if m.group(1) in stems else m.group(0)
    return re.sub(r"(?m)(?<=^\| )`(\d\d_[\w-]+)`", link, source)


IMAGE_RE = re.compile(r"(!\[[^\]]*\]\()([^)\s]+)(\))")


def local_images(markdown: str, bases: list[Path], out: Path) -> str:
    """Copy the local images a markdown cell shows into `out/_assets/` and point the links there.

    A relative path is looked up in each of `bases` in turn: the notebooks' folder, then the repository root
    (the index's links are written for README.md, which is generated at the root). Links that are URLs, or
    that find no file, are left as they are (Sphinx then warns, and the build fails)."""
    def copy(m):
        rel = m.group(2)
        if re.match(r"^([a-z]+:|/|#)", rel):
            return m.group(0)
        found = next((b / rel for b in bases if (b / rel).is_file()), None)
        if found is None:
            return m.group(0)
        target = out / "_assets" / rel.replace("../", "up/")
        target.parent.mkdir(parents=True, exist_ok=True)
        data = found.read_bytes()
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        return f"{m.group(1)}{target.relative_to(out).as_posix()}{m.group(3)}"
    return IMAGE_RE.sub(copy, markdown)


def write_if_changed(path: Path, text: str) -> bool:
    "Write `text` to `path` unless it already holds exactly that; True when written."
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def _local_images_of(nb: dict, bases: list[Path], out: Path) -> None:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = local_images("".join(cell["source"]), bases, out)


def build_sources(nbs: Path, out: Path, root: Path | None = None) -> list[str]:
    "Write the processed notebooks of `nbs` into `out`; return the chapter stems in book order."
    nbs, out = Path(nbs), Path(out)
    root = Path(root) if root is not None else nbs.resolve().parent      # the repository (README.md's folder)
    if not (nbs / "index.ipynb").exists():
        raise FileNotFoundError(f"nbs must hold index.ipynb (the chapter map), got {nbs}")
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in nbs.glob("*.ipynb") if CHAPTER_RE.match(p.name))
    documented = set()
    chapters = []
    wanted = {"index.ipynb"}
    bases = [nbs, root]
    for name in names:
        nb = json.loads((nbs / name).read_text(encoding="utf-8"))
        _local_images_of(nb, bases, out)
        stem = name.removesuffix(".ipynb")
        chapters.append((stem, chapter_title(nb, stem)))
        text = json.dumps(process_notebook(nb, documented), indent=1, ensure_ascii=False)
        write_if_changed(out / name, text)
        wanted.add(name)
    index = json.loads((nbs / "index.ipynb").read_text(encoding="utf-8"))
    _local_images_of(index, bases, out)
    stems = {s for s, _ in chapters}
    captions = {}
    for cell in index["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            captions.update(part_captions(text))
            cell["source"] = link_chapters(text, stems)
    processed = process_notebook(index, documented)
    processed["cells"].append({"cell_type": "markdown", "id": "navigation", "metadata": {},
                               "source": navigation(chapters, captions)})
    write_if_changed(out / "index.ipynb", json.dumps(processed, indent=1, ensure_ascii=False))
    for stale in out.glob("*.ipynb"):                                       # a chapter renamed or removed
        if stale.name not in wanted:
            stale.unlink()
    return [s for s, _ in chapters]


def build(nbs: Path, proc: Path, out: Path, root: Path | None = None) -> None:
    "Process the notebooks of `nbs` into `proc`, then build the HTML site into `out` (raises on any warning)."
    stems = build_sources(nbs, proc, root)
    print(f"docs: processed {len(stems)} chapters and index.ipynb into {proc}/")
    conf = Path(__file__).resolve().parent
    cmd = [sys.executable, "-m", "sphinx", "-q", "-W", "--keep-going", "-b", "html", "-c", str(conf),
           str(proc), str(out)]
    subprocess.run(cmd, check=True)
    print(f"docs: open {out}/index.html")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nbs", default="nbs", type=Path, help="the notebooks (index.ipynb and NN_name.ipynb)")
    ap.add_argument("--proc", default="_proc", type=Path, help="where the processed notebooks go")
    ap.add_argument("--out", default="_docs", type=Path, help="where the HTML site goes")
    a = ap.parse_args()
    try:
        build(a.nbs, a.proc, a.out)
    except subprocess.CalledProcessError as e:
        sys.exit(f"docs: sphinx-build failed (exit {e.returncode}); its warnings are above")
