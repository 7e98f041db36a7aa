import math
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score, roc_curve
from aigc_book.core import seed_everything
from aigc_book.data import CharTokenizer
from aigc_book.models.vae import VAE
from aigc_book.models.gan import GANConfig, Discriminator
from aigc_book.models.gpt import GPT, GPTConfig
from aigc_book.responsible.membership import (
    attack_auc, attack_roc, tpr_at_fpr, bootstrap_auc_ci, vae_elbo_scores, discriminator_scores,
    knn_distances, nearest_sample_scores, near_copy_threshold, near_copy_mask, reference_swap, Canary,
    make_canaries, insert_canaries, completion_logprobs, all_secret_logprobs, exposure_from_rank,
    exact_exposure, sampled_exposure, fitted_exposure)


def test_auc_and_roc_match_sklearn_with_ties():
    rng = np.random.default_rng(0)
    m, n = rng.normal(0.7, 1, 200).round(1), rng.normal(0, 1, 300).round(1)
    y, s = np.r_[np.ones(200), np.zeros(300)], np.r_[m, n]
    assert attack_auc(m, n) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    roc = attack_roc(m, n)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    assert np.allclose(roc["fpr"], fpr) and np.allclose(roc["tpr"], tpr)
    assert set(roc) >= {"fpr", "tpr", "auc", "tpr_at_1pct"}
    assert roc["tpr_at_1pct"] == tpr_at_fpr(m, n, 0.01) == tpr[fpr <= 0.01].max()
    assert tpr_at_fpr(m, n, 0.0) == (m > n.max()).mean()
    assert attack_auc(torch.tensor([1.0, 2.0]), [0.0]) == 1.0 and attack_auc([1.0], [1.0]) == 0.5


def test_auc_is_half_on_identically_distributed_members():
    rng = np.random.default_rng(1)
    auc, lo, hi = bootstrap_auc_ci(rng.normal(size=3000), rng.normal(size=2000), n_boot=200)
    assert abs(auc - 0.5) < 0.02 and lo < 0.5 < hi and lo < auc < hi
    seed_everything(0)   # a real model's scores, members and non-members from the same distribution
    x = torch.rand(400, 1, 8, 8)
    s = vae_elbo_scores(VAE(latent_dim=4), x)
    auc, lo, hi = bootstrap_auc_ci(s[:200], s[200:], n_boot=200)
    assert lo < 0.5 < hi


@pytest.mark.parametrize("bad, err, msg", [
    ([], ValueError, "non-empty 1-D"), ([[1.0, 2.0]], ValueError, "non-empty 1-D"),
    ([1.0, float("nan")], ValueError, "NaN or infinite"),
    ([1.0, float("inf")], ValueError, "NaN or infinite"),
    ("abc", TypeError, "got a string"), ([object()], TypeError, "sequence of numbers")])
def test_bad_scores(bad, err, msg):
    with pytest.raises(err, match=msg):
        attack_auc(bad, [0.0, 1.0])
    with pytest.raises(err, match=msg):
        attack_roc([0.0], bad)


def test_bad_fpr_and_bootstrap_args():
    for f in (-0.1, 1.0, "0.1", True):
        with pytest.raises(ValueError, match="fpr must be"):
            tpr_at_fpr([1.0], [0.0], f)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_auc_ci([1.0], [0.0], n_boot=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_auc_ci([1.0], [0.0], level=95)


def test_vae_elbo_scores():
    seed_everything(0)
    m, x = VAE(latent_dim=4), torch.rand(6, 1, 8, 8)
    s = vae_elbo_scores(m, x, n_samples=1, seed=3)
    ref = m.eval().elbo(x, generator=torch.Generator().manual_seed(3)).double().numpy()
    assert s.shape == (6,) and s.dtype == np.float64 and np.allclose(s, ref, atol=1e-5)
    assert np.array_equal(s, vae_elbo_scores(m, x, n_samples=1, seed=3))
    assert np.allclose(vae_elbo_scores(m, x, n_samples=3, batch_size=4), vae_elbo_scores(m, x, n_samples=3))
    c = VAE(latent_dim=4, n_classes=10)
    assert vae_elbo_scores(c, x, labels=torch.arange(6)).shape == (6,)
    with pytest.raises(ValueError, match="conditional"):
        vae_elbo_scores(c, x)
    with pytest.raises(ValueError, match="unconditional"):
        vae_elbo_scores(m, x, labels=torch.arange(6))
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        vae_elbo_scores(c, x, labels=torch.arange(5))
    with pytest.raises(TypeError, match="LongTensor"):
        vae_elbo_scores(c, x, labels=torch.arange(6).float())
    with pytest.raises(TypeError, match="VAE"):
        vae_elbo_scores(torch.nn.Linear(2, 2), x)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        vae_elbo_scores(m, torch.rand(6, 1, 4, 4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vae_elbo_scores(m, x * 2 - 1)
    with pytest.raises(TypeError, match="floating-point"):
        vae_elbo_scores(m, (x * 16).long())
    with pytest.raises(ValueError, match="n_samples"):
        vae_elbo_scores(m, x, n_samples=0)


def test_discriminator_scores():
    seed_everything(0)
    D, x = Discriminator(GANConfig()).eval(), torch.rand(5, 1, 8, 8)
    assert np.allclose(discriminator_scores(D, x), D(x * 2 - 1).detach().double().numpy(), atol=1e-6)
    Dc = Discriminator(GANConfig(n_classes=10))
    assert discriminator_scores(Dc, x, torch.arange(5)).shape == (5,)
    with pytest.raises(ValueError, match="conditional"):
        discriminator_scores(Dc, x)
    with pytest.raises(TypeError, match="Discriminator"):
        discriminator_scores(VAE(), x)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        discriminator_scores(D, x * 2 - 1)


def test_knn_and_nearest_sample_scores():
    a, b = torch.rand(7, 1, 8, 8), torch.rand(9, 1, 8, 8)
    d = knn_distances(a, b, k=3)
    full = torch.cdist(a.reshape(7, -1).double(), b.reshape(9, -1).double()).sort(1).values[:, :3]
    assert d.shape == (7, 3) and torch.allclose(d, full)
    s = nearest_sample_scores(torch.cat([a[:2], b]), a)
    assert s.shape == (7,) and np.allclose(s[:2], 0) and (s[2:] < 0).all()
    with pytest.raises(ValueError, match="same image shape"):
        knn_distances(a, torch.rand(3, 1, 4, 4))
    with pytest.raises(ValueError, match="exceeds"):
        knn_distances(a, b, k=10)
    with pytest.raises(ValueError, match="non-empty"):
        knn_distances(a[:0], b)


def test_near_copy_tools():
    g = torch.Generator().manual_seed(0)
    train, held = torch.rand(400, 1, 8, 8, generator=g), torch.rand(200, 1, 8, 8, generator=g)
    t = near_copy_threshold(train, held)
    assert 0 < t and abs(near_copy_mask(held, train, t).double().mean().item() - 0.05) < 0.01
    assert near_copy_mask(train[:10], train, t).all()                  # training images are their own copies
    fresh = torch.rand(300, 1, 8, 8, generator=g)
    r = reference_swap(fresh, train, held, seed=0)
    assert abs(r["train_excess"]) < 0.05 and abs(r["control_vs_train"] - 0.05) < 0.04
    copier = reference_swap(train, train, held, seed=0)                 # "samples" = the training set
    assert copier["train_excess"] > 0.1
    with pytest.raises(ValueError, match="threshold"):
        near_copy_mask(fresh, train, -1.0)
    with pytest.raises(ValueError, match="q must be"):
        near_copy_threshold(train, held, q=1.5)


def test_canaries_made_and_inserted():
    cs = make_canaries((0, 1, 3), per_repeat=2, n_digits=4, seed=1)
    assert cs == make_canaries((0, 1, 3), per_repeat=2, n_digits=4, seed=1)
    assert len(cs) == 6 and len({c.name for c in cs}) == 6 and [c.repeats for c in cs] == [0, 0, 1, 1, 3, 3]
    assert all(len(c.secret) == 4 and c.secret.isdigit() and c.text == c.prefix + c.secret for c in cs)
    text = "".join(f"line {i}\n" for i in range(50))
    out = insert_canaries(text, cs, seed=0)
    assert [out.count(c.text + "\n") for c in cs] == [c.repeats for c in cs]
    for c in cs:
        out = out.replace(c.text + "\n", "")
    assert out == text
    with pytest.raises(ValueError, match="repeats"):
        make_canaries((1, -2))
    with pytest.raises(ValueError, match="names"):
        make_canaries(tuple(range(10)), per_repeat=5)
    with pytest.raises(ValueError, match="line breaks"):
        insert_canaries("one line", cs)
    with pytest.raises(ValueError, match="line breaks"):
        insert_canaries("a\nb\n", [Canary("ada", "1234", 5)])
    with pytest.raises(TypeError, match="Canary"):
        insert_canaries(text, ["the PIN of ada is 1234"])


def _tiny_gpt():
    seed_everything(0)
    tok = CharTokenizer.from_text("the PIN of ada is 0123456789\n")
    cfg = GPTConfig(block_size=24, vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=16)
    return GPT(cfg).eval(), tok


def test_completion_logprobs_match_plain_forward():
    model, tok = _tiny_gpt()
    prefix, secrets = "the PIN of ada is ", ["12", "90", "07"]
    got = completion_logprobs(model, tok, prefix, secrets)
    ids = torch.tensor([tok.encode(prefix + s) for s in secrets])
    lp = F.log_softmax(model(ids[:, :-1])[0].double(), -1)
    want = lp[:, len(prefix) - 1:].gather(2, ids[:, len(prefix):, None]).squeeze(2).sum(1) / math.log(2)
    assert np.allclose(got, want.detach().numpy(), atol=1e-4)
    every = all_secret_logprobs(model, tok, prefix, 2, batch_size=3)
    assert every.shape == (100,) and np.allclose(every[[12, 90, 7]], got, atol=1e-4)
    assert np.exp2(every).sum() <= 1 + 1e-9
    one_digit = completion_logprobs(model, tok, prefix, list("0123456789"))
    assert np.allclose(all_secret_logprobs(model, tok, prefix, 1), one_digit)
    with pytest.raises(ValueError, match="same length"):
        completion_logprobs(model, tok, prefix, ["1", "22"])
    with pytest.raises(ValueError, match="block_size"):
        completion_logprobs(model, tok, "the PIN of ada is the PIN of ", ["12"])
    with pytest.raises(ValueError, match="prefix"):
        completion_logprobs(model, tok, "", ["12"])
    with pytest.raises(TypeError, match="GPT"):
        completion_logprobs(VAE(), tok, prefix, ["12"])


def test_exposure_estimators():
    assert exposure_from_rank(1, 1024) == 10 and exposure_from_rank(1024, 1024) == 0
    a = np.arange(1000.0)
    assert exact_exposure(999.0, a) == pytest.approx(math.log2(1000))
    assert exact_exposure(0.0, a) == pytest.approx(0.0)
    ranks = np.arange(1, 1001)
    random_guess = np.mean(np.log2(1000) - np.log2(ranks))
    assert random_guess == pytest.approx(1 / math.log(2), abs=0.01)
    rng = np.random.default_rng(0)
    cand = rng.normal(size=2000)
    assert sampled_exposure(10.0, cand, 10**6) == pytest.approx(math.log2(10**6))   # none above: rank 1
    assert sampled_exposure(0.0, cand, 10**6) == pytest.approx(1.0, abs=0.1)      # median: half above
    assert fitted_exposure(0.0, cand, 10**6) == pytest.approx(1.0, abs=0.1)
    assert fitted_exposure(3.0, cand, 10**6) == pytest.approx(-math.log2(0.00135), abs=0.5)
    with pytest.raises(ValueError, match="rank"):
        exposure_from_rank(0, 10)
    with pytest.raises(ValueError, match="space_size"):
        sampled_exposure(0.0, cand, 1)
    with pytest.raises(ValueError, match="canary's own"):
        exact_exposure(0.5, a)
    with pytest.raises(ValueError, match="at least 20"):
        fitted_exposure(0.0, cand[:5], 100)
