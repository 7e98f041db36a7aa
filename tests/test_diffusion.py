import math
import pytest, torch
from aigc_book.core import CheckpointError
from aigc_book.models.diffusion import (NoiseSchedule, linear_betas, cosine_betas, q_sample, q_step,
                                        q_posterior, predict_x0, elbo_weight, ddpm_mean_var, ddim_mean_var,
                                        DiffusionConfig, UNet, Diffusion, train_diffusion, load_pretrained,
                                        PRETRAINED)


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_alpha_bar_monotone_and_consistent(kind):
    s = NoiseSchedule(kind, T=1000)
    ab = s.alpha_bars
    assert ab.shape == (1001,) and ab[0] == 1.0 and ab[-1] < 1e-4
    assert bool((ab[1:] < ab[:-1]).all())
    assert torch.allclose(ab, torch.cumprod(1 - s.betas, 0))
    assert bool((s.betas[1:] > 0).all()) and bool((s.betas <= 0.999).all())
    assert torch.allclose(s.snr(), ab[1:] / (1 - ab[1:]))


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_closed_form_equals_iterated_one_step_process(kind):
    s = NoiseSchedule(kind, T=200)
    x0 = torch.tensor([[0.3], [-0.8]], dtype=torch.float64)
    mean, var = x0.clone(), torch.zeros_like(x0)
    for t in range(1, s.T + 1):                         # moments of the iterated process
        mean, var = s.alphas[t].sqrt() * mean, s.alphas[t] * var + s.betas[t]
        assert torch.allclose(mean, s.alpha_bars[t].sqrt() * x0, atol=1e-12)
        assert torch.allclose(var, (1 - s.alpha_bars[t]).expand_as(var), atol=1e-12)
    g = torch.Generator().manual_seed(0)                # and by simulation, at t = 50
    N = 20000
    x = torch.full((N, 1), 0.5, dtype=torch.float64)
    for t in range(1, 51):
        x = q_step(s, x, torch.full((N,), t), torch.randn(x.shape, generator=g, dtype=x.dtype))
    closed = q_sample(s, torch.full((N, 1), 0.5, dtype=torch.float64), torch.full((N,), 50),
                      torch.randn((N, 1), generator=g, dtype=torch.float64))
    se = (1 - s.alpha_bars[50]).sqrt() / N ** 0.5
    assert abs(x.mean() - closed.mean()) < 6 * se and abs(x.std() / closed.std() - 1) < 0.03


def test_posterior_and_elbo_weight():
    s = NoiseSchedule("cosine", T=100)
    g = torch.Generator().manual_seed(1)
    t = torch.randint(2, 101, (16,), generator=g)
    x0, eps, eps_hat = (torch.randn(16, 4, generator=g, dtype=torch.float64) for _ in range(3))
    xt = q_sample(s, x0, t, eps)
    mean, var = q_posterior(s, x0, xt, t)
    a, b, ab_prev = s.alphas[t][:, None], s.betas[t][:, None], s.alpha_bars[t - 1][:, None]
    prec = a / b + 1 / (1 - ab_prev)                    # Bayes: precisions add
    assert torch.allclose(var, 1 / prec)
    # the posterior mean written through ε, and the KL between equal-variance Gaussians = λ_t ‖ε − ε̂‖²
    mu_hat = (xt - b / (1 - s.alpha_bars[t][:, None]).sqrt() * eps_hat) / a.sqrt()
    kl = ((mean - mu_hat) ** 2).sum(1) / (2 * s.betas[t])
    assert torch.allclose(kl, elbo_weight(s, t, s.betas[t]) * ((eps - eps_hat) ** 2).sum(1))
    assert torch.allclose(predict_x0(s, xt, t, eps), x0)


def test_ddim_eta1_is_ddpm_and_eta0_is_deterministic():
    s = NoiseSchedule("linear", T=1000)
    g = torch.Generator().manual_seed(2)
    t = torch.randint(1, 1001, (32,), generator=g)
    xt = 2 * torch.randn(32, 1, 8, 8, generator=g, dtype=torch.float64)
    eps = torch.randn(32, 1, 8, 8, generator=g, dtype=torch.float64)
    for clip in (True, False):
        m1, v1 = ddpm_mean_var(s, xt, t, eps, clip)
        m2, v2 = ddim_mean_var(s, xt, t, t - 1, eps, eta=1.0, clip=clip)
        assert torch.allclose(m1, m2) and torch.allclose(v1, v2)
    assert float(ddim_mean_var(s, xt, t, t - 1, eps, eta=0.0)[1].abs().max()) == 0.0
    torch.manual_seed(0)
    m = Diffusion(DiffusionConfig(T=50))
    for p in m.net.out.parameters(): torch.nn.init.normal_(p, std=0.1)
    xT, lab = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    a = m.sample(4, lab, steps=10, x_T=xT, generator=torch.Generator().manual_seed(1))
    b = m.sample(4, lab, steps=10, x_T=xT, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    c = m.sample(4, lab, steps=10, eta=1.0, x_T=xT, generator=torch.Generator().manual_seed(1))
    d = m.sample(4, lab, steps=10, eta=1.0, x_T=xT, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(c, d)
    assert a.shape == (4, 1, 8, 8) and 0 <= a.min() and a.max() <= 1


def test_guidance_conventions():
    torch.manual_seed(3)
    m = Diffusion(DiffusionConfig(T=50))
    for p in m.net.out.parameters(): torch.nn.init.normal_(p, std=0.1)
    x, t, y = torch.randn(5, 1, 8, 8), torch.tensor([1, 5, 10, 20, 50]), torch.tensor([0, 2, 4, 6, 9])
    with torch.no_grad():
        e_c, e_u = m.net(x, t, y), m.net(x, t, torch.full((5,), 10))
        assert torch.allclose(m.eps(x, t, y, guidance=0.0), e_c, atol=1e-6)     # w = 0: conditional
        assert torch.allclose(m.eps(x, t, y, guidance=-1.0), e_u, atol=1e-5)  # w = -1 (s = 0): unconditional
        assert torch.allclose(m.eps(x, t, None), e_u, atol=1e-6)                # no labels: the null label
        assert torch.allclose(m.eps(x, t, y, guidance=1.5), 2.5 * e_c - 1.5 * e_u, atol=1e-5)
        assert not torch.allclose(e_c, e_u)


def test_other_sizes_and_training_step():
    cfg = DiffusionConfig(in_channels=3, image_size=16, width=8, groups=4, n_classes=0, T=20,
                          schedule="linear")
    net = UNet(cfg)
    assert net(torch.randn(2, 3, 16, 16), torch.tensor([1, 20])).shape == (2, 3, 16, 16)
    data = (torch.rand(16, 3, 16, 16) * 2 - 1, torch.zeros(16, dtype=torch.long))
    ema, model, hist = train_diffusion(cfg, steps=3, batch_size=8, data=data, progress=False)
    assert len(hist.train["loss"]) == 3 and all(math.isfinite(v) for v in hist.train["loss"])
    assert ema.sample(2, steps=3).shape == (2, 3, 16, 16)


def test_bad_inputs():
    s = NoiseSchedule("cosine", T=10)
    x = torch.randn(3, 1, 8, 8)
    with pytest.raises(ValueError, match="kind must be one of"): NoiseSchedule("sigmoid")
    with pytest.raises(ValueError, match="T must be an int >= 2"): cosine_betas(1)
    with pytest.raises(ValueError, match="beta_1 < beta_T"): linear_betas(10, 0.5, 0.1)
    with pytest.raises(ValueError, match=r"t must lie in 0\.\.10"):
        q_sample(s, x, torch.tensor([0, 5, 11]), x)
    with pytest.raises(TypeError, match="LongTensor"): q_sample(s, x, torch.tensor([1.0, 2.0, 3.0]), x)
    with pytest.raises(ValueError, match=r"shape \(3,\)"): q_sample(s, x, torch.tensor([1, 2]), x)
    with pytest.raises(ValueError, match=r"t must lie in 1\.\.10"): q_step(s, x, torch.tensor([0, 1, 2]), x)
    with pytest.raises(ValueError, match="s must be smaller than t"):
        ddim_mean_var(s, x, torch.tensor([5, 5, 5]), torch.tensor([5, 4, 3]), x)
    with pytest.raises(ValueError, match="eta must be in"):
        ddim_mean_var(s, x, torch.tensor([5, 5, 5]), torch.tensor([4, 4, 3]), x, eta=2.0)
    with pytest.raises(ValueError, match="var must be > 0"):
        elbo_weight(s, torch.tensor([1]), torch.tensor([0.0]))
    with pytest.raises(ValueError, match="must divide width"): DiffusionConfig(width=10)
    with pytest.raises(ValueError, match="image_size must be even"): DiffusionConfig(image_size=9)
    m = Diffusion(DiffusionConfig(T=10))
    with pytest.raises(ValueError, match=r"\(B, 1, 8, 8\)"): m.loss(torch.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        m.sample(2, torch.tensor([0, 10]), steps=5)
    with pytest.raises(TypeError, match="LongTensor"): m.sample(2, torch.tensor([0.0, 1.0]), steps=5)
    with pytest.raises(ValueError, match="steps must be <= T"): m.sample(2, steps=11)
    with pytest.raises(ValueError, match="n must be an int"): m.sample(0)
    with pytest.raises(ValueError, match="p_uncond"):
        m.loss(torch.zeros(2, 1, 8, 8), torch.tensor([0, 1]), p_uncond=2.0)
    with pytest.raises(ValueError, match="unconditional"):
        Diffusion(DiffusionConfig(n_classes=0)).loss(torch.zeros(2, 1, 8, 8), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        train_diffusion(DiffusionConfig(T=10), steps=1, batch_size=2, progress=False,
                        data=(torch.rand(4, 1, 8, 8) * 3, torch.zeros(4, dtype=torch.long)))


def test_load_pretrained_contract(tmp_path):
    m = load_pretrained()
    assert isinstance(m, Diffusion) and not m.training and m.cfg == PRETRAINED["diffusion"]["cfg"]
    assert set(m.results) >= {"steps", "guidance", "seeds"}
    s = m.sample(10, torch.arange(10), steps=5, generator=torch.Generator().manual_seed(0))
    assert s.shape == (10, 1, 8, 8) and 0 <= s.min() and s.max() <= 1
    with pytest.raises(ValueError, match="choose one of"): load_pretrained("ddpm")
    bad = tmp_path / "bad.pt"; bad.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="truncated or not a torch file"): load_pretrained(path=bad)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a checkpoint written by"):
        load_pretrained(path=tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="train_diffusion.py"):
        load_pretrained(path=tmp_path / "missing.pt")
