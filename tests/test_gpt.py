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


# ---- the switches of chapter 36 (defaults = GPT-2, the shipped weights' design) ----
import itertools, json, sys
from dataclasses import asdict
from pathlib import Path
from aigc_book.models.gpt import (NORMS, POSITIONS, MLPS, RMSNorm, make_norm, rope_tables, apply_rope, MLP,
                                  newton_schulz, Muon, make_muon, wsd_lr, load_pretrained)

ROOT = Path(__file__).resolve().parents[1]
SWITCHES = list(itertools.product(NORMS, POSITIONS, MLPS, (False, True), (True, False)))


def small(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(block_size=16, vocab_size=12, n_layer=2, n_head=2, n_embd=16, **kw)).eval()


def test_switch_validation():
    with pytest.raises(ValueError, match=r"GPTConfig.norm must be one of \('layer', 'rms'\)"):
        GPTConfig(norm="batch")
    with pytest.raises(ValueError, match="GPTConfig.pos must be one of"): GPTConfig(pos="alibi")
    with pytest.raises(ValueError, match="GPTConfig.mlp must be one of"): GPTConfig(mlp="relu")
    with pytest.raises(TypeError, match="GPTConfig.qk_norm must be True or False"): GPTConfig(qk_norm=1)
    with pytest.raises(TypeError, match="GPTConfig.tie_weights must be True or False"):
        GPTConfig(tie_weights="no")
    with pytest.raises(ValueError, match="even head size"): GPTConfig(n_embd=12, n_head=4, pos="rope")
    with pytest.raises(ValueError, match="rope_base must be a number > 1"): GPTConfig(rope_base=1.0)
    GPTConfig(n_embd=12, n_head=4)                                        # odd head size is fine without rope


def test_defaults_keep_gpt2_and_the_shipped_weights():
    assert set(asdict(GPTConfig())) >= {"norm", "pos", "mlp", "qk_norm", "tie_weights"}
    one = GPT(GPTConfig(block_size=8, vocab_size=5, n_layer=1, n_head=2, n_embd=8, bias=False))
    assert list(one.state_dict()) == ["wte.weight", "wpe.weight", "blocks.0.ln_1.weight",
                                      "blocks.0.ln_2.weight", "blocks.0.attn.c_attn.weight",
                                      "blocks.0.attn.c_proj.weight", "blocks.0.mlp.c_fc.weight",
                                      "blocks.0.mlp.c_proj.weight", "ln_f.weight", "lm_head.weight"]
    m, tok = load_pretrained()
    ids = torch.tensor(tok.encode(("The quick brown fox jumps over the lazy dog. " * 2)[:64]))
    logits = m(ids[None])[0][0]
    # measured with the code before the switches existed
    expected = [[2.0126452, 3.3766067, -4.0860595, 0.0789527, -2.5739121],
                [0.6394595, 3.4398971, -4.4165940, -1.3414521, -2.7037458],
                [4.2462935, 4.1608095, -3.0450780, -1.0935178, -3.5314038]]
    assert torch.allclose(logits[[0, 10, 63]][:, :5], torch.tensor(expected), atol=1e-4)


@pytest.mark.parametrize("norm,pos,mlp,qk_norm,tie", SWITCHES, ids=lambda v: str(v))
def test_kv_cache_equals_full_recomputation_every_switch(norm, pos, mlp, qk_norm, tie):
    m = small(norm=norm, pos=pos, mlp=mlp, qk_norm=qk_norm, tie_weights=tie)
    x = torch.randint(0, 12, (2, 16), generator=torch.Generator().manual_seed(3))
    full = m(x)[0]
    cache, outs = None, []
    for a, b in [(0, 3), (3, 4), (4, 16)]:
        out, cache = m.forward_cached(x[:, a:b], cache)
        outs.append(out)
    assert torch.allclose(torch.cat(outs, 1), full, atol=1e-5)
    g = lambda: torch.Generator().manual_seed(0)
    ta, la = _generate(m, x[:, :3], 10, 1.0, None, None, g(), True, return_logits=True)
    tb, lb = _generate(m, x[:, :3], 10, 1.0, None, None, g(), False, return_logits=True)
    assert torch.equal(ta, tb) and torch.allclose(la, lb, atol=1e-5)
    assert (m.lm_head.weight is m.wte.weight) == tie
    assert (m.wpe is None) == (pos == "rope")


def test_rmsnorm_and_layernorm_formulas():
    h = torch.randn(3, 5, 16)
    rms = torch.sqrt(h.pow(2).mean(-1, keepdim=True) + 1e-5)
    assert isinstance(make_norm(GPTConfig(norm="rms"), 16), RMSNorm)
    assert torch.allclose(make_norm(GPTConfig(norm="rms"), 16)(h), h / rms, atol=1e-6)
    c = h - h.mean(-1, keepdim=True)
    std = torch.sqrt(c.pow(2).mean(-1, keepdim=True) + 1e-5)
    assert torch.allclose(make_norm(GPTConfig(), 16)(h), c / std, atol=1e-5)


def test_rope_rotates_and_depends_only_on_offsets():
    cos, sin = rope_tables(40, 8)
    assert cos.shape == (40, 4) and torch.allclose(cos[0], torch.ones(4))
    assert torch.allclose(sin[0], torch.zeros(4))
    rot = lambda v, m: apply_rope(v, cos[m], sin[m])
    q, k = torch.randn(2, 8, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(rot(q, 11).norm(), q.norm(), atol=1e-5)
    assert torch.allclose(rot(q, 9) @ rot(k, 2), rot(q, 37) @ rot(k, 30), atol=1e-4)
    assert not torch.allclose(rot(q, 9) @ rot(k, 2), rot(q, 9) @ rot(k, 3), atol=1e-3)
    z = torch.complex(q[:4], q[4:]) * torch.polar(torch.ones(4), 5 * 10000 ** (-torch.arange(0, 8, 2) / 8))
    assert torch.allclose(torch.cat([z.real, z.imag]), rot(q, 5), atol=1e-5)


def test_switch_parameter_counts():
    base = GPTConfig(bias=False)
    n = lambda **kw: GPT(GPTConfig(**{**asdict(base), **kw})).num_params(non_embedding=False)
    n0 = n()
    assert n(tie_weights=False) - n0 == base.vocab_size * base.n_embd
    assert n(pos="rope") - n0 == -base.block_size * base.n_embd
    assert n(mlp="relu2") == n0 and n(norm="rms") == n0
    assert n(qk_norm=True) - n0 == 2 * base.n_layer * (base.n_embd // base.n_head)
    assert abs(n(mlp="swiglu") - n0) < 0.01 * 8 * base.n_embd ** 2 * base.n_layer
    swiglu = MLP(GPTConfig(n_embd=48, mlp="swiglu", bias=False))
    assert sum(p.numel() for p in swiglu.parameters()) == 3 * 48 * 128                # hidden 8 * 48 / 3


def test_untied_rope_checkpoint_roundtrip(tmp_path):
    m = small(pos="rope", tie_weights=False, qk_norm=True, norm="rms", mlp="swiglu")
    assert "rope_cos" not in m.state_dict() and m.lm_head.weight is not m.wte.weight
    save_checkpoint(tmp_path / "g.pt", m)
    other = GPT(m.config)
    load_checkpoint(tmp_path / "g.pt", other)
    x = torch.randint(0, 12, (1, 9))
    assert torch.equal(other.eval()(x)[0], m(x)[0])
    assert m.num_params() == m.num_params(non_embedding=False)            # no position table to leave out


def test_newton_schulz_orthogonalises():
    g = torch.Generator().manual_seed(0)
    G = torch.randn(40, 12, generator=g) @ torch.diag(torch.logspace(-1, 1, 12))
    P, S, Qt = torch.linalg.svd(G, full_matrices=False)
    O = newton_schulz(G)
    D = P.T @ O @ Qt.T
    assert torch.allclose(D, torch.diag(D.diagonal()), atol=1e-4)
    assert D.diagonal().min() > 0.65 and D.diagonal().max() < 1.25
    assert torch.allclose(newton_schulz(G.T), O.T, atol=1e-5)
    with pytest.raises(ValueError, match="2-D"): newton_schulz(torch.ones(2, 2, 2))


def test_muon_step_and_partition():
    w = torch.nn.Parameter(torch.randn(6, 3))
    w.grad = torch.randn(6, 3)
    before = w.detach().clone()
    Muon([w], lr=0.05, weight_decay=0.1).step()
    expected = before * (1 - 0.05 * 0.1) - 0.05 * math.sqrt(6 / 3) * newton_schulz(w.grad)
    assert torch.allclose(w.detach(), expected, atol=1e-6)
    with pytest.raises(ValueError, match="2-D weight matrices only"):
        Muon([torch.nn.Parameter(torch.ones(3))])
    with pytest.raises(ValueError, match="momentum"): Muon([w], momentum=1.0)
    with pytest.raises(ValueError, match="lr"): Muon([w], lr=0)
    m = small(tie_weights=False)
    muon, adamw = make_muon(m)
    a = {id(p) for p in muon.param_groups[0]["params"]}
    b = {id(p) for grp in adamw.param_groups for p in grp["params"]}
    assert not a & b and a | b == {id(p) for p in m.parameters()}
    assert id(m.lm_head.weight) in b and id(m.wte.weight) in b and id(m.blocks[1].mlp.c_fc.weight) in a
    with pytest.raises(TypeError, match="must be a GPT"): make_muon(torch.nn.Linear(2, 2))


def test_muon_trains():
    m = small().train()
    opts = make_muon(m, lr=0.02, adam_lr=3e-3)
    x = torch.randint(0, 12, (8, 16), generator=torch.Generator().manual_seed(0))
    x[:, 1::2] = x[:, ::2]                                                # learnable: every odd token repeats
    first = None
    for _ in range(30):
        loss = m(x[:, :-1], x[:, 1:])[1]
        first = first or loss.item()
        for o in opts: o.zero_grad()
        loss.backward()
        for o in opts: o.step()
    assert loss.item() < first - 0.5


def test_wsd_lr():
    lrs = [wsd_lr(t, 1.0, 100, warmup=10, decay=0.2, min_lr=0.1) for t in range(101)]
    assert lrs[0] == 0.1 and lrs[9] == 1.0 and all(v == 1.0 for v in lrs[10:81]) and lrs[100] == 0.1
    assert abs(lrs[90] - 0.55) < 1e-12 and all(a >= b for a, b in zip(lrs[80:], lrs[81:]))
    assert wsd_lr(50, 1.0, 100, decay=0.0) == 1.0
    with pytest.raises(ValueError, match="decay"): wsd_lr(0, 1.0, 100, decay=-0.1)
    with pytest.raises(ValueError, match="warmup"): wsd_lr(0, 1.0, 10, warmup=11)


# ---- benchmarks/gpt_char.py and benchmarks/ablate*.py ----
def _bench():
    sys.path.insert(0, str(ROOT))
    from benchmarks import gpt_char, ablate, ablate_report
    return gpt_char, ablate, ablate_report


def test_benchmark_config_overrides():
    gpt_char, _, _ = _bench()
    sets = ["lr=3e-3", "pos=rope", "qk_norm=true", "n_layer=2", "betas=0.9,0.95"]
    c = gpt_char.resolve_config("small-cpu", sets)
    assert c["lr"] == 3e-3 and c["pos"] == "rope" and c["qk_norm"] is True and c["n_layer"] == 2
    assert c["betas"] == (0.9, 0.95) and gpt_char.resolve_config("small-cpu") == gpt_char.CONFIGS["small-cpu"]
    for bad, message in ((["lrr=1"], "unknown recipe key"), (["norm=batch"], "norm must be one of"),
                         (["qk_norm=maybe"], "true or false"), (["lr"], "key=value"),
                         (["block_size=32"], "evaluation windows"), (["n_layer=two"], "needs an integer")):
        with pytest.raises(ValueError, match=message):
            gpt_char.resolve_config("small-cpu", bad)
    # the time-budget schedule: warm-up as the same fraction of the time, decay ending with the time
    from aigc_book.recipes import lr_at
    assert lr_at(c, 3e-3, 0, progress=0.0) < 1e-6
    assert abs(lr_at(c, 3e-3, 0, progress=0.5) - cosine_mid(c)) < 1e-9
    assert abs(lr_at(c, 3e-3, 0, progress=0.999999) - c["min_lr"]) < 1e-7


def cosine_mid(c):
    from aigc_book.train import cosine_lr
    total = 1_000_000
    return cosine_lr(total // 2, c["lr"], total, round(c["warmup"] / c["iters"] * total), c["min_lr"])


def test_benchmark_time_budget_run(tmp_path):
    gpt_char, _, _ = _bench()
    text = tmp_path / "t.txt"
    text.write_text("to be or not to be, that is the question.\n" * 60)
    out = tmp_path / "r.json"
    gpt_char.main(["--data", str(text), "--config", "tiny", "--time-budget", "0.3", "--curve-every", "0.1",
                   "--set", "optimizer=muon", "--set", "pos=rope", "--json", str(out), "--skip-generation",
                   "--quiet", "--seed", "2", "--set", "eval_iters=4", "--set", "curve_iters=2"])
    r = json.loads(out.read_text())
    assert r["train_seconds"] >= 0.3 and r["steps"] >= 1 and r["seed"] == 2 and r["recipe"]["pos"] == "rope"
    assert r["eval"] == {"windows": 32, "chars": 32, "seed": 1234, "curve_windows": 16}
    assert r["curve"][0]["seconds"] == 0 and r["curve"][-1]["final"] and math.isfinite(r["val_loss"])
    assert [p["step"] for p in r["curve"]] == sorted(p["step"] for p in r["curve"])


def test_ablate_grid_and_report(tmp_path, capsys):
    _, ablate, report = _bench()
    ablate.main(["--grid", "full", "--list"])
    listed = capsys.readouterr().out
    assert "tuned" in listed and "--set lr=3e-3 --set pos=rope" in listed and "modern-cpu" in listed
    with pytest.raises(SystemExit, match="cores"): ablate.slots(jobs=10_000, cores_per_job=2, first_core=0)
    runs = [{"variant": v, "seed": s, "val_loss": 1.8 + d + 0.01 * s, "steps": 100, "tokens_per_s": 1000.0,
             "curve": [{"seconds": 0.0, "val_loss": 4.0}, {"seconds": 10.0, "val_loss": 2.0 + d}]}
            for v, d in (("tuned", 0.0), ("modern", -0.1)) for s in range(3)]
    res = {"time_budget": 10.0, "runs": runs, "budget_runs": [], "jobs": 2, "cores_per_job": 1, "cpus": 2,
           "minutes": 1}
    t = report.table(res, "tuned")
    assert "| modern | 3 | 100 | 1,000 | 1.710 ± 0.025 | -0.100 ± 0.000 |" in t
    assert "| 10 | 2.000 | 1.900 |" in report.curve_table(res, ["tuned", "modern"], 10.0)
