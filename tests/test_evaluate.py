import pytest, torch
from aigc_book.core import seed_everything
from aigc_book.data import load_digits
from aigc_book.evaluate import (load_digit_classifier, features, frechet_distance, fid, precision_recall, class_fidelity,
                                class_histogram, diversity, memorisation, blur, predict, DigitClassifier)

@pytest.fixture(scope="module")
def digits(): return load_digits("train")[0], load_digits("test")

def test_classifier_loads_and_is_accurate(digits):
    clf = load_digit_classifier()
    assert clf is load_digit_classifier() and not clf.training
    x, y = digits[1]
    assert (predict(x).argmax(1) == y).float().mean() > 0.95

def test_fid_identity_symmetry_and_order(digits):
    xtr, (xte, _) = digits
    assert fid(xte, xte) == pytest.approx(0.0, abs=1e-6)
    assert fid(xtr, xte) == pytest.approx(fid(xte, xtr), rel=1e-6)
    noise = torch.rand(len(xte), 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert fid(xtr, xte) < 0.2 * fid(xtr, noise)

def test_frechet_matches_scipy():
    scipy = pytest.importorskip("scipy.linalg")
    import numpy as np
    seed_everything(0)
    a, b = torch.randn(100, 4), torch.randn(80, 4) * 1.5 + 0.5
    A, B = a.double().numpy(), b.double().numpy(); ca, cb = np.cov(A.T), np.cov(B.T)
    ref = ((A.mean(0) - B.mean(0)) ** 2).sum() + np.trace(ca + cb) - 2 * np.trace(scipy.sqrtm(ca @ cb).real)
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)

def test_precision_recall():
    seed_everything(0)
    f = torch.randn(100, 3)
    assert precision_recall(f, f) == {"precision": 1.0, "recall": 1.0}
    assert precision_recall(f, f + 100) == {"precision": 0.0, "recall": 0.0}
    with pytest.raises(ValueError, match="k must be smaller"): precision_recall(f[:3], f, k=3)
    with pytest.raises(ValueError, match="same feature size"): precision_recall(f, f[:, :2])

def test_class_metrics(digits):
    xte, yte = digits[1]
    assert class_fidelity(xte, yte) > 0.95
    h = class_histogram(xte); assert h.shape == (10,) and h.sum().item() == pytest.approx(1.0)
    assert diversity(xte) > 2.2 and diversity(xte[yte == 3]) < 0.5
    with pytest.raises(TypeError, match="LongTensor"): class_fidelity(xte, yte.float())

def test_memorisation(digits):
    xtr, (xte, _) = digits
    copy = memorisation(xtr[:100], xtr, xte)
    assert copy["sample_nn"] == 0 and copy["ratio"] == 0 and copy["near_copy_rate"] == 1.0
    assert 0.7 < memorisation(load_digits("val")[0], xtr, xte)["ratio"] < 1.3

def test_input_validation():
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"): features(torch.rand(4, 1, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"): features(torch.rand(4, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"): features(torch.rand(4, 1, 8, 8) * 2 - 1)
    with pytest.raises(TypeError, match="torch.Tensor"): features([[0.0]])
    with pytest.raises(ValueError, match="at least 2 rows"): frechet_distance(torch.randn(1, 64), torch.randn(5, 64))
    with pytest.raises(ValueError, match="NaN"): frechet_distance(torch.full((3, 2), float("nan")), torch.randn(5, 2))
    with pytest.raises(TypeError, match="DigitClassifier"): features(torch.rand(2, 1, 8, 8), classifier=torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="sigma"): blur(torch.rand(2, 1, 8, 8), sigma=0)
