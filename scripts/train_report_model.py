"""Reproduce aigc_book/weights/report_gpt.pt (the market-report GPT of nbs/45_market_reports.ipynb).

Usage: .venv/bin/python scripts/train_report_model.py [--steps 1500] [--out aigc_book/weights/report_gpt.pt]
Trains on the S&P 500 and Nasdaq days of 2000-2012 (four template paraphrases per day), tests on 2013-2018.
Seeded and single-threaded: the same torch version on a CPU gives the same weights. About 7 CPU-minutes.
"""
import argparse
from functools import partial
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from aigc_book.core import seed_everything
from aigc_book.data import load_table, batch_fn
from aigc_book.models.gpt import GPT, GPTConfig
from aigc_book.train import fit, make_step, make_optimizer, cosine_lr
from aigc_book.cases.reports import (daily_records, write_reports, ReportTokenizer, encode_pairs, report_loss,
                                     generate_reports, check_report, is_true, REPORT_CONFIG)

PARAPHRASES = 4   # template wordings per training day
BATCH_SIZE = 64
LR = 3e-3


def main(steps: int, out: Path):
    torch.set_num_threads(1)
    seed_everything(0)
    records = pd.concat([daily_records(load_table("sp500"), "S&P 500"),
                         daily_records(load_table("nasdaq"), "Nasdaq Composite")], ignore_index=True)
    train = records[records.date < "2013-01-01"].reset_index(drop=True)
    test = records[records.date >= "2013-01-01"].reset_index(drop=True)
    tok = ReportTokenizer.default()
    pairs = [encode_pairs(tok, train, write_reports(train, seed=100 + k)) for k in range(PARAPHRASES)]
    X, Y = torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])
    cfg = GPTConfig(vocab_size=tok.vocab_size, **REPORT_CONFIG)
    model = GPT(cfg)
    opt = make_optimizer(model, lr=LR, weight_decay=0.01)
    step = make_step(model, opt, report_loss, clip=1.0)
    lr_fn = partial(cosine_lr, lr=LR, total=steps, warmup=50, min_lr=1e-4)
    batches = batch_fn(X, Y, batch_size=BATCH_SIZE, seed=0)
    hist = fit(step, batches, steps, models=model, optimizers=opt, lr_fn=lr_fn)
    model.eval()
    sub = test.sample(1000, random_state=0).to_dict("records")
    texts = generate_reports(model, tok, sub)
    err = np.mean([not is_true(check_report(t, r)) for t, r in zip(texts, sub)])
    print(f"final train loss {np.mean(hist.train['loss'][-50:]):.4f}; greedy reports with a false or "
          f"missing claim on 1000 test days: {err:.3f}; {hist.seconds:.0f} s")
    sd = {k: v.half() for k, v in model.state_dict().items() if k != "lm_head.weight"}   # tied to wte
    out.parent.mkdir(parents=True, exist_ok=True)
    config = {"vocab_size": cfg.vocab_size, **REPORT_CONFIG}
    torch.save({"model": sd, "config": config, "vocab": tok.itos}, out)
    print(f"saved {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parents[1] / "aigc_book/weights/report_gpt.pt")
    a = ap.parse_args()
    main(a.steps, a.out)
