"""Reproduce aigc_book/weights/gan_audit_pairs.pt: GAN generator + discriminator pairs for chapter 50's audit.

Usage: python scripts/train_gan_audit_pairs.py [name ...]   (names: dcgan cgan wgan_gp; default all three)
The book ships only the GAN generators (scripts/train_gans.py); a white-box membership attack also needs the
discriminator trained with them. This script re-runs `aigc_book.models.gan.train_gan` with the shipped recipes
(`gan.PRETRAINED`: same code, seed, steps and data) and keeps both networks. On this machine (torch 2.13, CPU,
one thread) the re-run does not reproduce the shipped generator bit for bit -- GAN training amplifies last-bit
floating-point differences -- so the pairs are independent re-runs of the same recipe; chapter 50 says so.
Saved with `aigc_book.core.save_checkpoint` as models {'dcgan_G', 'dcgan_D', ...}; read with `load_checkpoint`
into `gan.Generator(cfg)` / `gan.Discriminator(cfg)` built from the recipe's config.
Took 1.5 to 3 minutes per model on one core of a busy 2-core CPU; the dcgan pair was reproduced bit-identically
by a second run on the same CPU and torch build with one thread.
"""
import sys
import time
from pathlib import Path
import torch
from aigc_book.core import save_checkpoint
from aigc_book.models.gan import PRETRAINED, train_gan

OUT = Path(__file__).resolve().parent.parent / "aigc_book" / "weights" / "gan_audit_pairs.pt"


def main(names):
    torch.set_num_threads(1)   # bitwise reproducible CPU results
    models = {}
    for name in names:
        if name not in PRETRAINED:
            raise SystemExit(f"unknown name {name!r}; choose from {sorted(PRETRAINED)}")
        t0 = time.time()
        G, D, _ = train_gan(progress=False, **PRETRAINED[name])
        models[f"{name}_G"], models[f"{name}_D"] = G.eval(), D.eval()
        print(f"{name}: {PRETRAINED[name]['steps']} steps in {time.time() - t0:.0f} s")
    save_checkpoint(OUT, models, meta={"recipes": "aigc_book.models.gan.PRETRAINED", "names": list(names)})
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(sys.argv[1:] or list(PRETRAINED))
