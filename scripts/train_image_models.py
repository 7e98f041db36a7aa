"""Reproduce the shipped image-model weights in aigc_book/weights/ (seeded; CPU, a few minutes).

Usage: python scripts/train_image_models.py [name ...]   (names: digit_classifier ae vae beta_vae cvae; default all)
Each model is trained from `seed_everything(0)` with the settings below, on one CPU thread (so the floating-point
reductions, and hence the weights, are the same on every run), and saved as a plain state_dict.
"""
import sys
from functools import partial
from pathlib import Path
import torch
from aigc_book.core import seed_everything
from aigc_book.data import load_digits, batch_fn
from aigc_book.train import fit, make_step, make_optimizer, cosine_lr
from aigc_book.evaluate import train_digit_classifier
from aigc_book.models import autoencoder, vae as vae_mod

OUT = Path(__file__).resolve().parent.parent / "aigc_book" / "weights"
STEPS = {"digit_classifier": 1500, "ae": 5000, "vae": 6000, "beta_vae": 6000, "cvae": 6000}

def _train(model, loss_fn, steps, lr=2e-3, batch_size=128, seed=0):
    x, y = load_digits("train")
    opt = make_optimizer(model, lr=lr)
    fit(make_step(model, opt, loss_fn), batch_fn(x, y, batch_size=batch_size, seed=seed), steps, models=model,
        optimizers=opt, lr_fn=partial(cosine_lr, lr=lr, total=steps, warmup=steps // 20), progress=False)
    return model.eval()

def build(name):
    seed_everything(0)
    if name == "digit_classifier":
        return train_digit_classifier(steps=STEPS[name], seed=0, progress=False)[0]
    if name == "ae":
        m = _train(autoencoder.AutoEncoder(**autoencoder.PRETRAINED[name]), lambda m, b: m.loss(b[0]), STEPS[name])
        m.fit_code_gaussian(load_digits("train")[0])
        return m
    m = vae_mod.VAE(**vae_mod.PRETRAINED[name])
    return _train(m, lambda m, b: m.loss(b[0], b[1] if m.cfg.n_classes else None), STEPS[name])

if __name__ == "__main__":
    torch.set_num_threads(1)
    names = sys.argv[1:] or list(STEPS)
    OUT.mkdir(exist_ok=True)
    for name in names:
        if name not in STEPS: raise SystemExit(f"unknown model {name!r}; choose from {list(STEPS)}")
        model = build(name)
        path = OUT / f"{name}.pt"
        torch.save(model.state_dict(), path)
        print(f"{name}: {path.stat().st_size / 1e6:.2f} MB -> {path}")
