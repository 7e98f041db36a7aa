import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from aigc_book import glossary as g

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("key_terms", ROOT / "tools" / "key_terms.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_lookup_both_directions():
    t = g.lookup("重参数化")
    assert t.english == "reparameterisation trick"
    assert g.lookup("reparameterization trick") is t
    e = g.lookup("ELBO")
    assert e.chinese == "证据下界" and e.chapter == "12_elbo"
    assert g.lookup("证据下界") is e
    assert g.lookup("vae") is g.lookup("ＶＡＥ") is g.lookup("变分自编码器")
    assert g.lookup("KL").english == "KL divergence"
    assert g.lookup("Jensen-Shannon divergence") is g.lookup("Jensen–Shannon divergence")
    assert "变分自编码器" in repr(g.lookup("VAE")) and "21_vae" in repr(g.lookup("VAE"))


@pytest.mark.parametrize("term", ["注意力机制", "生成对抗网络", "困惑度", "数据增强", "舆情监测"])
def test_issue_terms_present(term):
    assert g.lookup(term).chinese == term


def test_unknown_term_lists_close_matches():
    with pytest.raises(KeyError) as e:
        g.lookup("perplexty")
    msg = str(e.value)
    assert "'perplexty' is not in the glossary" in msg and "perplexity (困惑度)" in msg
    with pytest.raises(LookupError, match="注意力机制"):
        g.lookup("注意力模型")
    with pytest.raises(g.UnknownTermError, match="Close matches: none"):
        g.lookup("qqqqqqq")


def test_bad_input():
    with pytest.raises(TypeError, match="term must be a str"):
        g.lookup(42)
    with pytest.raises(ValueError, match="non-empty"):
        g.lookup("")
    with pytest.raises(TypeError, match="chapter must be an int"):
        g.terms_for_chapter(None)
    with pytest.raises(ValueError, match="must look like"):
        g.terms_for_chapter("vae")
    with pytest.raises(ValueError, match="does not match"):
        g.terms_for_chapter("21_gan")


def test_terms_for_chapter_and_line():
    assert g.terms_for_chapter("21_vae") == g.terms_for_chapter(21) == g.terms_for_chapter("21")
    assert g.lookup("VAE") in g.terms_for_chapter(21)
    line = g.key_terms_line("14_attention")
    assert line.startswith("**Key terms:** attention mechanism (注意力机制) · ")
    assert g.key_terms_line(28) == ""


def test_data_is_consistent():
    assert 60 <= len(g.GLOSSARY) <= 130
    assert len({g.normalise_term(t.english) for t in g.GLOSSARY}) == len(g.GLOSSARY)
    idx = g.build_index(g.GLOSSARY)
    assert all(idx[g.normalise_term(t.chinese)] is t for t in g.GLOSSARY)
    for t in g.GLOSSARY:
        assert (ROOT / "nbs" / f"{t.chapter}.ipynb").exists() or t.chapter in g.PLANNED_CHAPTERS, t.chapter
    with pytest.raises(ValueError, match="claimed by"):
        g.build_index([g.Term("a", "甲", "x", "00_core"), g.Term("b", "乙", "y", "00_core", ("a",))])


def test_table_search():
    df = g.glossary_table("散度")
    assert set(df["english"]) >= {"KL divergence", "Jensen–Shannon divergence"}
    assert len(g.glossary_table()) == len(g.GLOSSARY)


def test_key_terms_tool_is_idempotent(tmp_path):
    kt = _tool()
    src = ROOT / "nbs" / "12_elbo.ipynb"
    nb_path = tmp_path / "12_elbo.ipynb"
    nb0 = json.loads(src.read_text(encoding="utf-8"))
    assert kt.update_notebook(src, check=True) is False           # the committed chapters are up to date
    cell = nb0["cells"][1]
    cell["source"] = kt.with_key_terms("".join(cell["source"]), "").splitlines(keepends=True)  # a chapter without
    nb_path.write_text(json.dumps(nb0, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    before = nb_path.read_bytes()
    assert kt.update_notebook(nb_path, check=True) is True
    assert nb_path.read_bytes() == before                         # --check writes nothing
    assert kt.update_notebook(nb_path) is True
    first = nb_path.read_bytes()
    assert kt.update_notebook(nb_path) is False                   # second run: no change
    assert nb_path.read_bytes() == first
    nb = json.loads(first)
    title = "".join(nb["cells"][1]["source"])
    lines = title.split("\n")
    assert lines[0].startswith("# ") and lines[1].startswith("> ")
    assert lines[2] == "" and lines[3] == g.key_terms_line("12_elbo") and lines[4] == ""
    assert title.count("**Key terms:**") == 1
    old = json.loads(src.read_text(encoding="utf-8"))
    assert [c["source"] for c in nb["cells"][2:]] == [c["source"] for c in old["cells"][2:]]
    assert kt.main([str(nb_path), "--check"]) == 0


def test_key_terms_tool_replaces_stale_line(tmp_path):
    kt = _tool()
    nb = {"cells": [{"cell_type": "markdown", "id": "a", "metadata": {},
                     "source": ["# T\n", "> d\n", "\n", "**Key terms:** old (旧)\n", "\n", "More."]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    p = tmp_path / "28_image_results.ipynb"                       # a chapter without glossary terms
    p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert kt.update_notebook(p) is True
    assert "".join(json.loads(p.read_text())["cells"][0]["source"]) == "# T\n> d\n\nMore."
    assert kt.update_notebook(p) is False
    with pytest.raises(ValueError, match=".ipynb"):
        kt.update_notebook(tmp_path / "x.txt")
