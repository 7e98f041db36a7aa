"""Reproduce the shipped GAN generators: aigc_book/weights/{dcgan,cgan,wgan_gp}.pt.

Usage: python scripts/train_gans.py [name ...]   (default: all three)
Runs `aigc_book.models.gan.train_gan` with the recipes in `PRETRAINED`, on the CPU with one thread, so a re-run on
the same machine reproduces its own weights bit for bit. Across CPU models (and torch versions) GAN training is
not bit-identical: a re-run with torch 2.13 on an AMD EPYC CPU gave DCGAN samples differing from the shipped ones by
0.03 on average (same recipe, same quality). Takes a few minutes per model on one core.
"""
import sys, time
from pathlib import Path
import torch
from aigc_book.models.gan import PRETRAINED, train_gan

def main(names):
    torch.set_num_threads(1)   # bitwise reproducible CPU results
    out = Path(__file__).resolve().parent.parent / "aigc_book" / "weights"; out.mkdir(exist_ok=True)
    for name in names:
        if name not in PRETRAINED: raise SystemExit(f"unknown name {name!r}; choose from {sorted(PRETRAINED)}")
        t0 = time.time()
        G, _, hist = train_gan(progress=False, **PRETRAINED[name])
        torch.save(G.state_dict(), out / f"{name}.pt")
        print(f"{name}: {PRETRAINED[name]['steps']} steps in {time.time() - t0:.0f} s -> {out / (name + '.pt')}")

if __name__ == "__main__":
    main(sys.argv[1:] or list(PRETRAINED))
