import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import power_divergence, ttest_ind
from statsmodels.stats.multitest import multipletests

from aigc_book.responsible.bias import (acceptance_probs, audit, bootstrap_ci, bootstrap_diff_ci, class_counts,
                                        class_weights, confusion_matrix, effective_sample_size, expected_shares,
                                        g_test, holm, permutation_test, rejection_sample, spelling_corrector,
                                        total_variation, tv_noise_floor)


# ---- class balance
def test_class_counts_and_confusion():
    assert class_counts(np.array([0, 2, 2]), n_classes=3).tolist() == [1, 0, 2]
    assert class_counts(torch.tensor([1, 1])).sum() == 2
    C = confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], n_classes=2)
    np.testing.assert_allclose(C, [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(expected_shares([0.5, 0.5], C), [0.25, 0.75])
    np.testing.assert_allclose(expected_shares([0.2, 0.8], np.eye(2)), [0.2, 0.8])


def test_class_inputs_rejected():
    with pytest.raises(ValueError, match="must lie in 0..9"):
        class_counts(np.array([0, 10]))
    with pytest.raises(TypeError, match="integer class indices"):
        class_counts(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="non-empty 1-D"):
        class_counts(np.array([], dtype=int))
    with pytest.raises(ValueError, match=r"no example of class\(es\) \[1, 2\]"):
        confusion_matrix([0, 0], [0, 1], n_classes=3)
    with pytest.raises(ValueError, match="same length"):
        confusion_matrix([0, 1], [0], n_classes=2)
    with pytest.raises(ValueError, match="rows sum to 1"):
        expected_shares([0.5, 0.5], np.ones((2, 2)))


def test_g_test_matches_scipy():
    n, q = np.array([30, 50, 20]), np.array([0.3, 0.4, 0.3])
    ref = power_divergence(n, n.sum() * q, lambda_="log-likelihood")
    out = g_test(n, q)
    assert out["dof"] == 2
    assert out["G"] == pytest.approx(ref.statistic)
    assert out["p_value"] == pytest.approx(ref.pvalue)
    assert g_test(np.array([25, 25]), [0.5, 0.5])["p_value"] == pytest.approx(1.0)


def test_g_test_bad_input():
    with pytest.raises(ValueError, match="impossible"):
        g_test(np.array([5, 5]), [1.0, 0.0])
    with pytest.raises(ValueError, match="non-negative integers"):
        g_test([0.5, 2.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="sum to 1"):
        g_test(np.array([1, 2]), [0.5, 0.6])


def test_total_variation():
    assert total_variation([0.5, 0.5], [1.0, 0.0]) == pytest.approx(0.5)
    assert total_variation([0.2, 0.8], [0.2, 0.8]) == 0.0
    with pytest.raises(ValueError, match="sum to 1"):
        total_variation([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="2 class shares"):
        total_variation([0.5, 0.5], [0.2, 0.3, 0.5])


def test_holm_matches_statsmodels():
    p = np.random.default_rng(0).random(15) ** 2
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])
    assert holm([0.01]).tolist() == [0.01]
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        holm([0.2, 1.5])
    with pytest.raises(ValueError, match="non-empty"):
        holm([])


def test_bootstrap_and_noise_floor():
    est, lo, hi = bootstrap_ci(np.mean, [np.arange(100.0)], n_boot=500, seed=0)
    assert est == pytest.approx(49.5) and lo < est < hi
    q = np.full(10, 0.1)
    mean, upper = tv_noise_floor(q, 1000, n_sims=4000, seed=0)
    assert mean == pytest.approx(0.5 * np.sum(np.sqrt(2 * q * 0.9 / (np.pi * 1000))), abs=0.002)
    assert upper > mean
    with pytest.raises(ValueError, match="non-empty list"):
        bootstrap_ci(np.mean, np.arange(3.0))
    with pytest.raises(TypeError, match="callable"):
        bootstrap_ci("mean", [np.arange(3.0)])
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(np.mean, [np.arange(3.0)], level=95)
    with pytest.raises(ValueError, match="n must be an int"):
        tv_noise_floor(q, 0)


# ---- fixes
def test_acceptance_and_rejection_sampling():
    q, t = np.array([0.2, 0.3, 0.5]), np.full(3, 1 / 3)
    a = acceptance_probs(q, t)
    np.testing.assert_allclose(a, [1.0, 2 / 3, 0.4])
    assert (q * a).sum() == pytest.approx(1 / np.max(t / q))
    draw = lambda n, g: torch.multinomial(torch.as_tensor(q), n, replacement=True, generator=g)  # noqa: E731
    x, c, used = rejection_sample(draw, lambda s: s.numpy(), q, t, n_keep=6000, seed=0)
    assert len(x) == len(c) == 6000
    np.testing.assert_allclose(class_counts(c, 3) / 6000, t, atol=0.02)
    assert used / 6000 == pytest.approx(np.max(t / q), abs=0.05)
    x2, c2, used2 = rejection_sample(draw, lambda s: s.numpy(), q, t, n_keep=6000, seed=0)
    assert torch.equal(x, x2) and used == used2                          # seeded


def test_rejection_bad_input():
    q, t = np.array([0.5, 0.5, 0.0]), np.full(3, 1 / 3)
    with pytest.raises(ValueError, match="dropped mode"):
        acceptance_probs(q, t)
    draw = lambda n, g: torch.zeros(n, dtype=torch.long)  # noqa: E731
    with pytest.raises(ValueError, match="n_keep"):
        rejection_sample(draw, lambda s: s.numpy(), [0.5, 0.5], [0.5, 0.5], n_keep=0)
    with pytest.raises(TypeError, match="callables"):
        rejection_sample(None, lambda s: s, [0.5, 0.5], [0.5, 0.5], n_keep=2)
    with pytest.raises(RuntimeError, match="max_draws"):                # class 1 never drawn: never done
        rejection_sample(draw, lambda s: s.numpy(), [0.5, 0.5], [0.0, 1.0], n_keep=5, max_draws=100)


def test_class_weights_and_ess():
    q, t = np.array([0.2, 0.3, 0.5]), np.full(3, 1 / 3)
    pred = np.repeat([0, 1, 2], [2, 3, 5])
    w = class_weights(pred, q, t)
    np.testing.assert_allclose(np.bincount(pred, weights=w) / w.sum(), t)
    assert effective_sample_size(np.ones(7)) == pytest.approx(7)
    assert effective_sample_size(w) < len(w)
    with pytest.raises(ValueError, match="non-empty"):
        effective_sample_size([])
    with pytest.raises(ValueError, match="shares is 0"):
        class_weights(np.array([2]), [0.5, 0.5, 0.0], [0.4, 0.4, 0.2])


# ---- segment audits
def test_permutation_test_agrees_with_t_test():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    X[:200, 0] += 0.3
    g = np.arange(400) < 200
    d, p = permutation_test(X, g, n_perm=2000, seed=0)
    np.testing.assert_allclose(d, X[g].mean(0) - X[~g].mean(0))
    p_t = [ttest_ind(X[g, j], X[~g, j]).pvalue for j in range(2)]
    np.testing.assert_allclose(p, p_t, atol=0.02)
    d1, p1 = permutation_test(X[:, 1], g, strata=np.tile(np.arange(200), 2), n_perm=500, seed=1)
    assert d1.shape == (1,) and 0 < p1[0] <= 1


def test_permutation_respects_strata():
    # one A and one B per stratum and a huge stratum effect: within-stratum permutations see only the A-B gap
    strata = np.repeat(np.arange(50), 2)
    g = np.tile([True, False], 50)
    x = 100.0 * strata + np.where(g, 1.0, 0.0)
    _, p = permutation_test(x, g, strata=strata, n_perm=999, seed=0)
    assert p[0] == pytest.approx(1 / 1000)


def test_permutation_bad_input():
    X, g = np.zeros((4, 2)), np.array([True, False, True, False])
    with pytest.raises(TypeError, match="boolean"):
        permutation_test(X, g.astype(int))
    with pytest.raises(ValueError, match="both True"):
        permutation_test(X, np.ones(4, bool))
    with pytest.raises(ValueError, match="one label per row"):
        permutation_test(X, g, strata=np.arange(3))
    with pytest.raises(ValueError, match="NaN"):
        permutation_test(np.array([1.0, np.nan, 0.0, 1.0]), g)
    with pytest.raises(ValueError, match="n_perm"):
        permutation_test(X, g, n_perm=0)


def test_bootstrap_diff_ci_covers_the_difference():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 1))
    g = np.arange(300) < 150
    X[g] += 1.0
    lo, hi = bootstrap_diff_ci(X, g, seed=0)
    lo_c, hi_c = bootstrap_diff_ci(X, g, clusters=np.tile(np.arange(150), 2), seed=0)
    assert lo[0] < 1.0 < hi[0] and lo_c[0] < 1.0 < hi_c[0]
    with pytest.raises(ValueError, match="level"):
        bootstrap_diff_ci(X, g, level=1.5)


def test_audit_table_and_errors():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"seg": np.repeat(["a", "b", "c"], 100), "m": rng.normal(size=300),
                       "k": np.tile(np.arange(100), 3)})
    df.loc[df.seg == "a", "m"] += 1.0
    out = audit(df, "seg", [("a", "b"), ("b", "c")], ["m"], strata="k", n_perm=500, n_boot=500)
    assert list(out.columns) == ["A", "B", "metric", "mean A", "mean B", "diff", "low", "high", "p", "p Holm",
                                 "significant"]
    assert out.significant.tolist() == [True, False]
    assert (out["p Holm"] >= out["p"]).all()
    with pytest.raises(ValueError, match="segment 'z' has no rows"):
        audit(df, "seg", [("a", "z")], ["m"])
    with pytest.raises(ValueError, match="not in df"):
        audit(df, "seg", [("a", "b")], ["nope"])
    with pytest.raises(ValueError, match="metrics is empty"):
        audit(df, "seg", [("a", "b")], [])
    with pytest.raises(TypeError, match="DataFrame"):
        audit(df.to_dict(), "seg", [("a", "b")], ["m"])
    with pytest.raises(ValueError, match="alpha"):
        audit(df, "seg", [("a", "b")], ["m"], alpha=5)


# ---- spelling corrector
def test_spelling_corrector():
    fix = spelling_corrector(["where is my order {order_id}", "please cancel the order {order_id}"])
    assert fix("Wehre is my ordr {order_id}? plase cancle it") == "where is my ordr {order_id}? please cancel it"
    assert fix("where is my order {order_id}") == "where is my order {order_id}"        # known text unchanged
    assert spelling_corrector(["order"], min_len=4)("ordr") == "order"
    with pytest.raises(TypeError, match="list of strings"):
        spelling_corrector("where is my order")
    with pytest.raises(ValueError, match="non-empty list"):
        spelling_corrector([])
    with pytest.raises(ValueError, match="min_len"):
        spelling_corrector(["a b"], min_len=0)
    with pytest.raises(TypeError, match="text must be a str"):
        fix(None)
