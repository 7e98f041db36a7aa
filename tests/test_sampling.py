import pytest
import torch
import torch.nn.functional as F
from aigc_book.sampling import apply_temperature, top_k_filter, top_p_filter, next_token_distribution, sample_next


def g(s): return torch.Generator().manual_seed(s)


def test_temperature_limits_and_validation():
    z = torch.tensor([1.0, 3.0, 2.0])
    assert F.softmax(apply_temperature(z, 1e-4), -1).argmax() == 1
    assert torch.allclose(F.softmax(apply_temperature(z, 1e5), -1), torch.full((3,), 1 / 3), atol=1e-4)
    for bad in (0, -0.5):
        with pytest.raises(ValueError, match="temperature must be > 0"): apply_temperature(z, bad)
    with pytest.raises(TypeError, match="floating-point"): apply_temperature(torch.tensor([1, 2]), 1.0)
    with pytest.raises(TypeError, match="torch.Tensor"): apply_temperature([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="NaN"): apply_temperature(torch.tensor([float("nan"), 1.0]), 1.0)


def test_top_k():
    z = torch.tensor([[0.1, 0.5, 0.2, 0.9]])
    assert torch.isfinite(top_k_filter(z, 2)).tolist() == [[False, True, False, True]]
    assert torch.equal(top_k_filter(z, 4), z)
    with pytest.raises(ValueError, match="top_k must be >= 1"): top_k_filter(z, 0)
    with pytest.raises(TypeError, match="top_k must be an int"): top_k_filter(z, 1.0)


def test_top_p_minimal_nucleus():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    z = probs.log()
    keep = lambda p: torch.isfinite(top_p_filter(z, p)).tolist()
    assert keep(0.5) == [True, False, False, False]      # 0.5 already reaches p
    assert keep(0.51) == [True, True, False, False]
    assert keep(0.8) == [True, True, False, False]
    assert keep(0.81) == [True, True, True, False]
    assert keep(1.0) == [True, True, True, True]
    assert keep(1e-6) == [True, False, False, False]     # the top token is always kept
    # works on unsorted rows too
    perm = torch.tensor([2, 0, 3, 1])
    assert torch.isfinite(top_p_filter(z[perm], 0.6)).tolist() == [False, True, False, True]
    for bad in (0.0, -0.1, 1.01):
        with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"): top_p_filter(z, bad)


def test_sample_next_shapes_support_and_repeatability():
    torch.manual_seed(0)
    z = torch.randn(5, 40)
    assert sample_next(z, generator=g(1)).shape == (5,)
    assert sample_next(z[0], generator=g(1)).shape == ()
    assert sample_next(z, generator=g(1)).dtype == torch.long
    assert torch.equal(sample_next(z, top_p=0.7, generator=g(4)), sample_next(z, top_p=0.7, generator=g(4)))
    assert torch.equal(sample_next(z, temperature=1e-5, generator=g(2)), z.argmax(-1))
    supp = torch.isfinite(top_p_filter(top_k_filter(apply_temperature(z, 0.7), 8), 0.8))
    for s in range(30):
        tok = sample_next(z, temperature=0.7, top_k=8, top_p=0.8, generator=g(s))
        assert supp.gather(1, tok[:, None]).all()
    with pytest.raises(ValueError, match=r"\(V,\) or \(B, V\)"): sample_next(torch.randn(2, 2, 3))


def test_distribution_matches_frequencies():
    torch.manual_seed(1)
    z = torch.randn(20)
    p = next_token_distribution(z, temperature=1.3, top_k=12)
    assert abs(float(p.sum()) - 1) < 1e-6 and int((p > 0).sum()) == 12
    draws = sample_next(z.expand(20000, 20), temperature=1.3, top_k=12, generator=g(0))
    freq = torch.bincount(draws, minlength=20).float() / 20000
    assert (freq - p).abs().max() < 0.015
