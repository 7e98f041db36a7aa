"""Train the book's character-level GPT and a minimal reference GPT on a text file; report quality and speed.

    python benchmarks/gpt_char.py --data /path/to/tinyshakespeare.txt --config small-cpu

Prints, as its last three lines: validation loss, training tokens/s, generation tokens/s (with and without the
book's KV cache). `small-cpu` is the well-known small CPU configuration for a char-level LM (nanoGPT's
shakespeare_char CPU settings): 4 layers, 4 heads, 128-dim embeddings, block 64, batch 12, 2,000 iterations,
dropout 0, no biases, AdamW lr 1e-3 (betas 0.9/0.99, weight decay 0.1, grad clip 1) with 100 warm-up steps and
cosine decay to 1e-4; evaluation = mean loss over 200 random validation batches; 90/10 split.
"""
from __future__ import annotations
import argparse, os, sys, time
from functools import partial
from pathlib import Path
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aigc_book.core import seed_everything, get_device
from aigc_book.data import load_text_file, CharTokenizer, get_batch, text_batch_fn
from aigc_book.train import fit, make_step, make_optimizer, cosine_lr
from aigc_book.models.gpt import GPT, GPTConfig, generate
from benchmarks.reference_gpt import RefGPT

CONFIGS = {
    "small-cpu": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, iters=2000, dropout=0.0, bias=False,
                      lr=1e-3, min_lr=1e-4, warmup=100, weight_decay=0.1, betas=(0.9, 0.99), clip=1.0, eval_iters=200),
    "tiny": dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8, iters=50, dropout=0.0, bias=False,
                 lr=1e-3, min_lr=1e-4, warmup=10, weight_decay=0.1, betas=(0.9, 0.99), clip=1.0, eval_iters=10),
}


@torch.no_grad()
def estimate_val_loss(model, val, c, device, seed=1234):
    "nanoGPT-style evaluation: mean loss over `eval_iters` random validation batches."
    model.eval(); g = torch.Generator().manual_seed(seed)
    losses = [float(model(*(t.to(device) for t in get_batch(val, c["block_size"], c["batch_size"], g)))[1]) for _ in range(c["eval_iters"])]
    model.train()
    return sum(losses) / len(losses)


def train_book(train, vocab_size, c, device):
    seed_everything(1337)
    model = GPT(GPTConfig(block_size=c["block_size"], vocab_size=vocab_size, n_layer=c["n_layer"], n_head=c["n_head"],
                          n_embd=c["n_embd"], dropout=c["dropout"], bias=c["bias"])).to(device)
    opt = make_optimizer(model, lr=c["lr"], weight_decay=c["weight_decay"], betas=c["betas"])
    step = make_step(model, opt, lambda m, b: m(*b)[1], clip=c["clip"])
    batches = text_batch_fn(train, c["block_size"], c["batch_size"], seed=0)
    get = (lambda s: tuple(t.to(device) for t in batches(s))) if device.type != "cpu" else batches
    hist = fit(step, get, c["iters"], models=model, optimizers=opt, progress=True, desc="book GPT",
               lr_fn=partial(cosine_lr, lr=c["lr"], total=c["iters"], warmup=c["warmup"], min_lr=c["min_lr"]))
    return model, hist.seconds


def train_reference(train, vocab_size, c, device, iters):
    "A plain training loop (nanoGPT's shape) around the reference GPT, `iters` steps of the same schedule."
    torch.manual_seed(1337)
    model = RefGPT(vocab_size, c["block_size"], c["n_layer"], c["n_head"], c["n_embd"], bias=c["bias"]).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]; no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=c["lr"], betas=c["betas"])
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for it in range(iters):
        lr = cosine_lr(it, c["lr"], c["iters"], c["warmup"], c["min_lr"])
        for pg in opt.param_groups: pg["lr"] = lr
        x, y = (t.to(device) for t in get_batch(train, c["block_size"], c["batch_size"], g))
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c["clip"]); opt.step()
        if (it + 1) % 200 == 0: print(f"reference step {it + 1}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return model, time.perf_counter() - t0


def gen_speed(fn, n, repeats=3):
    "Best-of-`repeats` tokens/s of `fn(n)`."
    fn(8)
    best = min(_timed(fn, n) for _ in range(repeats))
    return n / best


def _timed(fn, n):
    t0 = time.perf_counter(); fn(n); return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a UTF-8 text file (e.g. tinyshakespeare.txt)")
    ap.add_argument("--config", default="small-cpu", choices=sorted(CONFIGS))
    ap.add_argument("--iters", type=int, default=None, help="override the number of training iterations")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, mps (default cpu)")
    ap.add_argument("--gen-tokens", type=int, default=256)
    ap.add_argument("--gen-batch", type=int, nargs="+", default=[1, 8], help="batch sizes for the generation-speed lines")
    ap.add_argument("--skip-reference", action="store_true", help="train only the book's GPT")
    ap.add_argument("--ref-iters", type=int, default=None, help="iterations for the reference GPT (default: same as the book's)")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    a = ap.parse_args(argv)
    c = dict(CONFIGS[a.config]); c["iters"] = a.iters or c["iters"]
    if a.threads: torch.set_num_threads(a.threads)
    device = get_device(a.device)
    ref_iters = a.ref_iters or c["iters"]
    text = load_text_file(a.data)
    tok = CharTokenizer.from_text(text)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    n = int(0.9 * len(ids)); train, val = ids[:n], ids[n:]
    load0 = os.getloadavg()[0]
    print(f"data {a.data}: {len(ids)} chars, vocab {tok.vocab_size}; config {a.config} {c}; device {device}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; load avg {load0:.2f}", flush=True)

    tokens = c["iters"] * c["batch_size"] * c["block_size"]
    book, t_book = train_book(train, tok.vocab_size, c, device)
    v_book = estimate_val_loss(book, val, c, device)
    print(f"book GPT: {book.num_params()} params, {t_book:.1f} s, val loss {v_book:.4f}", flush=True)
    if not a.skip_reference:
        ref, t_ref = train_reference(train, tok.vocab_size, c, device, ref_iters)
        v_ref = estimate_val_loss(ref, val, c, device)
        print(f"reference GPT: {sum(p.numel() for p in ref.parameters()) - ref.pos.weight.numel()} params, {ref_iters} iters, {t_ref:.1f} s, val loss {v_ref:.4f}", flush=True)

    book.eval(); prompt = ids[None, :1].to(device)
    g = lambda: torch.Generator(device=device).manual_seed(0)
    speeds = {}
    for B in a.gen_batch:
        p = prompt.expand(B, 1).contiguous()
        speeds[B] = [B * gen_speed(lambda k: generate(book, p, k, generator=g(), use_cache=uc), a.gen_tokens) for uc in (True, False)]
    print("sample (book GPT, cached):", repr(tok.decode(generate(book, prompt, 200, generator=g())[0].cpu())))
    print(f"load avg at end {os.getloadavg()[0]:.2f} (start {load0:.2f})")
    if a.skip_reference:
        print(f"val_loss book={v_book:.4f} (published nanoGPT small CPU config on tinyshakespeare: ~1.88)")
        print(f"train_tokens_per_s book={tokens / t_book:.0f}")
    else:
        ref_tokens = ref_iters * c["batch_size"] * c["block_size"]
        print(f"val_loss book={v_book:.4f} ({c['iters']} iters) reference={v_ref:.4f} ({ref_iters} iters) (published nanoGPT small CPU config on tinyshakespeare: ~1.88)")
        print(f"train_tokens_per_s book={tokens / t_book:.0f} reference={ref_tokens / t_ref:.0f} ratio_book_over_reference={(tokens / t_book) / (ref_tokens / t_ref):.2f}")
    for B, (cached, full) in speeds.items():
        print(f"gen_tokens_per_s batch={B} with_cache={cached:.0f} without_cache={full:.0f} speedup={cached / full:.1f}x ({a.gen_tokens} new tokens)")


if __name__ == "__main__":
    main()
