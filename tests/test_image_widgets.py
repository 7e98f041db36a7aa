import numpy as np, pytest, torch
from aigc_book.widgets.image import (image_grid, vae_decode_point, vae_latent_grid, interpolate_digits, conditional_samples,
                                     truncation_samples, latent_sliders_widget, conditional_widget, truncation_widget,
                                     latent_grid_widget, interpolation_widget)
from aigc_book.models import vae as vae_mod, gan as gan_mod

@pytest.fixture(scope="module")
def models():
    return vae_mod.load_pretrained("vae"), gan_mod.load_pretrained("cgan"), gan_mod.load_pretrained("dcgan")

def test_image_grid():
    g = image_grid(torch.rand(5, 1, 8, 8), nrow=3, pad=1)
    assert g.shape == (17, 26) and g.dtype == np.float32 and 0 <= g.min() and g.max() <= 1
    with pytest.raises(ValueError, match="nrow"): image_grid(torch.rand(2, 1, 8, 8), nrow=0)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"): image_grid(torch.rand(0, 1, 8, 8))

def test_vae_updates(models):
    vae = models[0]; d = vae.cfg.latent_dim
    assert vae_decode_point(vae, np.zeros(d)).shape == (8, 8)
    assert vae_latent_grid(vae, (2, 5), n=4, span=1.0).shape == (32, 32)
    x = torch.rand(3, 1, 8, 8)
    assert interpolate_digits(vae, x, 0, 2, steps=5, method="lerp").shape == (8, 40)
    with pytest.raises(ValueError, match="method"): interpolate_digits(vae, x, 0, 1, method="cubic")
    with pytest.raises(ValueError, match="i must be an index"): interpolate_digits(vae, x, -1, 1)
    with pytest.raises(ValueError, match="base"): vae_latent_grid(vae, base=[0.0])

def test_generator_updates(models):
    _, cgan, dcgan = models
    a = conditional_samples(cgan, 7, n=4, seed=5, truncation=0.8)
    assert a.shape == (8, 35) and np.array_equal(a, conditional_samples(cgan, 7, n=4, seed=5, truncation=0.8))
    assert truncation_samples(dcgan, 0.5, n=6, nrow=3).shape == (17, 26)
    assert truncation_samples(cgan, None, n=4).shape == (8, 35)
    with pytest.raises(ValueError, match="seed"): truncation_samples(dcgan, None, seed=-2)
    with pytest.raises(ValueError, match="digit"): conditional_samples(cgan, -1)

def test_widgets_build_and_update(models):
    vae, cgan, dcgan = models
    for w in (latent_sliders_widget(vae), latent_grid_widget(vae), interpolation_widget(vae, torch.rand(4, 1, 8, 8)),
              conditional_widget(cgan), truncation_widget(dcgan)):
        first = next(iter(w.controls.values()))
        assert isinstance(w.update(**{k: c.value for k, c in w.controls.items()}), np.ndarray)
    w = conditional_widget(cgan); w.controls["digit"].value = 4   # triggers the callback without a browser
