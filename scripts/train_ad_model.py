"""Reproduce aigc_book/weights/ad_model.pt: the book's GPT trained to write short car ads (chapter 46).

The training cars are `split_by_name(load_table("cars"))[0]` (no held-out model name is ever seen). Every step
draws 32 fresh ads from the paraphrase grammar (`grammar_ad`), half about real training cars and half about
made-up cars (`synthetic_car`), so that copying the prompt is the only way to get the numbers right; the
product's name is the slot `@`, filled in after generation. Model `AD_CONFIG` (4 layers, 4 heads, 80-dim
embeddings, block 198), AdamW 3e-3 with warm-up and cosine decay to 3e-4, loss on the ad characters only,
2,200 steps: about eleven CPU-minutes. Seeded; run on one thread (`--threads 1`) to reproduce the file exactly.
Weights are stored in float16 next to the training-loss curve.

    python scripts/train_ad_model.py [--steps 2200] [--threads 1] [--out aigc_book/weights/ad_model.pt]
"""
import argparse, os, tempfile
from pathlib import Path
import torch
from aigc_book.core import seed_everything
from aigc_book.data import load_table
from aigc_book.cases.adcopy import AD_CONFIG, split_by_name, train_ad_model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2200)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "aigc_book" / "weights" / "ad_model.pt"))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    seed_everything(0)
    train_cars, _ = split_by_name(load_table("cars"))
    model, _, hist = train_ad_model(train_cars, a.steps, lr=a.lr, seed=0)
    sd = {k: v.half() for k, v in model.state_dict().items() if k != "lm_head.weight"}   # tied to wte.weight
    loss = torch.tensor(hist.train["loss"], dtype=torch.float16)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    os.close(fd)
    torch.save({"model": sd, "config": dict(AD_CONFIG), "loss": loss}, tmp)
    os.replace(tmp, out)
    print(f"{hist.seconds:.0f} s; final loss {loss[-50:].float().mean():.3f}; wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
