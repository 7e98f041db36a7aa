"Tests for aigc_book.responsible.watermark: green lists, watermarked sampling, detection, edits, widget."
import math
import pytest
import torch
from aigc_book.data import CharTokenizer
from aigc_book.models.gpt import GPT, GPTConfig, generate, load_pretrained
from aigc_book.responsible.watermark import (green_list, green_matrix, check_green, green_fraction,
                                             biased_green_prob, WatermarkedLM, green_hits, z_score, detect,
                                             detect_text, length_needed, random_edits, sample_text,
                                             highlight_green, detection_report, watermark_widget)


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    tok = CharTokenizer.from_text("abcdefghijklmnop <>&\n")
    return GPT(GPTConfig(block_size=16, vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=16)), tok


@pytest.fixture(scope="module")
def shipped():
    return load_pretrained()


def planted(green, T, seed=0):
    "A text in which every token is drawn from the green list of the token before (a perfect watermark)."
    g = torch.Generator().manual_seed(seed)
    ids = [0]
    for _ in range(T - 1):
        options = torch.nonzero(green[ids[-1]]).flatten()
        ids.append(int(options[torch.randint(len(options), (1,), generator=g)]))
    return torch.tensor(ids)


def test_green_list():
    G = green_matrix(50, 0.25, key=3)
    assert G.dtype == torch.bool and G.shape == (50, 50)
    assert (G.sum(1) == 12).all() and green_fraction(G) == 12 / 50            # round(12.5) = 12
    assert torch.equal(G, green_matrix(50, 0.25, key=3)) and torch.equal(G[7], green_list(7, 50, 0.25, 3))
    assert not torch.equal(G, green_matrix(50, 0.25, key=4))                 # another key, other lists
    assert len({tuple(r.tolist()) for r in G}) > 45                  # the previous token changes the list
    share = torch.stack([green_matrix(50, 0.25, k) for k in range(40)]).float().mean(0)
    assert abs(share.mean().item() - 12 / 50) < 1e-6                 # each pair green for a γ share of keys


@pytest.mark.parametrize("call, exc, match", [
    (lambda: green_matrix(50, 0.0), ValueError, "gamma must be a number in"),
    (lambda: green_matrix(50, 1.0), ValueError, "gamma must be a number in"),
    (lambda: green_matrix(50, 0.001), ValueError, "need at least 1 green"),
    (lambda: green_matrix(1, 0.5), ValueError, "vocab_size must be in"),
    (lambda: green_matrix(50, 0.25, key=-1), ValueError, "key must be in"),
    (lambda: green_matrix(50, 0.25, key=2**40), ValueError, "key must be in"),
    (lambda: green_matrix(50, 0.25, key=1.0), TypeError, "key must be an int"),
    (lambda: green_matrix(50, 0.25, key=True), TypeError, "key must be an int"),
    (lambda: green_list(50, 50), ValueError, "prev must be in"),
    (lambda: check_green(torch.zeros(4, 4)), TypeError, "boolean tensor"),
    (lambda: check_green(torch.zeros(4, 5, dtype=torch.bool)), ValueError, r"shape \(V, V\)"),
    (lambda: check_green(torch.eye(4, dtype=torch.bool) | torch.eye(4, dtype=torch.bool).roll(1, 0).triu()),
     ValueError, "same number of green tokens"),
    (lambda: green_fraction(green_matrix(10).expand(2, 10, 10)), ValueError, "one key's"),
])
def test_green_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_biased_green_prob_is_the_softmax():
    torch.manual_seed(1)
    logits, green = torch.randn(200, 30), torch.rand(200, 30) < 0.3
    p_g = (torch.softmax(logits, -1) * green).sum(-1)
    p_marked = (torch.softmax(logits + 1.7 * green, -1) * green).sum(-1)
    assert torch.allclose(biased_green_prob(p_g, 1.7), p_marked, atol=1e-6)
    assert biased_green_prob(0.3, 0.0) == pytest.approx(0.3)
    assert biased_green_prob(0.0, 5.0) == 0.0 and biased_green_prob(1.0, 5.0) == 1.0   # sure steps: no gain
    assert biased_green_prob(0.5, math.log(3)) == pytest.approx(0.75)                     # odds x e^δ
    with pytest.raises(ValueError, match="delta"):
        biased_green_prob(0.5, -1.0)
    with pytest.raises(ValueError, match="probability"):
        biased_green_prob(torch.tensor([0.2, 1.2]), 1.0)


def test_watermarked_lm(tiny):
    model, tok = tiny
    V = tok.vocab_size
    G = green_matrix(V, 0.25, key=5)
    x = torch.randint(V, (3, 5), generator=torch.Generator().manual_seed(0))
    plain = generate(model, x, 30, generator=torch.Generator().manual_seed(2))
    same = generate(WatermarkedLM(model, G, 0.0), x, 30, generator=torch.Generator().manual_seed(2))
    assert torch.equal(plain, same)                                  # δ = 0: plain sampling, bit for bit
    wm = WatermarkedLM(model, G, 2.5)
    with torch.no_grad():
        diff = wm(plain[:, :16])[0] - model(plain[:, :16])[0]
        assert torch.allclose(diff, 2.5 * G[plain[:, :16]].float(), atol=1e-5)
        _, cache = wm.forward_cached(plain[:, :10])                  # the cached path gets the bias too
        nxt, _ = wm.forward_cached(plain[:, 10:11], cache)
        assert torch.allclose(nxt[:, -1], wm(plain[:, :11])[0][:, -1], atol=1e-5)
    assert wm.generate(x, 4).shape == (3, 9)
    keys = torch.stack([G, green_matrix(V, 0.5, 1), G])
    per_row = WatermarkedLM(model, keys, torch.tensor([0.0, 1.0, 3.0]))   # one key and one δ per sequence
    with torch.no_grad():
        bias = per_row(plain[:, :8])[0] - model(plain[:, :8])[0]
    assert torch.allclose(bias[0], torch.zeros_like(bias[0]), atol=1e-6)
    assert torch.allclose(bias[2], 3.0 * G[plain[2, :8]].float(), atol=1e-5)


@pytest.mark.parametrize("args, exc, match", [
    (lambda m, G: (torch.nn.Linear(2, 2), G, 1.0), TypeError, "book's GPT"),
    (lambda m, G: (m, green_matrix(10), 1.0), ValueError, "vocabulary of 10"),
    (lambda m, G: (m, G.float(), 1.0), TypeError, "boolean"),
    (lambda m, G: (m, G, -0.5), ValueError, ">= 0"),
    (lambda m, G: (m, G, float("nan")), ValueError, ">= 0"),
    (lambda m, G: (m, G, "2"), TypeError, "delta must be a number"),
    (lambda m, G: (m, G, torch.ones(2, 2)), ValueError, "1-D tensor"),
])
def test_watermarked_lm_bad_input(tiny, args, exc, match):
    model, tok = tiny
    with pytest.raises(exc, match=match):
        WatermarkedLM(*args(model, green_matrix(tok.vocab_size)))


def test_watermarked_lm_batch_mismatch(tiny):
    model, tok = tiny
    G = green_matrix(tok.vocab_size)
    x = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="green holds one entry per sequence"):
        WatermarkedLM(model, G.expand(3, -1, -1), 1.0)(x)
    with pytest.raises(ValueError, match="delta holds one entry per sequence"):
        WatermarkedLM(model, G, torch.ones(3))(x)


def test_detector_on_planted_and_clean_text():
    G = green_matrix(60, 0.25, key=11)
    text = planted(G, 200)
    d = detect(text, G)
    assert d["hits"].item() == d["scored"].item() and d["watermarked"].item()
    gamma = green_fraction(G)
    assert d["z"].item() == pytest.approx(math.sqrt(d["scored"].item() * (1 - gamma) / gamma))
    assert not detect(text, green_matrix(60, 0.25, key=12))["watermarked"].item()   # another key: nothing
    clean = torch.randint(60, (500, 200), generator=torch.Generator().manual_seed(0))
    z = detect(clean, G)["z"]
    assert z.shape == (500,) and abs(z.mean().item()) < 0.15 and abs(z.std().item() - 1) < 0.1
    assert detect(clean, G)["watermarked"].sum() == 0
    assert torch.allclose(detect(clean, G)["p_value"], 0.5 * torch.erfc(z / math.sqrt(2)))


def test_detector_on_the_shipped_model(shipped):
    model, tok = shipped
    G = green_matrix(tok.vocab_size, 0.25, key=7)
    x = torch.tensor([tok.encode("The ")] * 4)
    lm = WatermarkedLM(model, G.expand(8, -1, -1), torch.tensor([4.0] * 4 + [0.0] * 4))   # marked, then plain
    out = generate(lm, x.repeat(2, 1), 150, generator=torch.Generator().manual_seed(0))[:, 4:]
    d = detect(out, G)
    assert d["watermarked"].tolist() == [True] * 4 + [False] * 4
    assert d["z"][:4].min() > 5 and d["z"][4:].abs().max() < 3


def test_repeated_pairs_are_scored_once():
    G = green_matrix(10, 0.5, key=0)
    run = torch.tensor([3] * 50)
    assert green_hits(run, G)[1].item() == 1 and green_hits(run, G, ignore_repeats=False)[1].item() == 49
    hits, scored = green_hits(torch.tensor([[1, 2, 1, 2], [4, 5, 6, 7]]), G)
    assert scored.tolist() == [2, 3]
    assert hits.tolist() == [int(G[1, 2]) + int(G[2, 1]), int(G[4, 5]) + int(G[5, 6]) + int(G[6, 7])]


@pytest.mark.parametrize("ids, green, kw, exc, match", [
    ([1, 2, 3], None, {}, TypeError, "integer tensor"),
    (torch.tensor([1.0, 2.0]), None, {}, TypeError, "integer tensor"),
    (torch.tensor([1]), None, {}, ValueError, "T >= 2"),
    (torch.zeros(2, 2, 2, dtype=torch.long), None, {}, ValueError, "shape"),
    (torch.tensor([1, 10]), None, {}, ValueError, r"outside \[0, 10\)"),
    (torch.tensor([1, 2]), green_matrix(10).expand(2, 10, 10), {}, ValueError, "one key's"),
    (torch.tensor([1, 2]), None, {"threshold": "4"}, ValueError, "threshold"),
    (torch.tensor([1, 2]), None, {"threshold": float("inf")}, ValueError, "threshold"),
])
def test_detect_bad_input(ids, green, kw, exc, match):
    with pytest.raises(exc, match=match):
        detect(ids, green_matrix(10) if green is None else green, **kw)


def test_z_score_and_length():
    assert z_score(30, 100, 0.25).item() == pytest.approx(5 / math.sqrt(18.75))
    assert torch.allclose(z_score(torch.tensor([10, 20]), torch.tensor([40, 40]), 0.25),
                          torch.tensor([0.0, 10 / math.sqrt(7.5)], dtype=torch.float64))
    with pytest.raises(ValueError, match="scored must be > 0"):
        z_score(0, 0, 0.25)
    with pytest.raises(ValueError, match="hits must be between"):
        z_score(5, 4, 0.25)
    with pytest.raises(ValueError, match="gamma"):
        z_score(1, 4, 1.0)
    assert length_needed(1.0, 0.25) == pytest.approx(16 / 3)
    assert length_needed(0.5, 0.25, threshold=2.0) == pytest.approx(4 * 0.1875 / 0.0625)
    assert length_needed(0.2, 0.25) == math.inf
    with pytest.raises(ValueError, match="gamma"):
        length_needed(0.5, 0.0)


def test_detect_text(tiny):
    _, tok = tiny
    G = green_matrix(tok.vocab_size, 0.25, key=1)
    d = detect_text("abcabcabd", tok, G)
    assert set(d) == {"z", "p_value", "hits", "scored", "watermarked"} and isinstance(d["z"], float)
    assert d["scored"] == 4                                                  # ab, bc, ca, bd
    with pytest.raises(ValueError, match="does not know"):
        detect_text("xyz", tok, G)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        detect_text("a", tok, G)
    with pytest.raises(TypeError, match="text must be a str"):
        detect_text(b"ab", tok, G)


def test_random_edits():
    x = torch.randint(30, (2000,), generator=torch.Generator().manual_seed(0))
    assert torch.equal(random_edits(x, 0.0, "substitute", 30), x)
    y = random_edits(x, 0.2, "substitute", 30, torch.Generator().manual_seed(1))
    changed = (y != x).float().mean().item()
    assert y.shape == x.shape and 0.17 < changed < 0.23 and int(y.max()) < 30
    z = random_edits(x, 0.2, "delete", 30, torch.Generator().manual_seed(1))
    assert 0.77 * len(x) < len(z) < 0.83 * len(x)
    assert torch.equal(z, random_edits(x, 0.2, "delete", 30, torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="rate must be"):
        random_edits(x, 1.0, "delete", 30)
    with pytest.raises(ValueError, match="kind must be one of"):
        random_edits(x, 0.1, "insert", 30)
    with pytest.raises(ValueError, match="one sequence"):
        random_edits(x.view(2, -1), 0.1, "delete", 30)


def test_widget_helpers(tiny):
    model, tok = tiny
    G = green_matrix(tok.vocab_size, 0.25, key=2)
    s = sample_text(model, tok, "ab", G, delta=2.0, length=20, seed=3)
    assert s.startswith("ab") and len(s) == 22 and s == sample_text(model, tok, "ab", G, 2.0, 20, 3)
    with pytest.raises(ValueError, match="prompt is empty"):
        sample_text(model, tok, "", G)
    html = highlight_green("a<b&", tok, G)
    assert "&lt;" in html and "&amp;" in html and html.count("<span") == 3
    assert highlight_green("abab", tok, G).count("#e4e4e4") == 1             # the repeated pair a->b is grey
    assert detection_report("abcdefgh", tok, G).startswith("z = ")
    assert detection_report("a", tok, G).startswith("Cannot test this text")
    assert detection_report("xyz", tok, G).startswith("Cannot test this text")


def test_widget(tiny):
    model, tok = tiny
    G = green_matrix(tok.vocab_size, 0.25, key=2)
    w = watermark_widget(model, tok, G)
    buttons = w.children[2].children
    box, verdict, colours = w.children[3], w.children[4], w.children[5]
    assert verdict.value.startswith("Cannot test")                           # empty box
    w.children[0].children[0].value = "ab"
    w.children[1].children[0].value = 30
    buttons[1].click()
    assert box.value.startswith("ab") and len(box.value) == 32 and verdict.value.startswith("z = ")
    assert "<span" in colours.value
    box.value = "xyz"
    assert "does not know" in verdict.value
