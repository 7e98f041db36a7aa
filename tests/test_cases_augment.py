"Tests for aigc_book.cases.augment: the case-study toolkit and the few-label augmentation case."
import math
import numpy as np
import pandas as pd
import pytest
import torch
from aigc_book.cases.augment import (mean_ci, paired_diff_ci, fmt_ci, over_seeds, summarize, few_labels,
                                     augment_digits, DigitMLP, train_classifier, accuracy, train_cvae,
                                     sample_per_class, filter_confident, equivalent_labels)
from aigc_book.models.vae import VAE


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def _digits(n_per_class=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(10).repeat_interleave(n_per_class)
    return torch.rand(len(y), 1, 8, 8, generator=g), y


# ---- toolkit -------------------------------------------------------------------------------------------------
def test_mean_ci_matches_student_t():
    m, h = mean_ci([1, 2, 3, 4, 5])
    assert m == pytest.approx(3.0)
    assert h == pytest.approx(2.7764451 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 0.0)
    assert mean_ci([1, 2, 3], level=0.99)[1] > mean_ci([1, 2, 3], level=0.9)[1]


@pytest.mark.parametrize("values, err, msg", [([1.0], ValueError, "at least 2"), ([], ValueError, "at least 2"),
                                             ([1.0, float("nan")], ValueError, "NaN"),
                                             ([1.0, float("inf")], ValueError, "infinite"),
                                             ("12", TypeError, "string"), ([{"a": 1}, 2], TypeError, "numbers")])
def test_mean_ci_bad_values(values, err, msg):
    with pytest.raises(err, match=msg):
        mean_ci(values)


@pytest.mark.parametrize("level", [0, 1, 95, -0.5, "0.95", None])
def test_mean_ci_bad_level(level):
    with pytest.raises(ValueError, match="level"):
        mean_ci([1, 2, 3], level=level)


def test_paired_diff_ci_narrower_than_separate():
    rng = np.random.default_rng(0)
    shared = rng.normal(0, 1, 10)
    a, b = 1.0 + shared + rng.normal(0, 0.01, 10), shared + rng.normal(0, 0.01, 10)
    d, h = paired_diff_ci(a, b)
    assert d == pytest.approx(1.0, abs=0.05)
    assert h < mean_ci(a)[1] / 10
    with pytest.raises(ValueError, match="paired"):
        paired_diff_ci([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="b needs at least 2"):
        paired_diff_ci([1, 2], [1])
    with pytest.raises(TypeError, match="a must be"):
        paired_diff_ci("ab", [1, 2])


def test_fmt_ci():
    assert fmt_ci(0.81234, 0.0129) == "0.812 ± 0.013"
    assert fmt_ci(1.5, 0.25, digits=1) == "1.5 ± 0.2"


def test_over_seeds_and_summarize():
    def run(seed):
        return [{"method": "A", "acc": 0.8 + 0.001 * seed}, {"method": "B", "acc": 0.7 + 0.002 * seed}]
    df = over_seeds(run, seeds=range(4), desc="test")
    assert list(df.columns) == ["seed", "method", "acc"] and len(df) == 8
    s = summarize(df, by="method")
    assert s.loc["A", "acc"] == pytest.approx(0.8015)
    assert list(s.columns) == ["acc", "acc ±"]
    one = over_seeds(lambda seed: {"x": float(seed)}, seeds=[0, 1])
    assert summarize(one)["x"].iloc[0] == pytest.approx(0.5)
    draws = over_seeds(lambda seed: {"u": torch.rand(1).item()}, seeds=[3, 3])   # seeded before every run
    assert draws.u.iloc[0] == draws.u.iloc[1]


def test_over_seeds_and_summarize_bad_input():
    with pytest.raises(TypeError, match="callable"):
        over_seeds("run")
    with pytest.raises(ValueError, match="at least 2"):
        over_seeds(lambda s: {"a": 1.0}, seeds=[0])
    with pytest.raises(TypeError, match="dict"):
        over_seeds(lambda s: 1.0, seeds=[0, 1])
    with pytest.raises(TypeError, match="DataFrame"):
        summarize({"acc": [1, 2]})
    df = pd.DataFrame({"seed": [0, 1], "method": ["A", "A"], "acc": [0.1, 0.2]})
    with pytest.raises(ValueError, match="not in df"):
        summarize(df, by="model")
    with pytest.raises(ValueError, match="numeric"):
        summarize(df[["seed", "method"]], by="method")


# ---- the case ------------------------------------------------------------------------------------------------
def test_few_labels_balanced_nested_seeded():
    y = torch.arange(10).repeat(30)
    i5, i10 = few_labels(y, 5, seed=1), few_labels(y, 10, seed=1)
    assert torch.bincount(y[i5], minlength=10).tolist() == [5] * 10
    assert set(i5.tolist()) <= set(i10.tolist())
    assert torch.equal(i5, few_labels(y, 5, seed=1))
    assert not torch.equal(i5, few_labels(y, 5, seed=2))


@pytest.mark.parametrize("y, k, err, msg", [(torch.arange(10).repeat(3), 4, ValueError, "smallest class"),
                                            (torch.arange(10).repeat(3), 0, ValueError, "per_class"),
                                            (torch.arange(10).repeat(3), 2.0, ValueError, "per_class"),
                                            (torch.arange(10).float(), 1, TypeError, "LongTensor"),
                                            ([0, 1, 2], 1, TypeError, "LongTensor"),
                                            (torch.arange(10).view(2, 5), 1, ValueError, "1-D"),
                                            (torch.arange(12), 1, ValueError, "0..9")])
def test_few_labels_bad_input(y, k, err, msg):
    with pytest.raises(err, match=msg):
        few_labels(y, k)


def test_augment_digits_identity_shift_and_range():
    x, _ = _digits()
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(augment_digits(x, g, max_degrees=0, noise=0), x, atol=1e-6)
    shifted = augment_digits(x, g, max_shift=1, max_degrees=0, noise=0)
    pad = torch.nn.functional.pad(x, (1, 1, 1, 1))
    cands = torch.stack([pad[..., 1 + dy:9 + dy, 1 + dx:9 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    assert (cands - shifted).abs().flatten(2).amax(2).min(0).values.max() < 1e-5
    out = augment_digits(x, torch.Generator().manual_seed(1), max_shift=1, max_degrees=30, noise=0.3)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    a = augment_digits(x, torch.Generator().manual_seed(5))
    assert torch.equal(a, augment_digits(x, torch.Generator().manual_seed(5)))


@pytest.mark.parametrize("kw, err, msg", [({"max_shift": -1}, ValueError, "max_shift"),
                                          ({"max_shift": 0.5}, ValueError, "max_shift"),
                                          ({"max_degrees": 200}, ValueError, "max_degrees"),
                                          ({"max_degrees": "10"}, ValueError, "max_degrees"),
                                          ({"noise": -0.1}, ValueError, "noise"),
                                          ({"noise": True}, ValueError, "noise")])
def test_augment_digits_bad_params(kw, err, msg):
    x, _ = _digits()
    with pytest.raises(err, match=msg):
        augment_digits(x, **kw)


@pytest.mark.parametrize("x, err, msg", [(torch.rand(4, 8, 8), ValueError, "shape"),
                                         (torch.rand(4, 1, 8, 8) * 16, ValueError, r"\[0, 1\]"),
                                         (torch.ones(4, 1, 8, 8, dtype=torch.int64), TypeError, "floating"),
                                         (np.zeros((4, 1, 8, 8)), TypeError, "torch.Tensor")])
def test_augment_digits_bad_images(x, err, msg):
    with pytest.raises(err, match=msg):
        augment_digits(x)


def test_train_classifier_and_accuracy():
    x, y = _digits(2)
    model, hist = train_classifier(x, y, steps=40, seed=0)
    assert isinstance(model, DigitMLP) and not model.training
    assert len(hist.train["loss"]) == 40 and hist.train["loss"][-1] < hist.train["loss"][0]
    assert accuracy(model, x, y) == 1.0                     # 20 random images: memorised
    m2, _ = train_classifier(x, y, steps=40, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), m2.parameters()))   # seeded
    with pytest.raises(ValueError, match="one label per image"):
        train_classifier(x, y[:5], steps=2)
    with pytest.raises(TypeError, match="LongTensor"):
        train_classifier(x, y.float(), steps=2)
    with pytest.raises(ValueError, match="0..9"):
        accuracy(model, x, y + 10)


def test_train_cvae_and_sample_per_class():
    x, y = _digits(2)
    model, hist = train_cvae(x, y, steps=5, seed=0)
    assert isinstance(model, VAE) and model.cfg.n_classes == 10 and model.cfg.latent_dim == 4
    assert len(hist.train["loss"]) == 5
    imgs, labels = sample_per_class(model, 3, seed=0)
    assert imgs.shape == (30, 1, 8, 8) and imgs.min() >= 0 and imgs.max() <= 1
    assert torch.bincount(labels, minlength=10).tolist() == [3] * 10
    assert torch.equal(imgs, sample_per_class(model, 3, seed=0)[0])
    with pytest.raises(ValueError, match="n_per_class must be >= 1"):
        sample_per_class(model, 0)
    with pytest.raises(ValueError, match="class-conditional"):
        sample_per_class(VAE(latent_dim=2), 2)
    with pytest.raises(ValueError, match="class-conditional"):
        sample_per_class("cvae", 2)
    with pytest.raises(ValueError, match="shape"):
        train_cvae(x.view(-1, 64), y, steps=1)


def test_filter_confident_keeps_the_most_typical():
    x, y = _digits(4)
    torch.manual_seed(0)
    clf = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    kept, kept_y = filter_confident(x, y, clf, fraction=0.25)
    assert len(kept) == 10 and len(kept_y) == 10
    with torch.no_grad():
        p = torch.softmax(clf(x), 1).gather(1, y[:, None]).squeeze(1)
        kept_p = torch.softmax(clf(kept), 1).gather(1, kept_y[:, None]).squeeze(1)
    assert kept_p.min() >= torch.sort(p, descending=True).values[9] - 1e-7
    clf.train()
    filter_confident(x, y, clf)
    assert clf.training                                        # mode restored
    with pytest.raises(ValueError, match="fraction"):
        filter_confident(x, y, clf, fraction=1.5)
    with pytest.raises(TypeError, match="nn.Module"):
        filter_confident(x, y, lambda z: z)
    with pytest.raises(ValueError, match="one label per image"):
        filter_confident(x, y[:3], clf)


def test_equivalent_labels():
    assert equivalent_labels([5, 20], [0.8, 0.9], 0.85) == pytest.approx(10.0)
    assert equivalent_labels([5, 10, 20], [0.8, 0.85, 0.9], 0.8) == pytest.approx(5.0)
    assert math.isnan(equivalent_labels([5, 20], [0.8, 0.9], 0.95))
    assert math.isnan(equivalent_labels([5, 20], [0.8, 0.9], 0.7))


@pytest.mark.parametrize("k, acc, target, msg", [([5], [0.8], 0.8, "length"),
                                                 ([5, 10], [0.8, 0.9, 0.95], 0.8, "length"),
                                                 ([10, 5], [0.8, 0.9], 0.85, "increasing"),
                                                 ([0, 5], [0.8, 0.9], 0.85, "positive"),
                                                 ([5, 10], [0.9, 0.8], 0.85, "increase"),
                                                 ([5, 10], [0.8, 0.9], float("nan"), "target"),
                                                 ([5, 10], [0.8, 0.9], "0.85", "target")])
def test_equivalent_labels_bad_input(k, acc, target, msg):
    with pytest.raises(ValueError, match=msg):
        equivalent_labels(k, acc, target)
