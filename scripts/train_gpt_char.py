"""Reproduce aigc_book/weights/gpt_char.pt (the book's GPT on its corpus), or train it in many processes.

The small character-level CPU configuration (4 layers, 4 heads, 128-dim embeddings, block 64, batch 12,
AdamW 1e-3 with warm-up and cosine decay to 1e-4, dropout 0) for 3,000 iterations on the training part of
`aigc_book.data.load_corpus()`: about 6 minutes on one CPU thread (120 iterations take 14 s). Seeded; with
`--threads 1` it reproduces the file bit for bit. Weights are stored in float16 (half the size; the loss
changes by < 0.001 nats) next to the tokenizer's characters.

    python scripts/train_gpt_char.py [--iters 3000] [--threads 1] [--out aigc_book/weights/gpt_char.pt]

Many processes: `--ddp` trains with DistributedDataParallel under torchrun (NCCL on GPUs, gloo on CPUs).
`--batch` is the global batch of a step, split over the processes; rank 0 alone writes checkpoints, logs and
the weights, and with `--ckpt` a stopped run resumes exactly where it was. On CUDA, bfloat16 autocast and
torch.compile are on. Two CPU processes end with the weights of one process on the same global batch, up to
float rounding (tests/test_ddp.py, chapter 02).

    torchrun --standalone --nproc_per_node=4 scripts/train_gpt_char.py --ddp --batch 48 --ckpt runs/gpt.pt
    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=8 --rdzv_endpoint=HOST0:29500 \\
        scripts/train_gpt_char.py --ddp --batch 192 --ckpt /shared/gpt.pt    # and --node_rank=1 on the other
"""
import argparse, os, tempfile
from dataclasses import asdict
from functools import partial
from pathlib import Path
import torch
import torch.distributed as dist
from aigc_book.core import seed_everything
from aigc_book.data import load_corpus, CharTokenizer, split_ids, text_batch_fn, get_batch
from aigc_book.train import (make_step, make_optimizer, cosine_lr, evaluate_loss, DistContext,
                             init_distributed, wrap_ddp, fit_ddp, autocast_loss, compile_for)
from aigc_book.models.gpt import GPT, GPTConfig, evaluate_bpc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "aigc_book" / "weights"
                                         / "gpt_char.pt"))
    ap.add_argument("--ddp", action="store_true", help="DistributedDataParallel under torchrun (or alone)")
    ap.add_argument("--batch", type=int, default=12, help="global batch: sequences per step, all processes")
    ap.add_argument("--block", type=int, default=64, help="context length")
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--ckpt", default=None, help="checkpoint: rank 0 writes it every --ckpt-every steps")
    ap.add_argument("--ckpt-every", type=int, default=500)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    ctx = init_distributed() if a.ddp else DistContext()      # without --ddp: one process on the CPU
    seed_everything(0)
    text = load_corpus()
    tok = CharTokenizer.from_text(text)
    parts = split_ids(torch.tensor(tok.encode(text)))
    cfg = GPTConfig(block_size=a.block, vocab_size=tok.vocab_size, n_layer=a.n_layer, n_head=a.n_head,
                    n_embd=a.n_embd, dropout=0.0, bias=False)
    model = GPT(cfg).to(ctx.device)
    opt = make_optimizer(model, lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99))
    loss_fn = autocast_loss(lambda m, b: m(*b)[1], ctx.device)
    net = compile_for(wrap_ddp(model, ctx), ctx.device)
    val_batches = [get_batch(parts["val"], a.block, a.batch, torch.Generator().manual_seed(i))
                   for i in range(20)]
    val_batches = [tuple(t.to(ctx.device) for t in b) for b in val_batches]
    train_batches = text_batch_fn(parts["train"], a.block, a.batch, seed=0)
    hist = fit_ddp(make_step(net, opt, loss_fn, clip=1.0), train_batches, a.iters, ctx=ctx, models=model,
                   optimizers=opt,
                   lr_fn=partial(cosine_lr, lr=1e-3, total=a.iters, warmup=min(100, a.iters), min_lr=1e-4),
                   val_fn=lambda: evaluate_loss(model, loss_fn, val_batches), eval_every=a.eval_every,
                   ckpt_path=a.ckpt, ckpt_every=a.ckpt_every if a.ckpt else 0, resume=a.ckpt is not None)
    if ctx.is_main:
        sd = {k: v.half().cpu() for k, v in model.state_dict().items() if k != "lm_head.weight"}   # tied: wte
        chars = torch.tensor([ord(c) for c in tok.chars], dtype=torch.int32)
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
        os.close(fd)
        torch.save({"model": sd, "chars": chars, "config": asdict(cfg)}, tmp)
        os.replace(tmp, out)
        bpc = evaluate_bpc(model, parts["val"].to(ctx.device))["bpc"]
        print(f"{hist.seconds:.0f} s on {ctx.world_size} process(es), {ctx.device.type}; val bpc {bpc:.3f}; "
              f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
