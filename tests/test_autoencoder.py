import pytest, torch
from aigc_book.core import save_checkpoint, load_checkpoint, seed_everything
from aigc_book.models.autoencoder import AEConfig, AutoEncoder, Encoder, Decoder, check_images, load_pretrained

SHAPES = [(1, 8, "mlp"), (1, 28, "mlp"), (1, 28, "conv"), (3, 32, "conv"), (3, 32, "mlp")]

@pytest.mark.parametrize("C,S,arch", SHAPES)
def test_forward_shape_and_finite_loss(C, S, arch):
    seed_everything(0)
    m = AutoEncoder(in_channels=C, image_size=S, arch=arch, latent_dim=4)
    x = torch.rand(3, C, S, S)
    assert m(x).shape == x.shape
    assert torch.isfinite(m.loss(x))
    s = m.sample(2, prior="standard")
    assert s.shape == (2, C, S, S) and s.min() >= 0 and s.max() <= 1

def test_bad_input_names_expected_shape():
    m = AutoEncoder(in_channels=3, image_size=32, arch="conv")
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\)"): m(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\)"): m(torch.rand(3, 32, 32))
    with pytest.raises(TypeError, match="floating-point"): m(torch.zeros(2, 3, 32, 32, dtype=torch.long))
    with pytest.raises(ValueError, match="latent_dim"): m.decode(torch.randn(2, 5))
    with pytest.raises(ValueError, match="cfg.image_size"): AutoEncoder(image_size=2)
    with pytest.raises(ValueError, match="cfg.arch"): AutoEncoder(arch="rnn")
    with pytest.raises(ValueError, match="unconditional"): m.sample(2, labels=torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="n must be"): m.sample(0)

def test_condition_vector_blocks():
    c = AEConfig(arch="conv", image_size=28)
    h = Encoder(c, 6, cond_dim=10)(torch.rand(2, 1, 28, 28), torch.zeros(2, 10))
    assert Decoder(c, 6, cond_dim=10)(h, torch.zeros(2, 10)).shape == (2, 1, 28, 28)

def test_fit_code_gaussian_and_checkpoint_roundtrip(tmp_path):
    seed_everything(0)
    m = AutoEncoder(latent_dim=3); x = torch.rand(50, 1, 8, 8)
    mean, cov = m.fit_code_gaussian(x)
    assert mean.shape == (3,) and cov.shape == (3, 3)
    p = save_checkpoint(tmp_path / "ae.pt", m, step=1)
    m2 = AutoEncoder(latent_dim=3); load_checkpoint(p, m2)
    assert torch.equal(m2.code_chol, m.code_chol)
    g = lambda: torch.Generator().manual_seed(0)
    assert torch.allclose(m.sample(4, generator=g()), m2.sample(4, generator=g()))

def test_pretrained_loads():
    m = load_pretrained("ae")
    assert not m.training and m.sample(3).shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match="must be one of"): load_pretrained("xyz")
