"""Reproduce aigc_book/weights/canary_gpt.pt: the book's char-GPT trained with planted canaries (chapter 50).

The "secret sharer" experiment (Carlini et al., 2019). `make_canaries(CANARY_REPEATS, PER_REPEAT)` makes lines
like "the PIN of ada is 482915"; `insert_canaries` puts each one k times at random line starts of the
*training* part of `aigc_book.data.load_corpus()` (the first 80%, as `split_ids` cuts it); k = 0 canaries
are controls that are never inserted. Model and optimisation are chapter 33's shipped recipe
(scripts/train_gpt_char.py: 4 layers, 4 heads, 128-dim embeddings, block 64, batch 12, AdamW 1e-3 with
warm-up and cosine decay to 1e-4, dropout 0, 3,000 iterations). Weights are stored in float16 next to the
tokenizer's characters and the canaries, in the format `aigc_book.models.gpt.load_pretrained(path)` reads.

    python scripts/train_canary_gpt.py [--iters 3000] [--threads 1] [--device cpu] [--out PATH]

Took 13 and 25 minutes in two runs on one core of a heavily shared 2-core CPU; seeded, and the second run
reproduced the file bit-identically (same CPU and torch build, one thread). A GPU run gives slightly different
weights and exposures.
"""
import argparse
import os
import tempfile
from dataclasses import asdict
from functools import partial
from pathlib import Path
import torch
from aigc_book.core import seed_everything
from aigc_book.data import load_corpus, CharTokenizer, split_ids, text_batch_fn, get_batch
from aigc_book.train import fit, make_step, make_optimizer, cosine_lr, evaluate_loss
from aigc_book.models.gpt import GPT, GPTConfig, evaluate_bpc
from aigc_book.responsible.membership import make_canaries, insert_canaries

CANARY_REPEATS = (0, 1, 2, 4, 8, 16, 32, 64)
PER_REPEAT = 5
ITERS = 3000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=ITERS)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    default_out = Path(__file__).resolve().parents[1] / "aigc_book" / "weights" / "canary_gpt.pt"
    ap.add_argument("--out", default=str(default_out))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    seed_everything(0)
    text = load_corpus()
    tok = CharTokenizer.from_text(text)
    cut = len(split_ids(torch.zeros(len(text)))["train"])          # the book's 80% training part (characters)
    canaries = make_canaries(CANARY_REPEATS, PER_REPEAT, n_digits=6, seed=0)
    train_text = insert_canaries(text[:cut], canaries, seed=0)
    train_ids = torch.tensor(tok.encode(train_text))
    val_ids = split_ids(torch.tensor(tok.encode(text)))["val"]
    cfg = GPTConfig(block_size=64, vocab_size=tok.vocab_size, n_layer=4, n_head=4, n_embd=128, dropout=0.0,
                    bias=False)
    model = GPT(cfg).to(a.device)
    opt = make_optimizer(model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99))
    loss_fn = lambda m, b: m(*(t.to(a.device) for t in b))[1]
    val_batches = [get_batch(val_ids, 64, a.batch, torch.Generator().manual_seed(i)) for i in range(20)]
    hist = fit(make_step(model, opt, loss_fn, clip=1.0), text_batch_fn(train_ids, 64, a.batch, seed=0),
               a.iters, models=model, optimizers=opt,
               lr_fn=partial(cosine_lr, lr=1e-3, total=a.iters, warmup=100, min_lr=1e-4),
               val_fn=lambda: evaluate_loss(model, loss_fn, val_batches), eval_every=500, progress=False)
    sd = {k: v.half().cpu() for k, v in model.state_dict().items() if k != "lm_head.weight"}   # tied: wte
    chars = torch.tensor([ord(c) for c in tok.chars], dtype=torch.int32)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    os.close(fd)
    torch.save({"model": sd, "chars": chars, "config": asdict(cfg), "iters": a.iters,
                "canaries": [asdict(c) for c in canaries]}, tmp)
    os.replace(tmp, out)
    bpc = evaluate_bpc(model, val_ids.to(a.device))["bpc"]
    print(f"{hist.seconds:.0f} s; val bpc {bpc:.3f}; wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
