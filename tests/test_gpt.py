import math
import pytest
import torch
from aigc_book.core import save_checkpoint, load_checkpoint, CheckpointError
from aigc_book.data import CharTokenizer
from aigc_book.models.gpt import GPT, GPTConfig, generate, generate_text, evaluate_bpc, _generate
from aigc_book.prob.attention import unigram_bits


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return GPT(GPTConfig(block_size=16, vocab_size=12, n_layer=2, n_head=2, n_embd=16)).eval()


def test_config_validation():
    with pytest.raises(ValueError, match="divisible"): GPTConfig(n_embd=10, n_head=4)
    with pytest.raises(ValueError, match="block_size"): GPTConfig(block_size=0)
    with pytest.raises(ValueError, match="dropout"): GPTConfig(dropout=1.0)
    with pytest.raises(TypeError, match="GPTConfig"): GPT({"n_layer": 2})


def test_forward_shapes_loss_and_tying(model):
    x = torch.randint(0, 12, (2, 16))
    logits, loss = model(x, x)
    assert logits.shape == (2, 16, 12) and loss.ndim == 0
    assert abs(loss.item() - math.log(12)) < 0.2
    assert model.lm_head.weight is model.wte.weight
    assert model(x)[1] is None


def test_bad_input_errors(model):
    with pytest.raises(ValueError, match="exceeds block_size=16"): model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="is empty"): model(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="outside"): model(torch.full((1, 3), 12))
    with pytest.raises(TypeError, match="integer"): model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"\(B, T\)"): model(torch.zeros(3, dtype=torch.long))


def test_causal_no_future_leak(model):
    torch.manual_seed(1)
    x = torch.randint(0, 12, (2, 16)); base = model(x)[0]
    for t in range(0, 15, 3):
        x2 = x.clone(); x2[:, t + 1:] = (x2[:, t + 1:] + 1) % 12
        assert torch.allclose(model(x2)[0][:, :t + 1], base[:, :t + 1], atol=1e-6)


def test_fused_equals_reference_attention(model):
    x = torch.randint(0, 12, (3, 16))
    a = model(x)[0]
    model.fused_attention(False); b = model(x)[0]; model.fused_attention(True)
    assert torch.allclose(a, b, atol=1e-5)


def test_kv_cache_equals_full_recomputation(model):
    torch.manual_seed(2)
    x = torch.randint(0, 12, (2, 16)); full = model(x)[0]
    cache, outs = None, []
    for a, b in [(0, 3), (3, 4), (4, 11), (11, 16)]:
        out, cache = model.forward_cached(x[:, a:b], cache); outs.append(out)
    assert torch.allclose(torch.cat(outs, 1), full, atol=1e-5)
    p = x[:, :3]
    ta, la = _generate(model, p, 13, 1.0, None, None, torch.Generator().manual_seed(0), True, return_logits=True)
    tb, lb = _generate(model, p, 13, 1.0, None, None, torch.Generator().manual_seed(0), False, return_logits=True)
    assert torch.equal(ta, tb) and torch.allclose(la, lb, atol=1e-5)
    long = generate(model, p, 40, top_k=4, generator=torch.Generator().manual_seed(0))
    assert long.shape == (2, 43) and int(long.max()) < 12


def test_generate_validation_and_mode(model):
    model.train()
    out = generate(model, torch.zeros(1, 1, dtype=torch.long), 3)
    assert out.shape == (1, 4) and model.training
    model.eval()
    with pytest.raises(ValueError, match="is empty"): generate(model, torch.zeros(1, 0, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="max_new_tokens"): generate(model, torch.zeros(1, 1, dtype=torch.long), -2)
    with pytest.raises(ValueError, match="temperature"): generate(model, torch.zeros(1, 1, dtype=torch.long), 2, temperature=0)


def test_text_roundtrip_and_errors(model):
    tok = CharTokenizer.from_text("abcdefghij \n")
    assert tok.decode(tok.encode("a cab\n")) == "a cab\n"
    s = generate_text(model, tok, "abc", 10, seed=1)
    assert s.startswith("abc") and len(s) == 13 and s == generate_text(model, tok, "abc", 10, seed=1)
    with pytest.raises(ValueError, match="prompt is empty"): generate_text(model, tok, "", 5)
    with pytest.raises(ValueError, match="does not know"): generate_text(model, tok, "xyz", 5)
    # a prompt longer than the block is cropped to its last block_size tokens when generating
    assert len(generate_text(model, tok, "a" * 40, 5)) == 45
    assert generate_text(model, tok, "b" * 24 + "a" * 16, 5, seed=2)[-5:] == generate_text(model, tok, "a" * 16, 5, seed=2)[-5:]


def test_bpc_and_unigram(model):
    ids = torch.randint(0, 12, (600,))
    r = evaluate_bpc(model, ids)
    assert abs(r["bpc"] - r["nll"] / math.log(2)) < 1e-9 and abs(r["ppl"] - math.exp(r["nll"])) < 1e-9
    assert abs(unigram_bits(torch.arange(12).repeat(10), torch.arange(12), 12) - math.log2(12)) < 1e-5
    with pytest.raises(ValueError, match="fewer than"): evaluate_bpc(model, ids[:5])


def test_checkpoint_roundtrip(model, tmp_path):
    save_checkpoint(tmp_path / "g.pt", model, step=3, meta={"chars": "abc"})
    other = GPT(model.config)
    info = load_checkpoint(tmp_path / "g.pt", other)
    assert info["step"] == 3 and info["meta"]["chars"] == "abc"
    x = torch.randint(0, 12, (1, 8))
    assert torch.equal(other.eval()(x)[0], model(x)[0])
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_checkpoint(tmp_path / "g.pt", GPT(GPTConfig(block_size=16, vocab_size=13, n_layer=2, n_head=2, n_embd=16)))
