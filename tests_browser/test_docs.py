"""The docs site (`make docs`) in headless Chromium with every non-localhost request blocked.

Builds the site with `docs/build.py`, serves `_docs/` on a free localhost port, and checks every chapter
page against its notebook: all math typeset by the bundled MathJax (no raw `$$`, no TeX errors), every stored
figure shown, hidden cells gone, every exported function and class documented with its signature and
docstring; then the chapter map in the navigation, and search. Screenshots go to `_browser/docs/`.
"""
from __future__ import annotations
import ast
import functools
import http.server
import json
import re
import subprocess
import sys
import threading

import pytest

from browser_utils import OUT, ROOT, offline_context, watch_errors

NBS = ROOT / "nbs"
DOCS = ROOT / "_docs"
CHAPTERS = sorted(p.stem for p in NBS.glob("[0-9][0-9]_*.ipynb"))
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
DIRECTIVE = re.compile(r"^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")


def leading_directives(source: str) -> dict[str, str]:
    "The `#| key: value` lines at the top of a code cell (blank lines and `# NBVAL_` markers skipped)."
    found = {}
    for line in source.splitlines():
        m = DIRECTIVE.match(line)
        if m:
            found[m.group(1)] = m.group(2)
        elif line.strip() and not line.strip().startswith("# NBVAL_"):
            break
    return found


def expected_page(stem: str) -> dict:
    "What the notebook says its page must show: visible code cells, figures, and the exported API."
    nb = json.loads((NBS / f"{stem}.ipynb").read_text(encoding="utf-8"))
    module, cells, figures, api = None, 0, 0, []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        d = leading_directives(source)
        if "default_exp" in d:
            module = "aigc_book." + d["default_exp"]
        if {"hide", "default_exp"} & d.keys() or d.get("include") == "false":
            continue
        body = [line for line in source.splitlines() if not DIRECTIVE.match(line) and "# NBVAL_" not in line]
        if not "".join(body).strip() and not cell.get("outputs"):
            continue
        cells += 1
        figures += sum(any(m in o.get("data", {}) for m in IMAGE_MIMES) for o in cell.get("outputs", []))
        if "export" in d:
            code = "\n".join(line for line in source.splitlines() if not DIRECTIVE.match(line))
            api += [(module, node) for node in ast.parse(code).body
                    if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")]
    return {"cells": cells, "figures": figures, "api": api}


def parameters(node) -> list[str]:
    "The parameter names a function's (or a class's `__init__`'s) signature must show, `self` excepted."
    if isinstance(node, ast.ClassDef):
        init = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
        if not init:
            return []
        node = init[0]
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs] + [x.arg for x in (a.vararg, a.kwarg) if x]
    return [n for n in names if n not in ("self", "cls")]


def words(text: str) -> str:
    "Letters and digits only: compares a docstring with its rendering whatever the markup."
    return re.sub(r"\W+", "", text or "")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    "Build the site (as `make docs` does) and serve `_docs/` on a free localhost port; yields the base URL."
    build = subprocess.run([sys.executable, str(ROOT / "docs" / "build.py")], cwd=ROOT,
                           capture_output=True, text=True)
    assert build.returncode == 0, f"docs build failed:\n{build.stdout[-3000:]}\n{build.stderr[-6000:]}"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(DOCS)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (OUT / "docs").mkdir(parents=True, exist_ok=True)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def ctx(browser):
    "One offline browser context for all pages of the site."
    c = offline_context(browser)
    yield c
    c.close()


PAGE_FACTS = """async () => {
  if (document.querySelector('.math')) {
    const t0 = Date.now();
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() - t0 < 20000)
      await new Promise(r => setTimeout(r, 100));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  }
  await Promise.all([...document.images].map(
    i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  const article = document.querySelector('article') || document.body;
  const math = [...article.querySelectorAll('.math')];
  const prose = article.cloneNode(true);
  prose.querySelectorAll('div.cell, pre, code, .math, mjx-container').forEach(e => e.remove());
  return {
    mathjax_src: [...document.scripts].map(s => s.src).filter(s => s.includes('mathjax')),
    math: math.length,
    typeset: math.filter(m => m.querySelector('mjx-container')).length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    tex_errors: [...article.querySelectorAll('mjx-merror')].map(
                  e => (e.closest('.math') || e).textContent.slice(0, 80)),
    prose: prose.textContent,
    text: article.textContent,
    cells: article.querySelectorAll('div.cell').length,
    figures: article.querySelectorAll('div.cell_output img').length,
    broken_images: [...article.querySelectorAll('img')].filter(i => !(i.naturalWidth > 0))
                     .map(i => i.src.slice(0, 80)),
    api: Object.fromEntries([...article.querySelectorAll('dl.py > dt[id]')].map(
           dt => [dt.id, [dt.textContent, dt.nextElementSibling ? dt.nextElementSibling.textContent : '']])),
  };
}"""


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_page(site, ctx, stem):
    "Math typeset offline, figures shown, hidden cells gone, exported API documented: as the notebook says."
    want = expected_page(stem)
    page = ctx.new_page()
    errors = watch_errors(page)
    page.goto(f"{site}/{stem}.html")
    facts = page.evaluate(PAGE_FACTS)
    page.screenshot(path=str(OUT / "docs" / f"{stem}.png"))
    page.close()

    if facts["math"]:
        sources = facts["mathjax_src"]
        assert sources and all(s.startswith(site) for s in sources), sources
    assert facts["typeset"] == facts["math"], f"math not typeset: {facts['untypeset'][:5]}"
    assert not facts["tex_errors"], f"TeX errors: {facts['tex_errors'][:5]}"
    raw = re.findall(r"\$\$|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$|\\\(|\\\[", facts["prose"])
    assert not raw, f"raw TeX in the text: {raw[:5]}"
    assert "#|" not in facts["text"] and "NBVAL_" not in facts["text"], "directives or test markers shown"
    assert "# --- check ---" not in facts["text"], "a hidden exercise check is shown"
    for what in ("cells", "figures"):
        assert facts[what] == want[what], f"{facts[what]} {what} on the page, {want[what]} in the notebook"
    assert not facts["broken_images"], f"images that do not load: {facts['broken_images']}"
    for module, node in want["api"]:
        key = f"{module}.{node.name}"
        assert key in facts["api"], f"no API docs for {key}"
        signature, body = facts["api"][key]
        assert node.name in signature, f"{key}: signature {signature!r}"
        for param in parameters(node):
            assert param in signature, f"{key}: parameter {param!r} missing from the signature {signature!r}"
        doc = ast.get_docstring(node)
        assert words(doc) in words(body), f"{key}: docstring {doc!r} missing from {body[:200]!r}"
    assert not errors, errors
    assert not ctx.offline.blocked, f"requests left localhost: {ctx.offline.blocked}"


def test_navigation_is_the_chapter_map(site, ctx):
    "The sidebar lists every chapter once, under one caption per decade, in book order."
    page = ctx.new_page()
    page.goto(f"{site}/index.html")
    parts = page.evaluate("""() => [...document.querySelectorAll('nav.bd-links p.caption')].map(p => [
        p.textContent.trim(),
        [...p.nextElementSibling.querySelectorAll(':scope > li > a')].map(a => a.getAttribute('href'))])""")
    page.screenshot(path=str(OUT / "docs" / "index.png"))
    page.close()
    listed = [href.removesuffix(".html") for _, hrefs in parts for href in hrefs]
    assert listed == CHAPTERS, f"navigation lists {listed}"
    for caption, hrefs in parts:
        assert len({h[0] for h in hrefs}) == 1, f"{caption!r} mixes decades: {hrefs}"
    captions = [c for c, _ in parts]
    for bold in ("The math", "Image generators", "Sequence generators", "Business case studies"):
        assert bold in captions, f"{bold!r} missing from the navigation captions {captions}"
    assert not ctx.offline.blocked, f"requests left localhost: {ctx.offline.blocked}"


@pytest.mark.parametrize("query, page_stem", [("ELBO", "12_elbo"), ("vae_latent_grid", "27_image_widgets")])
def test_search(site, ctx, query, page_stem):
    "Sphinx's search works offline: a concept and an API name each find their chapter."
    page = ctx.new_page()
    errors = watch_errors(page)
    page.goto(f"{site}/search.html?q={query}")
    page.wait_for_function("() => /Search finished/.test("
                           "document.querySelector('#search-results')?.textContent)")
    hrefs = page.evaluate("() => [...document.querySelectorAll('#search-results a')]"
                          ".map(a => a.getAttribute('href'))")
    page.screenshot(path=str(OUT / "docs" / f"search_{query}.png"))
    page.close()
    assert any(h.split("#")[0].split("?")[0] == f"{page_stem}.html" for h in hrefs), hrefs
    assert not errors, errors
    assert not ctx.offline.blocked, f"requests left localhost: {ctx.offline.blocked}"
