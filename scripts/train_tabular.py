"""Recreate the shipped files of chapter 41 (synthetic tabular data):

- aigc_book/weights/tabular_cvae.pt: one `TabularCVAE` state_dict per seed 0..4, trained 3,000 steps on the
  imbalanced training split of that seed (`imbalanced_split(fair_table(), ..., seed=seed)`).
- aigc_book/weights/tabular_ctgan.pt: CTGAN (the `ctgan` package, default settings, 300 epochs, CPU) fit
  on the same split; rows sampled with `condition_column=affair`, stored as int16 hundredths. CTGAN's
  conditional sampling does not guarantee the label, so rows whose generated label differs from the asked one
  are dropped here and the counts are stored (`asked_*`, `kept_*`).

Run from the repository root: `python scripts/train_tabular.py` (CPU, one thread; about 10 minutes).
`--only cvae` or `--only ctgan` recreates one file; `--out DIR` writes elsewhere (to compare with the
shipped files).
"""
import argparse
import time
import warnings
from pathlib import Path
import pandas as pd
import torch
import aigc_book
from aigc_book.core import seed_everything
from aigc_book.cases.tabular import FAIR_CAT, FAIR_NUM, FAIR_TARGET, fair_table, imbalanced_split, train_cvae

SEEDS = (0, 1, 2, 3, 4)
MINORITY_SHARE, TEST_SIZE = 0.08, 0.3         # the chapter's split
CVAE = {"hidden": 64, "latent_dim": 4, "steps": 3000}
CTGAN_EPOCHS, KEEP, BATCH = 300, 3600, 4000    # epochs; rows kept per class; rows asked per sampling call
WEIGHTS = Path(aigc_book.__file__).resolve().parent / "weights"


def split(seed):
    train, _ = imbalanced_split(fair_table(), FAIR_TARGET, MINORITY_SHARE, TEST_SIZE, seed=seed)
    return train


def make_cvae(out: Path):
    state = {"config": dict(CVAE)}
    for seed in SEEDS:
        seed_everything(seed)
        model, _, hist = train_cvae(split(seed), FAIR_TARGET, FAIR_NUM, FAIR_CAT, steps=CVAE["steps"],
                                    hidden=CVAE["hidden"], latent_dim=CVAE["latent_dim"], seed=seed,
                                    progress=False)
        state[f"seed{seed}"] = model.state_dict()
        print(f"CVAE seed {seed}: final loss {hist.train['loss'][-1]:.3f} nats/row")
    torch.save(state, out / "tabular_cvae.pt")


def make_ctgan(out: Path):
    from ctgan import CTGAN
    cols = FAIR_NUM + FAIR_CAT
    state = {"columns": cols, "target": FAIR_TARGET, "scale": 100, "epochs": CTGAN_EPOCHS}
    for seed in SEEDS:
        seed_everything(seed)
        train = split(seed)[cols + [FAIR_TARGET]]
        model = CTGAN(epochs=CTGAN_EPOCHS, enable_gpu=False)
        model.set_random_state(seed)
        t0 = time.process_time()
        model.fit(train, discrete_columns=FAIR_CAT + [FAIR_TARGET])
        entry = {"fit_cpu_s": round(time.process_time() - t0, 1)}
        for label, part in ((1, "minority"), (0, "majority")):
            kept, asked = [], 0
            while sum(len(k) for k in kept) < KEEP:
                rows = model.sample(BATCH, condition_column=FAIR_TARGET, condition_value=label)
                asked += BATCH
                kept.append(rows[rows[FAIR_TARGET] == label])
            rows = torch.tensor(pd.concat(kept)[cols].to_numpy(dtype=float)[:KEEP])
            entry[part] = (rows * state["scale"]).round().clamp(-32768, 32767).to(torch.int16)
            entry[f"asked_{part}"], entry[f"kept_{part}"] = asked, sum(len(k) for k in kept)
        state[f"seed{seed}"] = entry
        kept = {p: f"{entry[f'kept_{p}']}/{entry[f'asked_{p}']}" for p in ("minority", "majority")}
        print(f"CTGAN seed {seed}: fit {entry['fit_cpu_s']} CPU s; rows with the asked label {kept}")
    torch.save(state, out / "tabular_ctgan.pt")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["cvae", "ctgan"], default=None)
    p.add_argument("--out", type=Path, default=WEIGHTS, help="folder for the .pt files")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)
    if args.only in (None, "cvae"):
        make_cvae(args.out)
    if args.only in (None, "ctgan"):
        make_ctgan(args.out)
