import math
import warnings
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from aigc_book.core import seed_everything
from aigc_book.models.vae import VAE
from aigc_book.responsible.privacy import (
    DP_LEVELS, DP_SEEDS, dp_tpr_bound, dp_auc_bound, vae_loss_given_noise, per_sample_grads, clip_per_sample,
    noisy_mean, poisson_batch, dp_sgd_step, epsilon_for, noise_for_epsilon, gaussian_delta, gaussian_epsilon,
    member_split, train_dp_vae, load_dp_vaes)


def xent(model, x, y):                      # per-example losses of a tiny classifier
    return F.cross_entropy(model(x), y, reduction="none")


def tiny():
    seed_everything(0)
    return nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))


def test_dp_bounds():
    a = np.linspace(0, 1, 11)
    assert np.allclose(dp_tpr_bound(a, 0.0, 0.0), a)                  # ε = δ = 0: the diagonal
    assert np.allclose(dp_tpr_bound(a, math.inf, 1e-5), 1.0)
    assert dp_tpr_bound(0.01, 2.0, 1e-5) == pytest.approx(math.exp(2) * 0.01 + 1e-5)
    assert dp_auc_bound(0.0, 0.0) == pytest.approx(0.5, abs=1e-9)
    e = 1.0
    s = 1 / (1 + math.exp(e))
    closed = math.exp(e) * s ** 2 / 2 + (1 - s) - math.exp(-e) * (1 - s) ** 2 / 2
    assert dp_auc_bound(e, 0.0) == pytest.approx(closed, abs=1e-7)
    assert dp_auc_bound(0.5, 1e-5) < dp_auc_bound(2, 1e-5) < dp_auc_bound(8, 1e-5) <= 1
    with pytest.raises(ValueError, match="epsilon must be"):
        dp_tpr_bound(0.1, -1.0, 0.0)
    with pytest.raises(ValueError, match="delta must be"):
        dp_tpr_bound(0.1, 1.0, 1.5)
    with pytest.raises(ValueError, match="fpr must lie"):
        dp_tpr_bound(1.5, 1.0, 0.0)


def test_vae_loss_given_noise_matches_the_vae():
    seed_everything(0)
    vae, x = VAE(latent_dim=3, hidden=16), torch.rand(4, 1, 8, 8)
    out = vae(x, generator=torch.Generator().manual_seed(5))
    noise = torch.randn(4, 3, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(vae_loss_given_noise(vae, x, noise), out["recon"] + out["kl"], atol=1e-5)
    with pytest.raises(ValueError, match=r"noise must be a tensor of shape \(4, 3\)"):
        vae_loss_given_noise(vae, x, noise[:3])
    with pytest.raises(TypeError, match="model must be"):
        vae_loss_given_noise(nn.Linear(2, 2), x, noise)
    with pytest.raises(ValueError, match="unconditional Bernoulli"):
        vae_loss_given_noise(VAE(latent_dim=3, n_classes=10), x, noise)


def test_per_sample_grads_match_a_loop_and_clip():
    model, x, y = tiny(), torch.randn(7, 5), torch.randint(0, 3, (7,))
    g = per_sample_grads(model, xent, x, y)
    for i in range(7):
        model.zero_grad()
        xent(model, x[i:i + 1], y[i:i + 1]).sum().backward()
        for n, p in model.named_parameters():
            assert torch.allclose(g[n][i], p.grad, atol=1e-6)
    clipped, norms = clip_per_sample(g, 0.1)
    new = torch.stack([c.flatten(1).norm(dim=1) for c in clipped.values()], 1).norm(dim=1)
    assert torch.all(new <= 0.1 + 1e-6) and torch.allclose(new, norms.clamp(max=0.1), atol=1e-5)
    with pytest.raises(TypeError, match="loss_fn must be"):
        per_sample_grads(model, "xent", x, y)
    with pytest.raises(ValueError, match="share a non-zero first dimension"):
        per_sample_grads(model, xent, x, y[:3])
    with pytest.raises(ValueError, match="max_grad_norm must be"):
        clip_per_sample(g, 0.0)
    with pytest.raises(TypeError, match="grads must be"):
        clip_per_sample({}, 1.0)


def test_noisy_mean_and_poisson_batch():
    g = {"w": torch.ones(4, 3)}
    assert torch.allclose(noisy_mean(g, 1.0, 0.0, 8)["w"], torch.full((3,), 0.5))
    gen = torch.Generator().manual_seed(0)
    std = noisy_mean({"w": torch.zeros(1, 100_000)}, 2.0, 3.0, 10, gen)["w"].std()
    assert float(std) == pytest.approx(0.6, rel=0.02)                   # σC / (qN)
    with pytest.raises(ValueError, match="noise_multiplier must be"):
        noisy_mean(g, 1.0, -1.0, 8)
    with pytest.raises(ValueError, match="expected_batch_size must be"):
        noisy_mean(g, 1.0, 1.0, 0)
    assert torch.equal(poisson_batch(5, 1.0), torch.arange(5))
    sizes = [len(poisson_batch(1000, 0.1, torch.Generator().manual_seed(s))) for s in range(200)]
    assert abs(np.mean(sizes) - 100) < 2
    with pytest.raises(ValueError, match="sample_rate must be"):
        poisson_batch(10, 0.0)
    with pytest.raises(ValueError, match="n must be"):
        poisson_batch(0, 0.5)


def test_dp_sgd_step_matches_opacus():
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer
    x, y = torch.randn(6, 5), torch.randint(0, 3, (6,))
    ours = tiny()
    dp_sgd_step(ours, torch.optim.SGD(ours.parameters(), lr=0.3), xent, (x, y), 0.5, 1.5, 6,
                torch.Generator().manual_seed(3))
    theirs = tiny()
    gsm = GradSampleModule(theirs)
    opt = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=0.3), noise_multiplier=1.5, max_grad_norm=0.5,
                      expected_batch_size=6, generator=torch.Generator().manual_seed(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xent(gsm, x, y).mean().backward()
    opt.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    empty = tiny()                                                      # an empty batch: noise only
    before = [p.clone() for p in empty.parameters()]
    dp_sgd_step(empty, torch.optim.SGD(empty.parameters(), lr=0.3), xent, (x[:0], y[:0]), 0.5, 1.5, 6)
    assert any(not torch.equal(a, b) for a, b in zip(before, empty.parameters()))
    with pytest.raises(TypeError, match="batch must be a tuple"):
        dp_sgd_step(empty, torch.optim.SGD(empty.parameters(), lr=0.3), xent, x, 0.5, 1.5, 6)


def test_accounting():
    exact = gaussian_epsilon(5.0, 100, 1e-5)
    assert gaussian_delta(exact, 2.0) == pytest.approx(1e-5, abs=1e-12)
    assert exact < epsilon_for(5.0, 1.0, 100, 1e-5) < 1.1 * exact       # RDP: an upper bound
    assert gaussian_epsilon(10.0, 100, 1e-5) < exact                    # more noise, less ε
    assert epsilon_for(0.0, 0.5, 10, 1e-5) == math.inf
    assert epsilon_for(1.0, 0.1, 100, 1e-5) < epsilon_for(1.0, 0.2, 100, 1e-5)
    sigma = noise_for_epsilon(4.0, 1e-5, 0.1, 200)
    assert 3.98 <= epsilon_for(sigma, 0.1, 200, 1e-5) <= 4.0
    with pytest.raises(ValueError, match="delta must be"):
        epsilon_for(1.0, 0.1, 100, 0.0)
    with pytest.raises(ValueError, match="accountant must be"):
        epsilon_for(1.0, 0.1, 100, 1e-5, "gdp")
    with pytest.raises(ValueError, match="steps must be"):
        epsilon_for(1.0, 0.1, 0, 1e-5)
    with pytest.raises(ValueError, match="epsilon must be"):
        noise_for_epsilon(0.0, 1e-5, 0.1, 100)


def test_member_split():
    y = torch.arange(10).repeat(30)
    m, n = member_split(y, 5, seed=1)
    assert len(m) == len(n) == 50 and not set(m.tolist()) & set(n.tolist())
    assert torch.equal(torch.bincount(y[m]), torch.full((10,), 5))
    with pytest.raises(ValueError, match="per_class"):
        member_split(y, 20)


def test_train_dp_vae_small():
    x = torch.rand(40, 1, 8, 8)
    a, info = train_dp_vae(x, 1.0, batch_size=10, steps=4, hidden=16, seed=0)
    b, _ = train_dp_vae(x, 1.0, batch_size=10, steps=4, hidden=16, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))   # seeded: repeatable
    assert info["sample_rate"] == 0.25 and len(info["loss"]) == 4 and not a.training
    assert info["accountant"].get_epsilon(1e-5) == pytest.approx(epsilon_for(1.0, 0.25, 4, 1e-5))
    plain, info = train_dp_vae(x, None, batch_size=10, steps=4, hidden=16)
    assert info["accountant"] is None and isinstance(plain, VAE)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        train_dp_vae(x * 3, 1.0, steps=1)
    with pytest.raises(ValueError, match="batch_size must be"):
        train_dp_vae(x, 1.0, batch_size=100, steps=1)
    with pytest.raises(ValueError, match="noise_multiplier must be"):
        train_dp_vae(x, -0.5, steps=1)


def test_load_dp_vaes(tmp_path):
    models, meta = load_dp_vaes()
    assert len(models) == len(DP_LEVELS) * len(DP_SEEDS)
    assert all(isinstance(m, VAE) and not m.training for m in models.values())
    assert set(meta["noise_multiplier"]) == set(DP_LEVELS)
    for level, sigma in DP_LEVELS.items():                              # the file was trained at these σ
        assert meta["noise_multiplier"][level] == (-1.0 if sigma is None else sigma)
    with pytest.raises(FileNotFoundError, match="train_dp_models.py"):
        load_dp_vaes(tmp_path / "missing.pt")
    from aigc_book.core import save_checkpoint
    save_checkpoint(tmp_path / "few.pt", {"0_s0": VAE(latent_dim=8, hidden=64)})
    with pytest.raises(ValueError, match="holds no models"):
        load_dp_vaes(tmp_path / "few.pt")
