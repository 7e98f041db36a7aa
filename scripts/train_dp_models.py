"""Train the VAEs of chapter 51 (differential privacy) and write `aigc_book/weights/dp_vaes.pt`.

For every level of `DP_LEVELS` (non-private, clipping only, σ = 0.3, and the σ that reach ε = 50, 8, 2, 0.5 at
δ = 1e-5) and every seed of `DP_SEEDS`, train the book's MLP VAE (hidden 64, latent 8) on the 100 member
images of that seed (`member_split(y, 10, seed)` of the digits' train split) with `train_dp_vae` and the settings of
`DP_RECIPE`: Adam 2e-3, expected batch 50 (Poisson rate q = 0.5 under DP-SGD), 2,000 steps, clip norm C = 1.
Opacus does the per-sample clipping, the noise and the accounting.

Run: `python scripts/train_dp_models.py` (44 minutes measured on a shared, busy 2-core CPU with one thread:
30 private models of 10 s to 4 min each, 5 non-private ones of about 10 s). On CPU with one thread (the script
sets it) the file reproduces bit-identically: every random draw (initial weights, Poisson batches, noise,
reparameterisation) comes from a seeded generator. Saved with `aigc_book.core.save_checkpoint`; load with
`aigc_book.responsible.privacy.load_dp_vaes`. The file is 2.7 MB (35 state dicts of 18,256 parameters).
"""
import argparse
import time
from pathlib import Path
import torch
from tqdm.auto import tqdm
from aigc_book.core import save_checkpoint
from aigc_book.data import load_digits
from aigc_book.responsible.privacy import (DP_DELTA, DP_LEVELS, DP_RECIPE, DP_SEEDS, _key, epsilon_for,
                                           member_split, train_dp_vae)

OUT = Path(__file__).resolve().parents[1] / "aigc_book" / "weights" / "dp_vaes.pt"


def main(out: Path = OUT):
    torch.set_num_threads(1)
    x, y = load_digits("train")
    recipe = {k: v for k, v in DP_RECIPE.items() if k != "per_class"}
    models, meta = {}, {"recipe": dict(DP_RECIPE), "delta": DP_DELTA, "levels": list(DP_LEVELS),
                        "seeds": list(DP_SEEDS), "noise_multiplier": {}, "epsilon": {}, "final_loss": {}}
    for level in tqdm(DP_LEVELS, desc="levels"):
        sigma = DP_LEVELS[level]
        rate = DP_RECIPE["batch_size"] / (10 * DP_RECIPE["per_class"])
        eps = float("inf") if not sigma else epsilon_for(sigma, rate, DP_RECIPE["steps"], DP_DELTA)
        meta["noise_multiplier"][level] = -1.0 if sigma is None else sigma     # -1: no DP-SGD at all
        meta["epsilon"][level] = eps
        for seed in DP_SEEDS:
            t0 = time.time()
            members, _ = member_split(y, DP_RECIPE["per_class"], seed=seed)
            model, info = train_dp_vae(x[members], sigma, **recipe, seed=seed)
            if sigma is not None and abs(info["sample_rate"] - rate) > 1e-12:
                raise RuntimeError(f"Opacus sampled at q={info['sample_rate']}, expected {rate}")
            models[_key(level, seed)] = model
            meta["final_loss"][_key(level, seed)] = sum(info["loss"][-100:]) / 100
            loss = meta["final_loss"][_key(level, seed)]
            print(f"{level:12s} seed {seed}: σ={sigma}, ε={eps:.4g}, final loss {loss:.2f}, "
                  f"{time.time() - t0:.0f} s", flush=True)
    save_checkpoint(out, models, meta=meta)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    main(ap.parse_args().out)
