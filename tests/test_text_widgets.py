import pytest
import torch
from aigc_book.data import CharTokenizer
from aigc_book.models.gpt import GPT, GPTConfig
from aigc_book.widgets.text import next_token_table, generate_update, plot_next_token, show_char, text_generation_widget, next_token_widget


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    tok = CharTokenizer.from_text("abcdefgh \n")
    return GPT(GPTConfig(block_size=8, vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=8)), tok


def test_table_probabilities(setup):
    m, tok = setup
    rows = next_token_table(m, tok, "abc", n=tok.vocab_size)
    assert len(rows) == tok.vocab_size and abs(sum(r[1] for r in rows) - 1) < 1e-5 and abs(sum(r[2] for r in rows) - 1) < 1e-5
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)
    k2 = next_token_table(m, tok, "abc", top_k=2, n=tok.vocab_size)
    assert sum(r[2] > 0 for r in k2) == 2
    assert next_token_table(m, tok, "abc", temperature=1e-3)[0][2] > 0.99
    assert len(next_token_table(m, tok, "ab" * 20, n=3)) == 3            # prompt longer than the block is cropped


def test_table_errors(setup):
    m, tok = setup
    with pytest.raises(ValueError, match="prompt is empty"): next_token_table(m, tok, "")
    with pytest.raises(ValueError, match="does not know"): next_token_table(m, tok, "xyz")
    with pytest.raises(ValueError, match="n must be"): next_token_table(m, tok, "a", n=0)
    with pytest.raises(ValueError, match="temperature"): next_token_table(m, tok, "a", temperature=0)


def test_generate_update(setup):
    m, tok = setup
    s = generate_update(m, tok, "ab", temperature=0.9, top_k=3, top_p=0.9, length=10, seed=1)
    assert s.startswith("ab") and len(s) == 12 and s == generate_update(m, tok, "ab", temperature=0.9, top_k=3, top_p=0.9, length=10, seed=1)
    assert generate_update(m, tok, "", length=3).startswith("Type a prompt")
    assert generate_update(m, tok, "z", length=3).startswith("The prompt has characters")
    assert generate_update(m, tok, "a", top_p=0.0, length=3).startswith("Cannot generate")


def test_plot_and_widgets(setup):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    m, tok = setup
    ax = plot_next_token(next_token_table(m, tok, "a", n=4))
    assert len(ax.patches) == 8 and show_char("\n") == "⏎"
    w = text_generation_widget(m, tok, "ab"); w.children[0].value = "abc"
    assert len(w.children) == 7 and len(next_token_widget(m, tok, "a", n=4).children) == 5
    plt.close("all")
