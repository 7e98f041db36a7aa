"""DistributedDataParallel through `aigc_book.train.fit_ddp`, on this machine's CPU with gloo.

`test_two_processes_equal_one_process` starts this file under torchrun with two processes (see `worker`):
they train an MLP for K AdamW steps on slices of a global batch, are interrupted and resumed from rank 0's
checkpoint, and must end with the weights of one process trained on the whole batch (float tolerance) and of
their own uninterrupted run (bitwise).
"""
import os, subprocess, sys
from functools import partial
from pathlib import Path
import pytest
import torch
from torch import nn
from aigc_book.core import seed_everything
from aigc_book.data import batch_fn
from aigc_book.train import (fit, fit_ddp, make_step, make_optimizer, cosine_lr, shard_batch,
                             init_distributed, wrap_ddp, DistContext, autocast_loss, compile_for)

K, BATCH, STOP_AT, CKPT_EVERY = 6, 32, 4, 2


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    return x, (x[:, :2].sum(1) > 0).long()


def _model():
    seed_everything(0)
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 2))


def _ce(m, b):
    return nn.functional.cross_entropy(m(b[0]), b[1])


def _train(ctx, ckpt=None, interrupt_at=None):
    "K steps of AdamW with a cosine schedule; DDP when ctx says so; returns (model, history)."
    model = _model()
    opt = make_optimizer(model, lr=1e-2, weight_decay=0.1)
    get = batch_fn(*_data(), batch_size=BATCH, seed=0)
    def get_batch(t):
        if t == interrupt_at:
            raise KeyboardInterrupt
        return get(t)
    kw = dict(models=model, optimizers=opt, lr_fn=partial(cosine_lr, lr=1e-2, total=K, warmup=2),
              progress=False, ckpt_path=ckpt, ckpt_every=CKPT_EVERY if ckpt else 0, resume=ckpt is not None)
    if ctx is None:
        return model, fit(make_step(model, opt, _ce), get_batch, K, **kw)
    return model, fit_ddp(make_step(wrap_ddp(model, ctx), opt, _ce), get_batch, K, ctx=ctx, **kw)


def worker(out: Path):
    "Each torchrun process: an uninterrupted run, an interrupted one, its resumption; rank 0 saves results."
    torch.set_num_threads(1)
    ctx = init_distributed()
    assert ctx.world_size == 2 and ctx.device.type == "cpu"
    full, hist = _train(ctx)
    try:
        _train(ctx, ckpt=out / "ck.pt", interrupt_at=STOP_AT)
    except KeyboardInterrupt:
        pass
    resumed, hist_r = _train(ctx, ckpt=out / "ck.pt")
    if ctx.is_main:
        torch.save({"full": full.state_dict(), "resumed": resumed.state_dict(), "loss": hist.train["loss"],
                    "loss_resumed": hist_r.train["loss"], "files": sorted(p.name for p in out.iterdir())},
                   out / "result.pt")
    torch.distributed.destroy_process_group()


def test_two_processes_equal_one_process(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", AIGC_DEVICE="cpu", PYTHONPATH=str(Path(__file__).parents[1]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", __file__,
           str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    r = torch.load(tmp_path / "result.pt", weights_only=True)
    one, hist = _train(None)                                   # one process, the whole batch
    torch.testing.assert_close(r["full"], one.state_dict())    # K AdamW steps: equal to float tolerance
    torch.testing.assert_close(torch.tensor(r["loss"]), torch.tensor(hist.train["loss"]))   # mean over ranks
    for k, v in r["full"].items():                          # exact resume from rank 0's checkpoint: bitwise
        assert torch.equal(v, r["resumed"][k]), k
    assert r["loss_resumed"] == r["loss"]
    assert r["files"] == ["ck.pt"]                             # one checkpoint file: only rank 0 wrote


def test_one_process_fallback_is_fit():
    ctx = init_distributed()                                   # no torchrun variables: rank 0 of 1
    assert (ctx.rank, ctx.world_size, ctx.is_main) == (0, 1, True)
    a, ha = _train(None)
    b, hb = _train(DistContext())
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k])
    assert ha.train == hb.train
    assert wrap_ddp(a, DistContext()) is a


def test_shard_batch():
    get = batch_fn(*_data(), batch_size=BATCH, seed=0)
    parts = [shard_batch(get, r, 4)(3) for r in range(4)]
    assert torch.equal(torch.cat([p[0] for p in parts]), get(3)[0])
    assert torch.equal(shard_batch(lambda t: torch.arange(6), 1, 3)(0), torch.tensor([2, 3]))
    assert shard_batch(get, 0, 1) is get
    with pytest.raises(ValueError, match="not divisible by world_size=5"): shard_batch(get, 0, 5)(0)
    with pytest.raises(ValueError, match=r"rank must be an int in \[0, 2\)"): shard_batch(get, 2, 2)
    with pytest.raises(ValueError, match="world_size must be an int >= 1"): shard_batch(get, 0, 0)


def test_bad_inputs_and_cpu_switches():
    with pytest.raises(TypeError, match="ctx must be a DistContext"):
        fit_ddp(lambda b: 0.0, lambda t: torch.zeros(2), 1, ctx="rank0", models=nn.Linear(1, 1))
    with pytest.raises(TypeError, match="model must be an nn.Module"): wrap_ddp("net", DistContext())
    m = nn.Linear(2, 2)
    assert compile_for(m, "cpu") is m                          # compile and autocast: CUDA only
    assert autocast_loss(_ce, torch.device("cpu")) is _ce


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
