import pytest, torch
from aigc_book.core import save_checkpoint, load_checkpoint, CheckpointError
from aigc_book.models.gan import GANConfig, Generator, Discriminator, gan_step, train_gan, load_pretrained, PRETRAINED

@pytest.mark.parametrize("cfg", [GANConfig(), GANConfig(in_channels=1, image_size=28), GANConfig(in_channels=3, image_size=32, n_classes=4),
                                 GANConfig(in_channels=3, image_size=32, d_norm="none")])
def test_shapes_other_sizes(cfg):
    G, D = Generator(cfg), Discriminator(cfg)
    lab = torch.tensor([0, 1, 2]) if cfg.n_classes else None
    x = G(torch.randn(3, cfg.z_dim), lab)
    assert x.shape == (3, cfg.in_channels, cfg.image_size, cfg.image_size) and x.abs().max() <= 1
    assert D(x, lab).shape == (3,)
    s = G.sample(2, labels=None if lab is None else lab[:2], generator=torch.Generator().manual_seed(0), truncation=0.7)
    assert s.shape == (2, cfg.in_channels, cfg.image_size, cfg.image_size) and 0 <= s.min() and s.max() <= 1

def test_one_training_step_on_random_batches():
    for cfg, loss in ((GANConfig(in_channels=1, image_size=28), "gan"), (GANConfig(in_channels=3, image_size=32, d_norm="none"), "wgan_gp")):
        G, D = Generator(cfg), Discriminator(cfg)
        step = gan_step(G, D, torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters()), loss, generator=torch.Generator().manual_seed(0))
        x = torch.rand(4, cfg.in_channels, cfg.image_size, cfg.image_size) * 2 - 1
        logs = step((x, torch.zeros(4, dtype=torch.long)))
        assert set(logs) == {"d", "g"} and all(torch.isfinite(torch.tensor(v)) for v in logs.values())

def test_bad_inputs():
    D = Discriminator()
    with pytest.raises(ValueError, match=r"got \(2, 3, 8, 8\)"): D(torch.randn(2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(B, 1, 8, 8\)"): D(torch.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match="z_dim=32"): Generator()(torch.randn(2, 5))
    with pytest.raises(ValueError, match="multiple of 4"): GANConfig(image_size=30)
    with pytest.raises(ValueError, match="d_norm"): GANConfig(d_norm="layer")
    with pytest.raises(ValueError, match="labels are required"): Generator(GANConfig(n_classes=3))(torch.randn(2, 32))
    with pytest.raises(TypeError, match="LongTensor"): Generator(GANConfig(n_classes=3))(torch.randn(2, 32), torch.zeros(2))
    with pytest.raises(ValueError, match="without BatchNorm"):
        gan_step(Generator(), D, torch.optim.Adam(D.parameters()), torch.optim.Adam(D.parameters()), "wgan_gp")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"): train_gan(steps=1, data=(torch.rand(10, 1, 8, 8) * 3, torch.zeros(10, dtype=torch.long)), progress=False)

def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    G, D = Generator(GANConfig(n_classes=10)), Discriminator(GANConfig(n_classes=10))
    save_checkpoint(tmp_path / "g.pt", {"G": G, "D": D}, step=3)
    G2, D2 = Generator(GANConfig(n_classes=10)), Discriminator(GANConfig(n_classes=10))
    assert load_checkpoint(tmp_path / "g.pt", {"G": G2, "D": D2})["step"] == 3
    lab = torch.arange(4)
    assert torch.equal(G.sample(4, lab, torch.Generator().manual_seed(1)), G2.sample(4, lab, torch.Generator().manual_seed(1)))
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_checkpoint(tmp_path / "g.pt", {"G": Generator(GANConfig(n_classes=10, width=8)), "D": D2})

def test_load_pretrained_contract():
    for name in PRETRAINED:
        G = load_pretrained(name)
        assert not G.training
        lab = torch.arange(5) if name == "cgan" else None
        x = G.sample(5, labels=lab, generator=torch.Generator().manual_seed(0))
        assert x.shape == (5, 1, 8, 8) and 0 <= x.min() and x.max() <= 1
        assert torch.equal(x, G.sample(5, labels=lab, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="dcgan"): load_pretrained("nope")
    with pytest.raises(ValueError, match="labels are required"): load_pretrained("cgan").sample(2)

def test_weights_small():
    import aigc_book, pathlib
    for name in PRETRAINED:
        assert (pathlib.Path(aigc_book.__file__).parent / "weights" / f"{name}.pt").stat().st_size < 2_000_000
