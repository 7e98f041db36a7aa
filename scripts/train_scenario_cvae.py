"""Reproduce aigc_book/weights/scenario_cvae.pt: the conditional VAEs of market scenarios of chapter 42.

Usage: python scripts/train_scenario_cvae.py
Trains `ScenarioCVAE` (CVAE_CONFIG) with `train_scenario_cvae` for seeds 0-4 on two fit periods:
1999-2012 (the models the chapter backtests on 2013-2018) and 1999-2009 (used only to calibrate the
scenario spread on 2010-2012). One CPU thread and fixed seeds, so every run writes the same weights;
about a minute of CPU.
"""
from pathlib import Path
import torch
from aigc_book.cases.scenarios import load_returns, train_scenario_cvae, CVAE_CONFIG

OUT = Path(__file__).resolve().parent.parent / "aigc_book" / "weights" / "scenario_cvae.pt"
SEEDS = range(5)
STEPS = 2000

if __name__ == "__main__":
    torch.set_num_threads(1)
    R = load_returns()
    r = R.to_numpy()
    fits = {"2012": int((R.index.year <= 2012).sum()), "2009": int((R.index.year <= 2009).sum())}
    out = {"config": dict(CVAE_CONFIG), "fits": {}}
    for fit, end in fits.items():
        out["fits"][fit] = []
        for seed in SEEDS:
            model, hist = train_scenario_cvae(r, end, seed=seed, steps=STEPS, progress=False)
            recon, kl = hist.train["recon"][-1], hist.train["kl"][-1]
            print(f"fit 1999-{fit}, seed {seed}: recon {recon:.2f}, kl {kl:.3f}")
            out["fits"][fit].append({k: v.detach().clone() for k, v in model.state_dict().items()})
    torch.save(out, OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB)")
