from functools import partial
import pytest
import torch
from torch import nn
from aigc_book.core import seed_everything
from aigc_book.data import batch_fn
from aigc_book.train import fit, make_step, make_optimizer, cosine_lr, evaluate_loss, NonFiniteLossError


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g); y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def _loss(m, b): return nn.functional.cross_entropy(m(b[0]), b[1])


def _run(steps=30, ckpt=None, resume=False, interrupt_at=None, **kw):
    seed_everything(0)
    x, y = _data(); get = batch_fn(x, y, batch_size=32, seed=1)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    o = make_optimizer(m, lr=1e-2, weight_decay=0.1)
    def g(t):
        if interrupt_at is not None and t == interrupt_at: raise KeyboardInterrupt
        return get(t)
    h = fit(make_step(m, o, _loss, clip=1.0), g, steps, models=m, optimizers=o, ckpt_path=ckpt, ckpt_every=5 if ckpt else 0,
            resume=resume, lr_fn=partial(cosine_lr, lr=1e-2, total=steps, warmup=3), progress=False, **kw)
    return m, h


def test_same_seed_same_numbers():
    (m1, h1), (m2, h2) = _run(), _run()
    assert h1.train["loss"] == h2.train["loss"]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_exact_resume_bitwise(tmp_path):
    full, hf = _run(steps=30)
    with pytest.raises(KeyboardInterrupt): _run(steps=30, ckpt=tmp_path / "c.pt", interrupt_at=17)
    resumed, hr = _run(steps=30, ckpt=tmp_path / "c.pt", resume=True)
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), resumed.state_dict().values()))
    assert hr.train["loss"] == hf.train["loss"] and hr.train_steps == list(range(30))


def test_training_reduces_loss():
    _, h = _run(steps=60)
    assert sum(h.train["loss"][-10:]) / 10 < 0.6 * sum(h.train["loss"][:5]) / 5


def test_early_stopping_restores_best():
    seed_everything(0)
    x, y = _data(); get = batch_fn(x, y, batch_size=32, seed=1)
    m = nn.Linear(8, 2); o = torch.optim.SGD(m.parameters(), lr=0.1)
    vals = iter([1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1])
    snapshots = []
    def val_fn():
        snapshots.append({k: v.clone() for k, v in m.state_dict().items()}); return next(vals)
    h = fit(make_step(m, o, _loss), get, 100, models=m, optimizers=o, val_fn=val_fn, eval_every=2, patience=3, progress=False)
    assert h.stop_reason.startswith("early stop") and h.best_val == 0.5 and h.best_step == 3
    assert all(torch.equal(m.state_dict()[k], snapshots[1][k]) for k in snapshots[1])


def test_nan_guard_names_step():
    m = nn.Linear(2, 1); o = torch.optim.SGD(m.parameters(), lr=0.1)
    def bad_loss(model, b): return model(b).sum() * (float("nan") if b[0, 0] > 1e9 else 1.0)
    batches = lambda t: torch.full((4, 2), 1e10 if t == 4 else 1.0)
    with pytest.raises(NonFiniteLossError, match="step 4"):
        fit(make_step(m, o, bad_loss), batches, 10, models=m, optimizers=o, progress=False)
    with pytest.raises(NonFiniteLossError, match="step 0"):
        fit(lambda b: {"loss": float("inf")}, batches, 3, models=m, progress=False)


def test_bad_arguments():
    m = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="steps"): fit(lambda b: 0.0, lambda t: None, 0, models=m)
    with pytest.raises(TypeError, match="models"): fit(lambda b: 0.0, lambda t: None, 3, models="m")
    with pytest.raises(ValueError, match="ckpt_path"): fit(lambda b: 0.0, lambda t: None, 3, models=m, resume=True)
    with pytest.raises(ValueError, match="patience"): fit(lambda b: 0.0, lambda t: None, 3, models=m, patience=2)
    with pytest.raises(ValueError, match="clip"): make_step(m, torch.optim.SGD(m.parameters(), lr=1), _loss, clip=0)
    with pytest.raises(ValueError, match="lr"): make_optimizer(m, lr=0)
    with pytest.raises(ValueError, match="warmup"): cosine_lr(0, 1e-3, total=10, warmup=20)


def test_evaluate_loss_restores_mode():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)); m.train()
    v = evaluate_loss(m, lambda mm, b: mm(b).pow(2).mean(), [torch.ones(3, 2)] * 2)
    assert m.training and isinstance(v, float)
    with pytest.raises(ValueError, match="empty"): evaluate_loss(m, lambda mm, b: mm(b).sum(), [])


def test_gan_style_two_optimizers(tmp_path):
    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    oG, oD = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    def step(x):
        d = D(x).mean() - D(G(torch.randn_like(x)).detach()).mean(); oD.zero_grad(); (-d).backward(); oD.step()
        g = -D(G(torch.randn_like(x))).mean(); oG.zero_grad(); g.backward(); oG.step()
        return {"d": d.item(), "g": g.item()}
    h = fit(step, lambda t: torch.randn(8, 2), 10, models={"G": G, "D": D}, optimizers={"G": oG, "D": oD},
            ckpt_path=tmp_path / "gan.pt", ckpt_every=5, progress=False)
    assert set(h.train) == {"d", "g"} and (tmp_path / "gan.pt").is_file()


def test_tensorboard_logging(tmp_path):
    pytest.importorskip("tensorboard")   # a dev requirement; the book itself runs without it
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    _, h = _run(steps=12, log_dir=tmp_path / "tb", val_fn=lambda: 0.5, eval_every=4)
    acc = EventAccumulator(str(tmp_path / "tb")); acc.Reload()
    assert len(acc.Scalars("train/loss")) == 12 and [e.value for e in acc.Scalars("val/loss")] == [0.5] * 3
