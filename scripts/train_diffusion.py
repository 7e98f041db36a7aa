"""Reproduce aigc_book/weights/diffusion.pt: chapter 29's diffusion model and its measurements.

Trains `aigc_book.models.diffusion.train_diffusion` with the recipe `PRETRAINED["diffusion"]`
(148k-parameter U-Net, cosine schedule, T = 1000, label dropout 0.1, AdamW 1e-3 with cosine decay, batch
128, EMA 0.999, 12,000 steps) on the digits' training split. Every `--eval-every` steps it measures the EMA
model (DDIM 20, seed 0, w = 0 and 0.5). After training it measures the EMA model with chapter 28's protocol
(539 samples per seed, seeds 0, 1, 2, labels i mod 10, reference = the training digits) against the sampler
(ancestral 1000/250/100, DDIM 100/50/20/10) and the guidance scale, and stores all of it in the checkpoint's
`meta["results"]`, which chapter 29 prints and plots (the 1000-step sampler is too slow to run inside the
chapter on a CPU).

    python scripts/train_diffusion.py [--steps 12000] [--seed 0] [--out aigc_book/weights/diffusion.pt]
                                      [--device cpu|cuda] [--threads 1] [--eval-every 2000] [--no-results]

Time (CPU, one thread): on a shared, loaded 2-core machine the shipped file took 17 minutes of training (the
six evaluations included) and 6 minutes of measuring; a free core is faster. It also runs on CUDA (`--device
cuda`; not timed here). On the CPU with one thread the run is deterministic: two runs wrote bit-identical
weights and measurements. On CUDA expect slightly different numbers (floating-point reductions differ
between devices).
"""
import argparse, json, time
from dataclasses import asdict
from pathlib import Path
import torch
from aigc_book.core import get_device, save_checkpoint
from aigc_book.data import load_digits
from aigc_book.evaluate import features, frechet_distance, precision_recall, class_fidelity, memorisation
from aigc_book.models.diffusion import PRETRAINED, train_diffusion

SEEDS = (0, 1, 2)
STEP_GRID = {"ancestral 1000": (1000, 1.0), "ancestral 250": (250, 1.0), "ancestral 100": (100, 1.0),
             "DDIM 100": (100, 0.0), "DDIM 50": (50, 0.0), "DDIM 20": (20, 0.0), "DDIM 10": (10, 0.0)}
GUIDANCE_GRID = (-1.0, 0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


def measure(model, real_f, x_tr, x_held, seeds=SEEDS, **kw):
    "Chapter 28's metrics for `model.sample(539, labels, **kw)`, one list entry per seed."
    M = len(x_held); labels = torch.arange(M) % 10
    out = {k: [] for k in ("fid", "precision", "recall", "class_fidelity", "mem_ratio", "near_copy")}
    for seed in seeds:
        s = model.sample(M, labels, generator=torch.Generator().manual_seed(seed), **kw).cpu()
        f = features(s); pr = precision_recall(real_f, f); mem = memorisation(s, x_tr, x_held)
        values = {"fid": frechet_distance(real_f, f), "precision": pr["precision"], "recall": pr["recall"],
                  "class_fidelity": class_fidelity(s, labels), "mem_ratio": mem["ratio"],
                  "near_copy": mem["near_copy_rate"]}
        for k, v in values.items():
            out[k].append(round(float(v), 4))
    return out


def main(argv=None):
    recipe = dict(PRETRAINED["diffusion"])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=recipe["steps"])
    ap.add_argument("--seed", type=int, default=recipe["seed"])
    default_out = Path(__file__).resolve().parents[1] / "aigc_book" / "weights" / "diffusion.pt"
    ap.add_argument("--out", default=str(default_out))
    ap.add_argument("--device", default=None, help="default: aigc_book.core.get_device()")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=2000)
    ap.add_argument("--no-results", action="store_true", help="skip measuring the curves")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    dev = get_device(a.device)
    recipe.update(steps=a.steps, seed=a.seed)
    x_tr, _ = load_digits("train")
    x_held = torch.cat([load_digits("val")[0], load_digits("test")[0]])
    real_f = features(x_tr)
    t0 = time.time()

    trace = []   # FID etc. of the EMA model every --eval-every steps (DDIM 20, seed 0, w = 0 and 0.5)

    def on_step(step, ema):
        if a.eval_every and (step % a.eval_every == 0 or step == a.steps):
            row = {"step": step}
            for w in (0.0, 0.5):
                m = measure(ema, real_f, x_tr, x_held, seeds=(0,), steps=20, guidance=w)
                row[str(w)] = {k: round(v[0], 2) for k, v in m.items()}
            trace.append(row)
            print(json.dumps({**row, "sec": round(time.time() - t0)}), flush=True)

    ema, _, hist = train_diffusion(**recipe, device=dev, on_step=on_step, progress=False)
    train_s = time.time() - t0
    print(f"trained {a.steps} steps on {dev} in {train_s:.0f} s; final loss (mean of last 500) "
          f"{sum(hist.train['loss'][-500:]) / len(hist.train['loss'][-500:]):.4f}", flush=True)
    results = {"seeds": list(SEEDS), "device": str(dev), "train_seconds": round(train_s), "training": trace}
    if not a.no_results:
        t1 = time.time()
        results["steps"] = {name: measure(ema, real_f, x_tr, x_held, steps=n, eta=eta)
                            for name, (n, eta) in STEP_GRID.items()}
        results["guidance"] = {str(w): measure(ema, real_f, x_tr, x_held, steps=20, guidance=w)
                               for w in GUIDANCE_GRID}
        rows = {**results["steps"], **{f"w = {w}": r for w, r in results["guidance"].items()}}
        for name, r in rows.items():
            fid, cf, mem = (sum(r[k]) / len(r[k]) for k in ("fid", "class_fidelity", "mem_ratio"))
            print(f"{name:>15}: FID {fid:6.2f}  class fidelity {cf:.3f}  memorisation {mem:.2f}", flush=True)
        print(f"measured in {time.time() - t1:.0f} s", flush=True)
    cfg = recipe.pop("cfg")
    meta = {"config": asdict(cfg), "recipe": recipe, "results": results}
    save_checkpoint(a.out, ema, step=a.steps, meta=meta)
    print(f"wrote {a.out} ({Path(a.out).stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
