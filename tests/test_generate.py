import math, pytest, torch
from aigc_book.generate import sample_prior, lerp, slerp, filter_top, class_conditional
from aigc_book.models.gan import load_pretrained

def test_sample_prior_truncation():
    z = sample_prior(5000, 3, torch.Generator().manual_seed(0), truncation=1.0)
    assert z.shape == (5000, 3) and z.abs().max() <= 1.0
    assert torch.equal(sample_prior(4, 2, torch.Generator().manual_seed(1)), sample_prior(4, 2, torch.Generator().manual_seed(1)))
    for bad in (0, -1.0, "1"):
        with pytest.raises(ValueError, match="truncation"): sample_prior(2, 2, truncation=bad)
    with pytest.raises(ValueError, match="n must be >= 1"): sample_prior(0, 2)

def test_lerp_slerp_properties():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, generator=g), torch.randn(16, generator=g)
    b = b * a.norm() / b.norm()
    for f in (lerp, slerp):
        p = f(a, b, 7)
        assert p.shape == (7, 16) and torch.equal(p[0], a) and torch.equal(p[-1], b)
    assert torch.allclose(slerp(a, b, 7).norm(dim=1), a.norm().expand(7), atol=1e-4)
    assert torch.allclose(lerp(a, b, 5)[2], (a + b) / 2, atol=1e-6)
    # slerp is on the great circle: consecutive angles are equal
    p = slerp(a, b, 5); cos = torch.nn.functional.cosine_similarity(p[:-1], p[1:], dim=1)
    assert torch.allclose(cos, cos[0].expand(4), atol=1e-5)
    with pytest.raises(ValueError, match="same shape"): lerp(a, b[:3], 3)
    with pytest.raises(ValueError, match="steps must be >= 2"): slerp(a, b, 1)
    with pytest.raises(TypeError, match="floating-point"): slerp(torch.arange(3), torch.arange(3), 3)

def test_filter_top_edges():
    x = torch.arange(8.0); s = torch.tensor([0., 7, 1, 6, 2, 5, 3, 4])
    kept, idx = filter_top(x, s, 0.25)
    assert idx.tolist() == [1, 3] and kept.tolist() == [1., 3.]
    assert len(filter_top(x, s, 1.0)[0]) == 8 and len(filter_top(x, s, 1e-6)[0]) == 1
    for bad in (0, 0.0, -0.1, 1.01, True, "half"):
        with pytest.raises(ValueError, match="fraction"): filter_top(x, s, bad)
    with pytest.raises(ValueError, match="scores must have shape"): filter_top(x, s[:3], 0.5)
    with pytest.raises(ValueError, match="NaN"): filter_top(x, s.clone().fill_(float("nan")), 0.5)
    with pytest.raises(ValueError, match="non-empty"): filter_top(x[:0], s[:0], 0.5)

def test_class_conditional():
    imgs, labs = class_conditional(load_pretrained("cgan"), 2, classes=[3, 7], generator=torch.Generator().manual_seed(0))
    assert imgs.shape == (4, 1, 8, 8) and labs.tolist() == [3, 3, 7, 7]
    with pytest.raises(ValueError, match="class-conditional"): class_conditional(load_pretrained("dcgan"), 2)
    with pytest.raises(ValueError, match="classes"): class_conditional(load_pretrained("cgan"), 2, classes=[12])

def test_class_conditional_vae():
    "A conditional VAE samples without a truncation argument; class_conditional must not pass one."
    from aigc_book.models.vae import load_pretrained as load_vae
    imgs, labs = class_conditional(load_vae("cvae"), 3, classes=[1, 4], generator=torch.Generator().manual_seed(0))
    assert imgs.shape == (6, 1, 8, 8) and labs.tolist() == [1, 1, 1, 4, 4, 4]
