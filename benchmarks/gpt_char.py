"""Train the book's character-level GPT (any recipe) on a text file; report quality, speed, loss vs time.

    python benchmarks/gpt_char.py --data /path/to/tinyshakespeare.txt --config small-cpu
    python benchmarks/gpt_char.py --data /path/to/tinyshakespeare.txt --config modern-cpu --time-budget 60

Prints, as its last lines: validation loss, training tokens/s, generation tokens/s (with and without the
book's KV cache). `small-cpu` is the well-known small CPU configuration for a char-level LM (nanoGPT's
shakespeare_char CPU settings): 4 layers, 4 heads, 128-dim embeddings, block 64, batch 12, 2,000 iterations,
dropout 0, no biases, AdamW lr 1e-3 (betas 0.9/0.99, weight decay 0.1, grad clip 1) with 100 warm-up steps and
cosine decay to 1e-4; 90/10 split. `modern-cpu` is the recipe of chapter 36 (`aigc_book.recipes.CONFIGS`).

Two ways to train. By default `iters` iterations. With `--time-budget S`: until S seconds of *training* time
have passed (evaluation excluded), the learning-rate schedule running over the time (progress = elapsed / S;
the warm-up is the same fraction `warmup / iters` of the budget), so the decay ends when the time does.

Evaluation is fixed whatever the recipe: mean loss over `eval_iters` batches of `eval_batch` random validation
windows of `eval_block` characters, drawn once with seed 1234 — the same windows for every recipe, batch size
and block size (small-cpu, modern-cpu: 200 x 12 windows of 64 characters, nanoGPT's estimate for this
configuration). `--curve-every N` also evaluates every N seconds of training time on the first `curve_iters`
of those batches (not counted as training time). `--set key=value` changes any recipe key; `--json PATH`
writes the results.
"""
from __future__ import annotations
import argparse, json, math, os, sys, time
from pathlib import Path
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aigc_book.core import seed_everything, get_device
from aigc_book.data import load_text_file, CharTokenizer, get_batch, text_batch_fn
from aigc_book.train import cosine_lr
from aigc_book.models.gpt import generate
# the recipes, their training loop and the fixed evaluation live in the book (chapter 36)
from aigc_book.recipes import (CONFIGS, EVAL_SEED, resolve_config, build_model, build_optimizers, eval_batches,
                               mean_loss, train_recipe)
from benchmarks.reference_gpt import RefGPT

def train_reference(train_ids, vocab_size, c, device, iters):
    "A plain training loop (nanoGPT's shape) around the reference GPT, `iters` steps of the same schedule."
    torch.manual_seed(1337)
    model = RefGPT(vocab_size, c["block_size"], c["n_layer"], c["n_head"], c["n_embd"], bias=c["bias"])
    model = model.to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=c["lr"], betas=c["betas"])
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for it in range(iters):
        lr = cosine_lr(it, c["lr"], c["iters"], c["warmup"], c["min_lr"])
        for pg in opt.param_groups:
            pg["lr"] = lr
        x, y = (t.to(device) for t in get_batch(train_ids, c["block_size"], c["batch_size"], g))
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c["clip"])
        opt.step()
        if (it + 1) % 200 == 0:
            print(f"reference step {it + 1}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return model, time.perf_counter() - t0


def gen_speed(fn, n, repeats=3):
    "Best-of-`repeats` tokens/s of `fn(n)`."
    fn(8)
    best = min(_timed(fn, n) for _ in range(repeats))
    return n / best


def _timed(fn, n):
    t0 = time.perf_counter()
    fn(n)
    return time.perf_counter() - t0


def write_json(path, obj):
    "Write `obj` as JSON atomically (a finished file or none)."
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", required=True, help="a UTF-8 text file (e.g. tinyshakespeare.txt)")
    ap.add_argument("--config", default="small-cpu", choices=sorted(CONFIGS))
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="change a recipe key, e.g. --set lr=3e-3 --set pos=rope (repeatable)")
    ap.add_argument("--iters", type=int, default=None, help="override the number of training iterations")
    ap.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                    help="train until this much training time has passed (evaluation excluded)")
    ap.add_argument("--curve-every", type=float, default=5.0, metavar="SECONDS",
                    help="evaluate the curve every this many seconds of training time (0 = no curve)")
    ap.add_argument("--seed", type=int, default=0, help="init seed 1337 + SEED, batches seeded SEED")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the results (and the curve) here")
    ap.add_argument("--device", default="cpu", help="cpu, cuda, mps (default cpu)")
    ap.add_argument("--gen-tokens", type=int, default=256)
    ap.add_argument("--gen-batch", type=int, nargs="+", default=[1, 8], help="batches for generation speed")
    ap.add_argument("--skip-reference", action="store_true", help="train only the book's GPT")
    ap.add_argument("--skip-generation", action="store_true", help="no generation-speed measurement")
    ap.add_argument("--ref-iters", type=int, default=None, help="reference GPT iterations (default: iters)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--quiet", action="store_true", help="no curve lines on stderr")
    a = ap.parse_args(argv)
    try:
        c = resolve_config(a.config, a.overrides, a.iters)
    except ValueError as e:
        ap.error(str(e))
    if a.time_budget is not None and not a.time_budget > 0:
        ap.error(f"--time-budget must be > 0 seconds, got {a.time_budget}")
    if a.curve_every < 0:
        ap.error(f"--curve-every must be >= 0, got {a.curve_every}")
    if a.threads:
        torch.set_num_threads(a.threads)
    wall0 = time.perf_counter()
    device = get_device(a.device)
    ref_iters = a.ref_iters or c["iters"]
    text = load_text_file(a.data)
    tok = CharTokenizer.from_text(text)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    n = int(0.9 * len(ids))
    train_ids, val = ids[:n], ids[n:]
    load0 = os.getloadavg()[0]
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    mode = f"time budget {a.time_budget:g} s" if a.time_budget else f"{c['iters']} iterations"
    print(f"data {a.data}: {len(ids)} chars, vocab {tok.vocab_size}; config {a.config} {c}; {mode}; "
          f"seed {a.seed}; device {device}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs (allowed: {affinity}); load avg {load0:.2f}", flush=True)

    evals = eval_batches(val, c)
    book = build_model(c, tok.vocab_size, a.seed, device)
    opts = build_optimizers(book, c)
    batches = text_batch_fn(train_ids, c["block_size"], c["batch_size"], seed=a.seed)
    r = train_recipe(book, opts, c, batches, device, budget=a.time_budget, curve_every=a.curve_every,
                     curve_batches=evals[:c["curve_iters"]], log=not a.quiet)
    t_book = r["train_seconds"]
    tokens = r["steps"] * c["batch_size"] * c["block_size"]
    v_book = mean_loss(book, evals, device)
    if r["curve"]:
        final = {"seconds": round(t_book, 3), "step": r["steps"], "val_loss": v_book, "final": True}
        r["curve"].append(final)                               # on all the evaluation windows
    print(f"book GPT: {book.num_params()} params, {r['steps']} iters, {t_book:.1f} s, val loss {v_book:.4f}",
          flush=True)
    run_reference = not a.skip_reference and a.time_budget is None
    if run_reference:
        ref, t_ref = train_reference(train_ids, tok.vocab_size, c, device, ref_iters)
        v_ref = mean_loss(ref, evals, device)
        ref_params = sum(p.numel() for p in ref.parameters()) - ref.pos.weight.numel()
        print(f"reference GPT: {ref_params} params, {ref_iters} iters, {t_ref:.1f} s, val loss {v_ref:.4f}",
              flush=True)

    speeds = {}
    if not a.skip_generation:
        book.eval()
        prompt = ids[None, :1].to(device)
        g = lambda: torch.Generator(device=device).manual_seed(0)
        for B in a.gen_batch:
            p = prompt.expand(B, 1).contiguous()
            run = lambda k, uc: generate(book, p, k, generator=g(), use_cache=uc)
            speeds[B] = [B * gen_speed(lambda k: run(k, uc), a.gen_tokens) for uc in (True, False)]
        sample = generate(book, prompt, 200, generator=g())[0].cpu()
        print("sample (book GPT, cached):", repr(tok.decode(sample)))
    load1 = os.getloadavg()[0]
    print(f"load avg at end {load1:.2f} (start {load0:.2f})")
    if a.json:
        write_json(a.json, {
            "config": a.config, "overrides": a.overrides, "recipe": c, "seed": a.seed,
            "time_budget": a.time_budget,
            "val_loss": v_book, "steps": r["steps"], "train_seconds": t_book, "tokens": tokens,
            "tokens_per_s": tokens / t_book, "eval_seconds": r["eval_seconds"], "params": book.num_params(),
            "eval": {"windows": c["eval_iters"] * c["eval_batch"], "chars": c["eval_block"],
                     "seed": EVAL_SEED, "curve_windows": c["curve_iters"] * c["eval_batch"]},
            "curve": r["curve"], "data": {"path": str(a.data), "chars": len(ids), "vocab": tok.vocab_size},
            "threads": torch.get_num_threads(), "cpu_affinity": affinity, "cpus": os.cpu_count(),
            "load_avg_start": load0, "load_avg_end": load1, "torch": torch.__version__,
            "wall_seconds": time.perf_counter() - wall0})
        print(f"wrote {a.json}")
    published = "(published nanoGPT small CPU config on tinyshakespeare: ~1.88)"
    if not run_reference:
        print(f"val_loss book={v_book:.4f} ({r['steps']} iters, {t_book:.1f} s) {published}")
        print(f"train_tokens_per_s book={tokens / t_book:.0f}")
    else:
        ref_tokens = ref_iters * c["batch_size"] * c["block_size"]
        print(f"val_loss book={v_book:.4f} ({r['steps']} iters) reference={v_ref:.4f} ({ref_iters} iters) "
              f"{published}")
        print(f"train_tokens_per_s book={tokens / t_book:.0f} reference={ref_tokens / t_ref:.0f} "
              f"ratio_book_over_reference={(tokens / t_book) / (ref_tokens / t_ref):.2f}")
    for B, (cached, full) in speeds.items():
        print(f"gen_tokens_per_s batch={B} with_cache={cached:.0f} without_cache={full:.0f} "
              f"speedup={cached / full:.1f}x ({a.gen_tokens} new tokens)")
    return r | {"val_loss": v_book}


if __name__ == "__main__":
    main()
