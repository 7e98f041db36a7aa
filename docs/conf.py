"""Sphinx configuration of the book's website (`make docs`: sources in `_proc/` from `docs/build.py`, site in
`_docs/`).

Offline by construction: notebooks are not executed (their stored outputs are shown), MathJax 3 is served
from the site itself (`sphinx-mathjax-offline` copies it into `_static/mathjax`), the ipywidgets CDN scripts
are off, and the theme's fonts and icons are bundled with it. `tests_browser/test_docs.py` checks this in
Chromium with the network blocked.
"""
import re
import sys
from pathlib import Path

# autodoc imports the checkout's aigc_book, whichever copy pip installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

project = "aigc-book"
author = "aigc-book authors"
copyright = "2026 onwards, aigc-book authors"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]
root_doc = "index"
exclude_patterns = ["_*", ".*", "**/.ipynb_checkpoints"]

# notebooks: render the outputs stored in the notebooks; never run them
nb_execution_mode = "off"
nb_ipywidgets_js = {}
nb_merge_streams = True
# not "amsmath": it reads a line starting `\begin{pmatrix}` as a block of its own
myst_enable_extensions = ["dollarmath"]
myst_dmath_double_inline = True        # `$$...$$` inside a paragraph is display math, as in Jupyter
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

# math: the bundled MathJax 3 (sphinx-mathjax-offline copies it into _static/mathjax)
mathjax_path = "mathjax/tex-chtml.js"

# API docs: signature with types, docstring, and nbdev's docments comments as the parameter list
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_default_options = {}
default_role = "literal"

html_theme = "sphinx_book_theme"
html_title = "aigc-book"
html_copy_source = False
html_show_sourcelink = False
html_static_path = ["static"]          # relative to this folder
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
}
html_css_files = ["book.css"]
html_context = {"default_mode": "light"}

_RST_SPECIAL = re.compile(r"([\\*_|`\[\]<>])")


def _rst_text(text: str) -> str:
    "Markdown-ish docstring text as rST: `code` spans kept as literals, every other rST character escaped."
    parts = re.split(r"(`[^`]+`)", text)
    return "".join(f"``{p[1:-1]}``" if p.startswith("`") and p.endswith("`") and len(p) > 2
                   else _RST_SPECIAL.sub(r"\\\1", p) for p in parts)


def _docments(app, what, name, obj, options, lines):
    "Docstring as literal-safe rST, plus one `:param:` line per parameter comment (nbdev docments)."
    from fastcore.docments import docments
    lines[:] = [_rst_text(line) for line in lines]
    if what not in ("function", "class", "method"):
        return
    try:
        comments = docments(obj)
    except Exception:                                           # builtins, C extensions, odd callables
        return
    params = [(k, v) for k, v in comments.items() if v and k not in ("self", "return")]
    if params:
        lines.append("")
        lines.extend(f":param {k}: {_rst_text(v)}" for k, v in params)
    if comments.get("return"):
        lines.append(f":returns: {_rst_text(comments['return'])}")


def _keep_myst_nb_files_in_proc(app):
    "myst-nb writes its notebook copies next to the output folder (the repository root): keep them in _proc/."
    from pathlib import Path
    folder = Path(app.srcdir) / "_myst_nb"                               # excluded from the sources by "_*"
    app.env.mystnb_config = app.env.mystnb_config.copy(output_folder=str(folder.resolve()))


def _forget_module_dependencies(app, doctree):
    """Drop the page's dependencies on Python files that autodoc recorded.

    `make docs` runs nbdev_export first, which rewrites every module: by their times every page would be out of
    date and the whole site rebuilt. A page's API docs come from the `#| export` cells of its own notebook, so a
    changed module means a changed notebook, which already rebuilds the page."""
    deps = app.env.dependencies.get(app.env.docname)
    if deps:
        deps.difference_update({d for d in deps if str(d).endswith(".py")})


def setup(app):
    app.connect("autodoc-process-docstring", _docments)
    app.connect("doctree-read", _forget_module_dependencies, priority=900)   # after Sphinx's own collector
    app.connect("builder-inited", _keep_myst_nb_files_in_proc, priority=900)   # after myst-nb's own handler
