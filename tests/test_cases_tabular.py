import numpy as np
import pandas as pd
import pytest
import torch
from aigc_book.core import seed_everything
from aigc_book.cases.tabular import (
    FAIR_CAT, FAIR_NUM, FAIR_TARGET, TableCodec, TabularCVAE, check_table, column_fidelity,
    correlation_difference, dcr, detection_auc, fair_table, filter_rows, imbalanced_split, ks_complement,
    load_ctgan_rows, load_cvae, make_classifier, minority_scores, sample_rows, snap_to_grid, synthetic_rows,
    train_cvae, tv_complement)


@pytest.fixture(scope="module")
def split():
    return imbalanced_split(fair_table(), FAIR_TARGET, 0.08, 0.3, seed=0)


def toy(n=60, seed=0):
    r = np.random.default_rng(seed)
    return pd.DataFrame({"x": r.normal(size=n), "k": r.integers(0, 3, n).astype(float),
                         "y": (np.arange(n) % 4 == 0).astype(int)})


def test_check_table_bad_inputs():
    df = toy()
    assert check_table(df, ["x", "k"]).shape == (60, 2)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['z'\]"):
        check_table(df, ["x", "z"])
    with pytest.raises(TypeError, match="must be numeric"):
        check_table(df.assign(k=df.k.astype(str)), ["k"])
    with pytest.raises(ValueError, match="missing or infinite"):
        check_table(df.assign(x=np.nan), ["x"])
    with pytest.raises(ValueError, match="no rows"):
        check_table(df.iloc[:0], ["x"])
    with pytest.raises(TypeError, match="pandas DataFrame"):
        check_table(df.to_numpy(), ["x"])
    with pytest.raises(ValueError, match="at least one column"):
        check_table(df, [])


def test_imbalanced_split(split):
    train, test = split
    assert abs(train[FAIR_TARGET].mean() - 0.08) < 1e-3
    assert abs(test[FAIR_TARGET].mean() - 0.3225) < 2e-3
    with pytest.raises(ValueError, match="both 0 and 1"):
        imbalanced_split(toy().assign(y=1), "y")
    with pytest.raises(ValueError, match="minority_share"):
        imbalanced_split(toy(), "y", minority_share=0.7)
    with pytest.raises(ValueError, match="test_size"):
        imbalanced_split(toy(), "y", test_size=1.5)


def test_codec_round_trip_and_errors():
    df = toy()
    codec = TableCodec.fit(df, ["x"], ["k"])
    xn, xc = codec.encode(df)
    assert xn.shape == (60, 1) and xc.dtype == torch.long and codec.cat_sizes == [3]
    back = codec.decode(xn, xc)
    np.testing.assert_allclose(back.x, df.x, atol=1e-5)
    assert (back.k == df.k).all()
    with pytest.raises(ValueError, match="not seen"):
        codec.encode(df.assign(k=7.0))
    with pytest.raises(ValueError, match="overlap"):
        TableCodec.fit(df, ["x"], ["x"])


def test_cvae_shapes_loss_and_errors():
    seed_everything(0)
    m = TabularCVAE(2, [3, 4], 2, hidden=8, latent_dim=2)
    xn, xc = torch.randn(5, 2), torch.stack([torch.randint(0, 3, (5,)), torch.randint(0, 4, (5,))], 1)
    y = torch.tensor([0, 1, 0, 1, 1])
    out = m(xn, xc, y)
    assert out["recon"].shape == (5,) and (out["kl"] >= 0).all()
    loss, logs = m.loss(xn, xc, y)
    assert loss.ndim == 0 and "kl" in logs
    a, b = m.sample(y, torch.Generator().manual_seed(0))
    assert a.shape == (5, 2) and b.shape == (5, 2) and (b[:, 1] < 4).all()
    with pytest.raises(ValueError, match="x_num must be a tensor of shape"):
        m(xn[:, :1], xc, y)
    with pytest.raises(TypeError, match="LongTensor"):
        m(xn, xc, y.float())
    with pytest.raises(ValueError, match="y must lie in"):
        m(xn, xc, y + 2)
    with pytest.raises(ValueError, match="cat_sizes"):
        TabularCVAE(2, [0])
    with pytest.raises(ValueError, match="at least one"):
        TabularCVAE(0, [])
    with pytest.raises(ValueError, match="n_classes"):
        TabularCVAE(2, [3], n_classes=0)


def test_train_and_sample_rows():
    seed_everything(0)
    df = toy(200)
    model, codec, hist = train_cvae(df, "y", ["x"], ["k"], steps=20, batch_size=32, progress=False)
    assert len(hist.train["loss"]) == 20
    rows = sample_rows(model, codec, 50, 1, "y", seed=0)
    assert rows.shape == (50, 3) and set(rows.y) == {1} and rows.k.isin([0.0, 1.0, 2.0]).all()
    with pytest.raises(ValueError, match="positive int"):
        sample_rows(model, codec, 0, 1, "y")
    with pytest.raises(ValueError, match="missing column"):
        train_cvae(df.drop(columns="k"), "y", ["x"], ["k"], steps=2, progress=False)


def test_shipped_files(split):
    train, _ = split
    codec = TableCodec.fit(train, FAIR_NUM, FAIR_CAT)
    model = load_cvae(codec, 0)
    assert isinstance(model, TabularCVAE)
    with pytest.raises(ValueError, match="no shipped model for seed=9"):
        load_cvae(codec, 9)
    ct = load_ctgan_rows(0)
    assert set(ct["minority"][FAIR_TARGET]) == {1} and list(ct["minority"].columns[:3]) == FAIR_NUM
    with pytest.raises(ValueError, match="no shipped CTGAN rows"):
        load_ctgan_rows(9)


def test_synthetic_rows(split):
    train, _ = split
    for method in ("random", "smote", "smote-nc"):
        rows = synthetic_rows(train, FAIR_TARGET, 1, 30, method, FAIR_CAT, seed=0)
        assert rows.shape == (30, 9) and set(rows[FAIR_TARGET]) == {1}
    with pytest.raises(ValueError, match="method must be"):
        synthetic_rows(train, FAIR_TARGET, 1, 10, "gan")
    with pytest.raises(ValueError, match="positive int"):
        synthetic_rows(train, FAIR_TARGET, 1, -1, "random")
    with pytest.raises(ValueError, match="at least 6"):
        synthetic_rows(train.iloc[:40], FAIR_TARGET, 1, 10, "random")


def test_snap_and_filter():
    train = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [0.0, 5.0, 10.0], "k": [1.0, 2.0, 2.0]})
    assert snap_to_grid(pd.DataFrame({"a": [0.0, 2.9, 3.1, 9.0]}), train, ["a"]).a.tolist() == [1, 2, 4, 4]
    rows = pd.DataFrame({"a": [1.2, 3.9, 2.0, 1.0], "b": [1.0, 20.0, 5.0, 0.0], "k": [1.0, 2.0, 3.0, 1.0]})
    kept, funnel = filter_rows(rows, train, ["a", "b"], ["k"], snap_cols=["a"], drop_copies=True)
    assert funnel["unknown category"] == 1 and funnel["outside training range"] == 1
    assert funnel["copy of a training row"] == 1 and funnel["kept"] == 1 and kept.a.tolist() == [1.0]
    _, f2 = filter_rows(rows, train, ["a", "b"], ["k"], rules={"b small": lambda d: d.b < 3})
    assert f2["b small"] == 0 and f2["kept"] == 2
    with pytest.raises(ValueError, match="one boolean per row"):
        filter_rows(rows, train, ["a"], ["k"], rules={"bad": lambda d: [True]})
    with pytest.raises(ValueError, match="missing column"):
        filter_rows(rows.drop(columns="k"), train, ["a"], ["k"])


def test_metrics_by_definition():
    assert ks_complement([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    assert ks_complement([0, 0], [1, 1]) == 0.0
    assert tv_complement([1, 1, 2, 2], [1, 1, 1, 1]) == 0.5
    with pytest.raises(ValueError, match="real is empty"):
        ks_complement([], [1.0])
    with pytest.raises(ValueError, match="missing or infinite"):
        tv_complement([1.0, np.nan], [1.0])
    df = toy(90)
    fid = column_fidelity(df, df, ["x"], ["k"])
    assert (fid == 1.0).all()
    assert correlation_difference(df, df, ["x", "k", "y"]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 2 columns"):
        correlation_difference(df, df, ["x"])
    shifted = df.assign(x=df.x + 10)
    assert detection_auc(df, shifted, ["x", "k"]) > 0.95
    d = dcr(df.iloc[:5], df, ["x"], ["k"])
    assert (d == 0).all()
    far = dcr(pd.DataFrame({"x": [1e6], "k": [9.0]}), df, ["x"], ["k"])
    assert far[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="missing column"):
        dcr(df.drop(columns="k"), df, ["x"], ["k"])


def test_classifiers(split):
    train, test = split
    for kind in ("logreg", "hgb"):
        s = minority_scores(make_classifier(kind, FAIR_NUM, FAIR_CAT), train, test, FAIR_TARGET)
        assert 0.3 < s["PR-AUC"] < 0.8 and set(s) == {"recall", "F1", "PR-AUC"}
    with pytest.raises(ValueError, match="kind must be"):
        make_classifier("svm", FAIR_NUM, FAIR_CAT)
    with pytest.raises(ValueError, match="both classes"):
        minority_scores(make_classifier("logreg", FAIR_NUM, FAIR_CAT), train[train[FAIR_TARGET] == 0], test,
                        FAIR_TARGET)
