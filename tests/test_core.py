import os, random
import numpy as np
import pytest
import torch
from torch import nn
from aigc_book.core import get_device, seed_everything, sized, is_quick, save_checkpoint, load_checkpoint, CheckpointError


def test_get_device_cpu_and_env(monkeypatch):
    assert get_device("cpu").type == "cpu"
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    assert get_device().type == "cpu"
    monkeypatch.setenv("AIGC_DEVICE", "quantum")
    with pytest.raises(ValueError, match="unknown device"): get_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_get_device_cuda_missing():
    with pytest.raises(ValueError, match="CUDA is not available"): get_device("cuda")


def test_sized(monkeypatch):
    monkeypatch.delenv("AIGC_QUICK", raising=False)
    assert sized(1, 2, torch.device("cpu")) == 1
    assert is_quick(torch.device("cpu"))
    monkeypatch.setenv("AIGC_QUICK", "1")
    assert sized(1, 2, torch.device("cuda")) == 1


def test_seed_everything_determinism():
    seed_everything(123); a = (random.random(), np.random.rand(), torch.randn(4))
    seed_everything(123); b = (random.random(), np.random.rand(), torch.randn(4))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    with pytest.raises(ValueError, match=">= 0"): seed_everything(-3)
    with pytest.raises(TypeError, match="int"): seed_everything("7")


def _model_opt():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)); o = torch.optim.AdamW(m.parameters(), lr=1e-2)
    m(torch.randn(5, 3)).sum().backward(); o.step()
    return m, o


def test_checkpoint_roundtrip_and_rng(tmp_path):
    seed_everything(0); m, o = _model_opt()
    p = save_checkpoint(tmp_path / "a" / "ck.pt", m, o, step=3, meta={"x": [1, 2], "t": torch.ones(2)})
    expected_next = torch.randn(3)
    m2, o2 = _model_opt()
    torch.manual_seed(999)
    info = load_checkpoint(p, m2, o2, restore_rng=True)
    assert info["step"] == 3 and info["meta"]["x"] == [1, 2]
    assert torch.equal(torch.randn(3), expected_next)   # RNG state restored to the moment of saving
    for a, b in zip(m.state_dict().values(), m2.state_dict().values()): assert torch.equal(a, b)
    assert [x.name for x in (tmp_path / "a").iterdir()] == ["ck.pt"]


def test_checkpoint_dict_of_models(tmp_path):
    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    p = save_checkpoint(tmp_path / "gan.pt", {"G": G, "D": D})
    load_checkpoint(p, {"G": nn.Linear(2, 2), "D": nn.Linear(2, 1)})
    with pytest.raises(CheckpointError, match="holds models"): load_checkpoint(p, {"G": nn.Linear(2, 2)})


@pytest.mark.parametrize("content,msg", [(b"", "truncated"), (b"garbage" * 10, "truncated"), (b"PK\x03\x04broken", "truncated")])
def test_corrupt_checkpoint(tmp_path, content, msg):
    f = tmp_path / "bad.pt"; f.write_bytes(content)
    with pytest.raises(CheckpointError, match=msg) as e: load_checkpoint(f, nn.Linear(1, 1))
    assert "bad.pt" in str(e.value)


def test_truncated_and_wrong_arch(tmp_path):
    m, o = _model_opt(); p = save_checkpoint(tmp_path / "ck.pt", m, o)
    (tmp_path / "cut.pt").write_bytes(p.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="cut.pt"): load_checkpoint(tmp_path / "cut.pt", m)
    with pytest.raises(CheckpointError, match="do not match this architecture"): load_checkpoint(p, nn.Linear(3, 2))
    with pytest.raises(CheckpointError, match="no such file"): load_checkpoint(tmp_path / "missing.pt", m)
    torch.save({"weights": m.state_dict()}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not an aigc-book checkpoint"): load_checkpoint(tmp_path / "plain.pt", m)


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    m, _ = _model_opt(); p = save_checkpoint(tmp_path / "ck.pt", m, step=1)
    before = p.read_bytes()
    def boom(*a, **k): raise OSError("disk full")
    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError, match="disk full"): save_checkpoint(p, m, step=2)
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["ck.pt"]   # no temp file left


def test_save_bad_args(tmp_path):
    with pytest.raises(TypeError, match="model"): save_checkpoint(tmp_path / "x.pt", "not a model")
    with pytest.raises(ValueError, match="step"): save_checkpoint(tmp_path / "x.pt", nn.Linear(1, 1), step=-1)
    with pytest.raises(TypeError, match="optimizer"): save_checkpoint(tmp_path / "x.pt", nn.Linear(1, 1), optimizer=3)


def test_load_shipped(tmp_path):
    from aigc_book.core import load_shipped
    with pytest.raises(FileNotFoundError, match="python scripts/make_it.py"): load_shipped("nope", "scripts/make_it.py")
    (tmp_path / "w.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="w.pt is truncated"): load_shipped("w", "s.py", path=tmp_path / "w.pt")
    torch.save({"a": torch.ones(2)}, tmp_path / "ok.pt")
    assert torch.equal(load_shipped("ok", "s.py", path=tmp_path / "ok.pt")["a"], torch.ones(2))
    sd = load_shipped("digit_classifier", "scripts/train_image_models.py")   # a file that ships with the package
    assert sd and all(torch.is_tensor(v) for v in sd.values())


def test_load_shipped_model(tmp_path):
    from torch import nn
    from aigc_book.core import load_shipped_model
    registry = {"small": 3}
    torch.save(nn.Linear(3, 2).state_dict(), tmp_path / "small.pt")
    m = load_shipped_model("small", registry, lambda n: nn.Linear(n, 2), "s.py", path=tmp_path / "small.pt")
    assert not m.training and m.weight.shape == (2, 3)
    with pytest.raises(ValueError, match=r"must be one of \['small'\], got 'big'"):
        load_shipped_model("big", registry, lambda n: nn.Linear(n, 2), "s.py")
    with pytest.raises(FileNotFoundError, match="python scripts/make_small.py"):
        load_shipped_model("small", registry, lambda n: nn.Linear(n, 2), "scripts/make_small.py")
    with pytest.raises(TypeError, match="build must return an nn.Module"):
        load_shipped_model("small", registry, lambda n: "net", "s.py", path=tmp_path / "small.pt")
    with pytest.raises(TypeError, match="registry must be a non-empty dict"):
        load_shipped_model("small", {}, lambda n: nn.Linear(n, 2), "s.py")
    from aigc_book.models import autoencoder, vae, gan    # the image models' load_pretrained use it
    assert not gan.load_pretrained("dcgan").training and not vae.load_pretrained("cvae").training
    assert autoencoder.load_pretrained("ae").cfg.latent_dim == 8
