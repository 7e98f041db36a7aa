"""Reproduce aigc_book/weights/date_transformer.pt (the date-normalisation Transformer of nbs/31_transformer.ipynb).

Usage: .venv/bin/python scripts/train_date_transformer.py [--steps 4000] [--out aigc_book/weights/date_transformer.pt]
Seeded and single-threaded, so the same torch version on a CPU gives the same weights. About 10-20 minutes on one CPU core.
"""
import argparse
from functools import partial
from pathlib import Path
import torch
from aigc_book.core import seed_everything
from aigc_book.data import batch_fn
from aigc_book.train import fit, make_step, make_optimizer, cosine_lr, evaluate_loss
from aigc_book.models.transformer import (make_date_pairs, Seq2SeqTokenizer, Seq2SeqConfig, Seq2SeqTransformer,
                                          seq2seq_loss, exact_match, date_tokenizer, DATE_CONFIG)

def main(steps: int, out: Path):
    torch.set_num_threads(1)
    seed_everything(0)
    train_pairs = make_date_pairs(50_000, seed=0, split="train")
    val_pairs = make_date_pairs(1000, seed=1, split="train")
    test_pairs = make_date_pairs(2000, seed=2, split="test")
    tok = date_tokenizer()
    src, tgt = tok.batch([s for s, _ in train_pairs]), tok.batch([t for _, t in train_pairs], bos=True, eos=True)
    vb = (tok.batch([s for s, _ in val_pairs]), tok.batch([t for _, t in val_pairs], bos=True, eos=True))
    model = Seq2SeqTransformer(Seq2SeqConfig(**DATE_CONFIG))
    opt = make_optimizer(model, lr=2e-3, weight_decay=0.01)
    hist = fit(make_step(model, opt, seq2seq_loss, clip=1.0), batch_fn(src, tgt, batch_size=128, seed=0), steps,
               models=model, optimizers=opt, lr_fn=partial(cosine_lr, lr=2e-3, total=steps, warmup=100, min_lr=1e-5),
               val_fn=lambda: evaluate_loss(model, seq2seq_loss, [vb]), eval_every=500)
    acc = exact_match(model, tok, test_pairs)
    print(f"val losses {[round(v, 4) for v in hist.val]}; held-out exact match {acc:.4f}; {hist.seconds:.0f} s")
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out)
    print(f"saved {out} ({out.stat().st_size / 1e6:.2f} MB)")

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "aigc_book/weights/date_transformer.pt")
    a = ap.parse_args(); main(a.steps, a.out)
