"""docs/build.py: its notebook processing, and a Sphinx build of one chapter (a few seconds).

The whole site in a browser (MathJax output, every chapter, search) is tested in tests_browser/test_docs.py.
"""
import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def code(source, outputs=()):
    return {"cell_type": "code", "source": source, "outputs": list(outputs), "metadata": {}}


def md(source):
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def test_split_directives():
    src = "# NBVAL_IGNORE_OUTPUT\n#| export\n#| echo: false\nx = 1  #| hide_line\ny = 2"
    d, body = build.split_directives(src)
    assert d == {"export": "", "echo": "false"} and body == "y = 2"
    assert build.split_directives("x = 1\n#| hide") == ({}, "x = 1\n#| hide")   # only leading lines count


def test_process_notebook_applies_directives_and_adds_api_docs():
    nb = {"cells": [code("#| default_exp widgets.image"), md("# Title\n> what you will do"),
                    code("#| export\ndef f(x): 'Doc.'\ndef _private(): pass\nclass C: 'A class.'"),
                    code("#| hide\nsecret = 1"), code("#| echo: false\nprint(1)"), md("## Gone -")],
          "metadata": {}}
    out = build.process_notebook(nb, set())
    sources = [c["source"] for c in out["cells"]]
    assert not any("secret" in s or "default_exp" in s or "#|" in s for s in sources)
    api = next(s for s in sources if "eval-rst" in s)
    assert ".. autofunction:: aigc_book.widgets.image.f" in api
    assert ".. autoclass:: aigc_book.widgets.image.C" in api
    assert "_private" not in api
    assert out["cells"][-1]["metadata"] == {"tags": ["remove-input"]}
    assert "## Gone -" not in sources and len({c["id"] for c in out["cells"]}) == len(out["cells"])
    again = build.process_notebook(nb, {"aigc_book.widgets.image.f"})       # documented twice: no 2nd index
    assert ":no-index:" in next(c["source"] for c in again["cells"] if "eval-rst" in c["source"])


def test_widget_outputs_become_static():
    hbox = {"children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]}
    state = {"b": {"model_name": "HBoxModel", "state": hbox},
             "l": {"model_name": "HTMLModel", "state": {"value": "train: 100%"}},
             "p": {"model_name": "FloatProgressModel", "state": {"value": 600.0, "max": 600.0}},
             "r": {"model_name": "HTMLModel", "state": {"value": " 600/600 [00:02&lt;00:00]"}},
             "w": {"model_name": "VBoxModel", "state": {"children": []}}}
    view = "application/vnd.jupyter.widget-view+json"
    outs = [{"output_type": "display_data", "data": {view: {"model_id": m}, "text/plain": t}}
            for m, t in (("b", "train:   0%|"), ("w", "VBox(children=(...))"), ("gone", "train:  50%| 3/6"))]
    bar, app, lost = build.process_outputs(outs, state)
    assert '<progress value="600.0" max="600.0">' in bar["data"]["text/html"] and view not in bar["data"]
    assert bar["data"]["text/plain"] == "train: 100%  600/600 [00:02<00:00]"
    assert app["data"] == {"text/markdown": build.WIDGET_NOTE}
    assert lost["data"] == {"text/plain": "train:  50%| 3/6"}           # no saved state: the text as stored


def test_markdown_as_jupyter_reads_it():
    iso = build.isolate_display_math("a $$x$$ b\n$$p = \\sigma(x\n+ 1),$$\nwhere\n```\n$$c\nd$$\n```")
    assert "a $$x$$ b" in iso                                         # one-line display math stays inline
    assert "\n\n$$p = \\sigma(x\n+ 1),$$\n\n" in iso                          # multi-line: a block of its own
    assert "```\n$$c\nd$$\n```" in iso                                        # fenced code untouched
    assert build.html_anchors_to_targets('<a id="e1"></a>**E1.** text') == "\n(e1)=\n**E1.** text"


def test_local_images_are_copied(tmp_path):
    nbs, out = tmp_path / "nbs", tmp_path / "_proc"
    (tmp_path / "results").mkdir()
    nbs.mkdir()
    (tmp_path / "results" / "curve.png").write_bytes(b"png")                 # README-relative (the index)
    (nbs / "fig.png").write_bytes(b"fig")                                     # relative to the notebook
    md_in = "![a](results/curve.png) ![b](fig.png) ![c](https://x.org/y.png) ![d](missing.png)"
    md_out = build.local_images(md_in, [nbs, tmp_path], out)
    assert md_out == ("![a](_assets/results/curve.png) ![b](_assets/fig.png) ![c](https://x.org/y.png) "
                      "![d](missing.png)")
    assert (out / "_assets" / "results" / "curve.png").read_bytes() == b"png"


def test_navigation_from_the_chapter_map(tmp_path):
    index = md("| notebook | module | what |\n|---|---|---|\n| `00_core` | c | x |\n| **The math** | | |\n"
               "| `10_probability` | p | y |\n")
    (tmp_path / "index.ipynb").write_text(json.dumps({"cells": [index], "metadata": {}}))
    chapters = (("00_core", "Core: device"), ("10_probability", "Probability"), ("52_new", "New: one"))
    for stem, title in chapters:
        (tmp_path / f"{stem}.ipynb").write_text(json.dumps({"cells": [md(f"# {title}")], "metadata": {}}))
    out = tmp_path / "_proc"
    assert build.build_sources(tmp_path, out) == ["00_core", "10_probability", "52_new"]
    nav = json.loads((out / "index.ipynb").read_text())["cells"]
    toc = nav[-1]["source"]
    for caption in ("The spine", "The math", "Responsible AIGC"):
        assert f":caption: {caption}" in toc
    assert "52 · New <52_new>" in toc and "00 · Core <00_core>" in toc
    assert "[`10_probability`](10_probability.ipynb)" in nav[0]["source"]
    mtime = (out / "00_core.ipynb").stat().st_mtime_ns
    (tmp_path / "52_new.ipynb").unlink()
    build.build_sources(tmp_path, out)
    assert not (out / "52_new.ipynb").exists() and (out / "00_core.ipynb").stat().st_mtime_ns == mtime
    with pytest.raises(FileNotFoundError, match="index.ipynb"):
        build.build_sources(tmp_path / "nowhere", out)


def test_sphinx_builds_a_chapter_offline(tmp_path):
    "The pipeline on the index and one chapter (math, a figure, exports): its page holds what it should."
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for name in ("index.ipynb", "12_elbo.ipynb"):
        shutil.copy(ROOT / "nbs" / name, nbs / name)
    build.build(nbs, tmp_path / "_proc", tmp_path / "_docs", root=ROOT)   # sphinx-build -W: no warnings
    site = tmp_path / "_docs"
    page = (site / "12_elbo.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert "_static/mathjax/tex-chtml.js" in scripts and (site / "_static/mathjax/tex-chtml.js").exists()
    assert not [s for s in scripts if "//" in s], scripts                   # nothing from a CDN
    math = re.findall(r'<(?:div|span) class="math notranslate nohighlight">(.*?)</(?:div|span)>', page, re.S)
    assert len(math) >= 12, len(math)                            # MathJax typesets these in the browser
    prose = re.sub(r'<(div|span) class="math notranslate nohighlight">.*?</\1>', "", page, flags=re.S)
    assert "$$" not in prose and "#|" not in page and "NBVAL_" not in page
    images = re.findall(r'<img [^>]*src="(_images/[^"]+)"', page)
    assert images and all((site / src).exists() for src in images), images
    for name in ("reparameterize", "log_normal_diag", "iwae_bound", "elbo"):   # API docs of the exports
        assert f'id="aigc_book.prob.elbo.{name}"' in page, name
    assert 'href="12_elbo.html"' in (site / "index.html").read_text(encoding="utf-8")   # navigation
    assert "elbo" in (site / "searchindex.js").read_text(encoding="utf-8").lower()          # search index
