import pytest, torch
from aigc_book.models.toy_gan import (ring_of_gaussians, grid_of_gaussians, sample_mixture, modes_covered,
                                      high_quality_fraction, ToyGANConfig, train_toy_gan, mlp)

def test_data_and_metrics():
    c = ring_of_gaussians(8, 2.0)
    x = sample_mixture(c, 1000, 0.05, torch.Generator().manual_seed(0))
    assert modes_covered(x, c, 0.15) == 8 and high_quality_fraction(x, c, 0.15) > 0.95
    one = c[:1].repeat(50, 1)
    assert modes_covered(one, c, 0.15) == 1 and high_quality_fraction(one, c, 0.15) == 1.0
    assert modes_covered(one, c, 0.15, min_count=51) == 0
    assert grid_of_gaussians(5, 1.0).shape == (25, 2)

def test_bad_inputs():
    c = ring_of_gaussians()
    with pytest.raises(ValueError, match="radius"): modes_covered(c, c, -1)
    with pytest.raises(ValueError, match=r"samples must have shape \(N, 2\)"): high_quality_fraction(torch.zeros(3, 3), c, 0.1)
    with pytest.raises(TypeError, match="samples must be a torch.Tensor"): modes_covered([[0, 0]], c, 0.1)
    with pytest.raises(ValueError, match="n_modes"): ring_of_gaussians(0)
    with pytest.raises(ValueError, match="lr_g"): ToyGANConfig(lr_g=0)
    with pytest.raises(ValueError, match="min_count"): modes_covered(c, c, 0.1, min_count=0)

def test_short_training_is_seeded():
    c = ring_of_gaussians()
    runs = [train_toy_gan(c, ToyGANConfig(hidden=16), steps=20, seed=3, snapshot_every=10) for _ in range(2)]
    z = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(): assert torch.equal(runs[0][0](z), runs[1][0](z))
    assert sorted(runs[0][3]) == [1, 10, 20] and len(runs[0][2].train["d"]) == 20
    assert mlp(2, 1, 8, 2)(torch.zeros(4, 2)).shape == (4, 1)
