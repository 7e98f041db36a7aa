"Edge cases for aigc_book.prob.*: clear errors on bad input, finite results on extreme input, every export covered."
import math
import pytest
import torch
import torch.nn.functional as F
from aigc_book.prob.likelihood import (normal_log_prob, poisson_log_prob, fit_normal_mle, fit_poisson_mle,
                                       gaussian_nll, bernoulli_nll, categorical_nll)
from aigc_book.prob.divergence import entropy, cross_entropy, kl_categorical, kl_normal, kl_std_normal
from aigc_book.prob.elbo import reparameterize, log_normal_diag, log_mean_exp, iwae_bound, elbo
from aigc_book.prob.gan import (gan_d_loss, gan_g_loss, wgan_critic_loss, wgan_g_loss, gradient_penalty,
                                optimal_discriminator, js_divergence)
from aigc_book.prob.attention import (scaled_dot_product_attention, causal_mask, padding_mask, split_heads, merge_heads,
                                      token_nll, perplexity, nats_to_bits, bits_per_char)

torch.manual_seed(0)

# ---------- likelihood
def test_normal_and_poisson():
    x = torch.randn(10)
    assert torch.allclose(normal_log_prob(x, 1.0, 2.0), torch.distributions.Normal(1.0, 2.0).log_prob(x), atol=1e-6)
    k = torch.tensor([0, 1, 5, 20])
    assert torch.allclose(poisson_log_prob(k, torch.tensor(4.0)), torch.distributions.Poisson(4.0).log_prob(k.float()), atol=1e-5)
    with pytest.raises(ValueError, match="std must be > 0"): normal_log_prob(x, 0.0, torch.tensor(-1.0))
    with pytest.raises(ValueError, match="std must be > 0"): normal_log_prob(x, 0.0, 0.0)
    with pytest.raises(ValueError, match="rate must be > 0"): poisson_log_prob(k, -2.0)
    with pytest.raises(ValueError, match="k must hold non-negative integers"): poisson_log_prob(torch.tensor([-1]), 1.0)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"): normal_log_prob(1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="x must not be empty"): normal_log_prob(torch.tensor([]), 0.0, 1.0)
    with pytest.raises(TypeError, match="x must be a floating-point"): normal_log_prob(torch.tensor([1]), 0.0, 1.0)

def test_fits():
    x = torch.randn(500, 3) * torch.tensor([1.0, 2.0, 0.5]) + 3
    mu, std = fit_normal_mle(x)
    assert mu.shape == (3,) and torch.allclose(std, x.std(0, unbiased=False))
    assert torch.allclose(fit_poisson_mle(torch.tensor([1, 2, 3, 6])), torch.tensor(3.0))
    with pytest.raises(ValueError, match="at least 2 samples"): fit_normal_mle(torch.randn(1, 3))
    with pytest.raises(ValueError, match="at least 1 dim"): fit_poisson_mle(torch.tensor(3))
    with pytest.raises(ValueError, match="non-negative integers"): fit_poisson_mle(torch.tensor([0.5, 1.0]))

def test_nlls():
    x, mu = torch.randn(4, 2, 3), torch.randn(4, 2, 3)
    assert gaussian_nll(x, mu, torch.zeros(4, 2, 3)).shape == (4,)
    assert gaussian_nll(torch.randn(5), torch.randn(5), 0.0).shape == (5,)
    for lv in (80.0, -80.0):
        assert torch.isfinite(gaussian_nll(x, x + 0.1, torch.full_like(x, lv))).all()
    with pytest.raises(ValueError, match="broadcast"): gaussian_nll(x, mu[:, :1, :2], 0.0)
    with pytest.raises(ValueError, match="must broadcast to x's shape"): gaussian_nll(x[:, :1], mu, 0.0)
    logits = torch.tensor([[1e4, -1e4, 0.0]]); t = torch.tensor([[0.0, 1.0, 1.0]])
    out = bernoulli_nll(logits, t)
    assert out.shape == (1,) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="x must have the shape of logits"): bernoulli_nll(logits, t[:, :2])
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"): bernoulli_nll(logits, -t)
    cl = torch.tensor([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]]); ct = torch.tensor([1, 2])
    out = categorical_nll(cl, ct)
    assert out.shape == (2,) and torch.isfinite(out).all() and torch.allclose(out[1], torch.tensor(math.log(3)))
    with pytest.raises(ValueError, match="targets must lie in"): categorical_nll(cl, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="targets must have shape"): categorical_nll(cl, torch.tensor([0]))

def test_nll_grads_finite():
    mu = torch.zeros(3, 4, requires_grad=True); lv = torch.full((3, 4), -80.0, requires_grad=True)
    gaussian_nll(torch.full((3, 4), 1e-3), mu, lv).sum().backward()
    assert torch.isfinite(mu.grad).all() and torch.isfinite(lv.grad).all()

# ---------- divergence
def test_discrete_divergences():
    p = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]); q = torch.tensor([0.3, 0.3, 0.4])
    assert entropy(p).shape == (2,) and torch.allclose(entropy(p)[1], torch.tensor(0.0))
    assert torch.allclose(kl_categorical(p, q), cross_entropy(p, q) - entropy(p), atol=1e-6)
    assert (kl_categorical(p, q) >= 0).all()
    with pytest.raises(ValueError, match="must sum to 1"): entropy(torch.tensor([0.2, 0.2]))
    with pytest.raises(ValueError, match="q must be non-negative"): kl_categorical(q, torch.tensor([1.1, -0.1, 0.0]))
    with pytest.raises(ValueError, match="broadcast"): kl_categorical(p, torch.tensor([0.5, 0.5]))

def test_kl_normal():
    mq, lq, mp, lp = torch.randn(5, 3), torch.randn(5, 3), torch.randn(5, 3), torch.randn(5, 3)
    kl = kl_normal(mq, lq, mp, lp)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mq, (lq / 2).exp()), torch.distributions.Normal(mp, (lp / 2).exp())).sum(-1)
    assert kl.shape == (5,) and torch.allclose(kl, ref, atol=1e-5)
    assert torch.allclose(kl_std_normal(mq, lq), kl_normal(mq, lq, torch.zeros(1), torch.zeros(1)), atol=1e-6)
    z = torch.zeros(2, 4)
    for lv in (80.0, -80.0):
        assert torch.isfinite(kl_std_normal(z, torch.full((2, 4), lv))).all()
        assert torch.isfinite(kl_normal(z, torch.full((2, 4), lv), z, torch.full((2, 4), lv))).all()
    with pytest.raises(ValueError, match="must have the same shape"): kl_std_normal(z, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="mu_q must have at least 1 dim"): kl_normal(torch.tensor(0.0), z, z, z)

# ---------- elbo
def test_elbo_pieces():
    mu, lv = torch.randn(4, 2, requires_grad=True), torch.randn(4, 2, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    z = reparameterize(mu, lv, generator=g); z.sum().backward()
    assert z.shape == (4, 2) and torch.allclose(mu.grad, torch.ones(4, 2))
    assert torch.isfinite(reparameterize(torch.zeros(3), torch.full((3,), 80.0))).all()
    lp = log_normal_diag(torch.zeros(4, 2), torch.zeros(4, 2), torch.full((4, 2), -80.0))
    assert lp.shape == (4,) and torch.isfinite(lp).all()
    assert torch.isfinite(log_mean_exp(torch.tensor([-1e4, -1e4 - 1]), 0))
    assert torch.allclose(iwae_bound(torch.zeros(7, 3)), torch.zeros(3), atol=1e-6)   # log 7 - log 7 in float32
    assert torch.allclose(iwae_bound(torch.log(torch.tensor([[1.0, 3.0]])), dim=1), torch.log(torch.tensor([2.0])))
    assert torch.allclose(elbo(torch.ones(3), torch.ones(3)), -2 * torch.ones(3))
    with pytest.raises(ValueError, match="must have the same shape"): elbo(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="broadcast"): reparameterize(torch.zeros(3), torch.zeros(2))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"): reparameterize(mu, lv, generator=1)
    with pytest.raises(TypeError, match="dim must be an int"): log_mean_exp(torch.zeros(3), 0.5)

# ---------- gan
def test_gan_losses():
    big = torch.tensor([1e4, -1e4, 0.0])
    for v in (gan_d_loss(big, big), gan_g_loss(big), gan_g_loss(big, saturating=True)):
        assert v.dim() == 0 and torch.isfinite(v)
    assert torch.allclose(gan_d_loss(torch.zeros(3), torch.zeros(3)), torch.tensor(2 * math.log(2)))
    assert torch.allclose(wgan_critic_loss(torch.ones(3), torch.zeros(3)), torch.tensor(-1.0))
    assert torch.allclose(wgan_g_loss(torch.ones(3)), torch.tensor(-1.0))
    l = torch.tensor([-20.0], requires_grad=True); gan_g_loss(l, saturating=True).backward()
    l2 = torch.tensor([-20.0], requires_grad=True); gan_g_loss(l2).backward()
    assert abs(l.grad.item()) < 1e-8 and abs(l2.grad.item()) > 0.99

def test_gradient_penalty_shapes():
    for shape in [(6, 3), (6, 1, 4, 4)]:
        w = torch.randn(shape[1:])
        crit = lambda x: (x * w).flatten(1).sum(1, keepdim=True)
        gp = gradient_penalty(crit, torch.randn(shape), torch.randn(shape), generator=torch.Generator().manual_seed(0))
        assert torch.allclose(gp, (w.norm() - 1) ** 2, atol=1e-4)
    with pytest.raises(TypeError, match="critic must be callable"): gradient_penalty(3, torch.randn(2, 2), torch.randn(2, 2))

def test_optimal_d_and_js():
    d = optimal_discriminator(torch.tensor([0.0, 2.0]), torch.tensor([0.0, 2.0]))
    assert torch.equal(d, torch.tensor([0.5, 0.5]))
    p = torch.tensor([0.7, 0.3, 0.0]); q = torch.tensor([0.0, 0.3, 0.7])
    js = js_divergence(p, q)
    assert 0 <= js <= math.log(2) and torch.allclose(js, js_divergence(q, p))
    with pytest.raises(ValueError, match="p_g must be non-negative"): optimal_discriminator(torch.ones(2), -torch.ones(2))
    with pytest.raises(TypeError, match="p and q must be torch.Tensors"): js_divergence([0.5, 0.5], q)

# ---------- attention
def test_attention():
    q, k, v = torch.randn(2, 3, 5, 64), torch.randn(2, 3, 7, 64), torch.randn(2, 3, 7, 16)
    out, w = scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5, 16) and w.shape == (2, 3, 5, 7)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=1e-5)
    big = 1e3 * torch.randn(1, 4, 4096)   # large d_k and huge entries: still finite
    o, w = scaled_dot_product_attention(big, big, big[..., :8]); assert torch.isfinite(o).all() and torch.isfinite(w).all()
    m = torch.zeros(5, 7, dtype=torch.bool); m[0, :2] = True
    qg = q.clone().requires_grad_(); o, w = scaled_dot_product_attention(qg, k, v, m); o.sum().backward()
    assert torch.isfinite(o).all() and torch.isfinite(qg.grad).all() and w[..., 1:, :].abs().max() == 0
    with pytest.raises(ValueError, match="k and v must have the same number of positions"): scaled_dot_product_attention(q, k, v[..., :6, :])
    with pytest.raises(TypeError, match="mask must be a bool tensor"): scaled_dot_product_attention(q, k, v, m.float())
    with pytest.raises(ValueError, match="q must have at least 2 dim"): scaled_dot_product_attention(torch.randn(4), k, v)

def test_masks_heads():
    assert causal_mask(4).dtype == torch.bool and causal_mask(4).sum() == 10
    pm = padding_mask(torch.tensor([1, 3]), 3)
    assert pm.shape == (2, 1, 1, 3) and pm.sum() == 4
    with pytest.raises(ValueError, match="T must be a positive int"): causal_mask(0)
    with pytest.raises(TypeError, match="lengths must be a 1-D integer tensor"): padding_mask(torch.tensor([1.0]), 3)
    x = torch.randn(2, 4, 8)
    assert torch.equal(merge_heads(split_heads(x, 2)), x)
    with pytest.raises(ValueError, match="n_head must be a positive int dividing C=8"): split_heads(x, 3)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, C\)"): split_heads(x[0], 2)
    with pytest.raises(ValueError, match=r"x must have shape \(B, n_head, T, head_size\)"): merge_heads(x)

def test_token_metrics():
    logits = torch.randn(2, 6, 5); t = torch.randint(0, 5, (2, 6))
    nll = token_nll(logits, t)
    assert nll.dim() == 0 and torch.allclose(perplexity(nll), nll.exp())
    assert torch.isfinite(token_nll(torch.tensor([[1e4, -1e4]]), torch.tensor([1])))
    assert math.isclose(bits_per_char(math.log(2)), 1.0) and math.isclose(nats_to_bits(2 * math.log(2)), 2.0)
    assert torch.allclose(bits_per_char(torch.tensor(math.log(4))), torch.tensor(2.0))
    with pytest.raises(ValueError, match="targets must lie in"): token_nll(logits, t + 5)
    with pytest.raises(ValueError, match="targets must have shape"): token_nll(logits, t[:, :3])
    with pytest.raises(TypeError, match="x must be a tensor or a number"): nats_to_bits(None)
