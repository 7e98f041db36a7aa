"""Reproduce aigc_book/weights/gpt_char.pt: the book's GPT trained on the book's corpus.

The small character-level CPU configuration (4 layers, 4 heads, 128-dim embeddings, block 64, batch 12,
AdamW 1e-3 with warm-up and cosine decay to 1e-4, dropout 0) for 3,000 iterations on the training part of
`aigc_book.data.load_corpus()`. Seeded; run on one thread (`--threads 1`) to reproduce the file exactly.
Weights are stored in float16 (half the size; the loss changes by < 0.001 nats) next to the tokenizer's characters.

    python scripts/train_gpt_char.py [--iters 3000] [--threads 1] [--out aigc_book/weights/gpt_char.pt]
"""
import argparse, os, tempfile
from dataclasses import asdict
from functools import partial
from pathlib import Path
import torch
from aigc_book.core import seed_everything
from aigc_book.data import load_corpus, CharTokenizer, split_ids, text_batch_fn, get_batch
from aigc_book.train import fit, make_step, make_optimizer, cosine_lr, evaluate_loss
from aigc_book.models.gpt import GPT, GPTConfig, evaluate_bpc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "aigc_book" / "weights" / "gpt_char.pt"))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    seed_everything(0)
    text = load_corpus(); tok = CharTokenizer.from_text(text)
    parts = split_ids(torch.tensor(tok.encode(text)))
    cfg = GPTConfig(block_size=64, vocab_size=tok.vocab_size, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False)
    model = GPT(cfg)
    opt = make_optimizer(model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99))
    loss_fn = lambda m, b: m(*b)[1]
    val_batches = [get_batch(parts["val"], 64, 12, torch.Generator().manual_seed(i)) for i in range(20)]
    hist = fit(make_step(model, opt, loss_fn, clip=1.0), text_batch_fn(parts["train"], 64, 12, seed=0), a.iters,
               models=model, optimizers=opt, lr_fn=partial(cosine_lr, lr=1e-3, total=a.iters, warmup=100, min_lr=1e-4),
               val_fn=lambda: evaluate_loss(model, loss_fn, val_batches), eval_every=500)
    sd = {k: v.half() for k, v in model.state_dict().items() if k != "lm_head.weight"}   # tied to wte.weight
    chars = torch.tensor([ord(c) for c in tok.chars], dtype=torch.int32)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp"); os.close(fd)
    torch.save({"model": sd, "chars": chars, "config": asdict(cfg)}, tmp); os.replace(tmp, out)
    print(f"{hist.seconds:.0f} s; val bpc {evaluate_bpc(model, parts['val'])['bpc']:.3f}; wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
