"""Tests for aigc_book.cases.scenarios (chapter 42): data, stylised facts, generators, risk and backtests."""
import math
import numpy as np
import pandas as pd
import pytest
import torch
from aigc_book.cases.scenarios import (
    load_returns, check_returns, portfolio, acf, hill_tail_index, stylised_facts, state_features, paths_ahead,
    bivariate_normal_nll, ScenarioCVAE, cvae_pairs, cvae_rollout, load_scenario_cvae, CVAE_CONFIG,
    gaussian_paths, block_bootstrap, GarchT, var_es, kupiec_pof, christoffersen_ind, es_z2, z2_test, backtest,
    spread_multiplier, scenario_view, scenario_widget)


@pytest.fixture(scope="module")
def returns():
    return load_returns().to_numpy()


def toy_returns(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2)) @ np.linalg.cholesky([[1.0, 0.8], [0.8, 1.0]]).T


def test_load_returns():
    R = load_returns()
    assert list(R.columns) == ["sp500", "nasdaq"] and R.shape == (5030, 2)
    assert isinstance(R.index, pd.DatetimeIndex) and R.index.is_monotonic_increasing
    assert R.abs().max().max() < 20                       # percent units, no price jumps left
    with pytest.raises(TypeError, match="non-empty list"):
        load_returns("sp500")


def test_check_returns_and_portfolio():
    r = toy_returns(10)
    assert check_returns(pd.DataFrame(r)).shape == (10, 2)
    with pytest.raises(TypeError, match="numpy array or DataFrame"):
        check_returns([[1.0, 2.0]])
    with pytest.raises(ValueError, match="shape \\(days, assets\\)"):
        check_returns(r[:, 0])
    with pytest.raises(ValueError, match="at least 20 days"):
        check_returns(r, min_len=20)
    bad = r.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        check_returns(bad, name="train")
    np.testing.assert_allclose(portfolio(r), r.mean(1))
    with pytest.raises(ValueError, match="sum to 1"):
        portfolio(r, (0.3, 0.3))
    with pytest.raises(ValueError, match="one entry per asset"):
        portfolio(r, (1.0,))


def test_acf_hill_and_facts():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3000)
    assert np.abs(acf(x, 10)).max() < 0.06
    ar = np.zeros(3000)
    for t in range(1, 3000):
        ar[t] = 0.7 * ar[t - 1] + x[t]
    assert abs(acf(ar, 1)[0] - 0.7) < 0.05
    assert abs(hill_tail_index(-(rng.pareto(2.0, 100_000) + 1)) - 2.0) < 0.1
    with pytest.raises(ValueError, match="1-D"):
        acf(np.ones((5, 2)))
    with pytest.raises(ValueError, match="constant"):
        acf(np.ones(100), 3)
    with pytest.raises(ValueError, match="tail must be in"):
        hill_tail_index(x, tail=0.0)
    f = stylised_facts(toy_returns(2000))
    assert set(f) == {"excess kurtosis", "tail index", "ACF r lag 1", "ACF |r| 1-50", "correlation"}
    assert abs(f["correlation"] - 0.8) < 0.05 and abs(f["excess kurtosis"]) < 0.5
    f2 = stylised_facts(np.stack([toy_returns(500, 1), toy_returns(500, 2)]))
    assert abs(f2["correlation"] - 0.8) < 0.1
    with pytest.raises(ValueError, match="A >= 2"):
        stylised_facts(np.zeros((100, 1)))


def test_state_features_and_paths():
    r = toy_returns(100)
    f = state_features(r)
    assert f.shape == (100, 8)
    assert np.isnan(f[58]).any() and np.isfinite(f[59:]).all()
    np.testing.assert_allclose(f[70, 0], 0.5 * np.log(np.mean(r[66:71, 0] ** 2) + 1e-4))
    np.testing.assert_allclose(f[70, 6:], r[70])
    p = paths_ahead(r, 5)
    assert p.shape == (95, 5, 2)
    np.testing.assert_array_equal(p[3], r[4:9])
    with pytest.raises(ValueError, match="positive int"):
        paths_ahead(r, 0)


def test_bivariate_normal_nll_matches_torch():
    torch.manual_seed(0)
    x, mu, ls = torch.randn(4, 3, 2), torch.randn(4, 3, 2), 0.2 * torch.randn(4, 3, 2)
    rho = torch.tanh(torch.randn(4, 3))
    s = ls.exp()
    cov = torch.stack([torch.stack([s[..., 0] ** 2, rho * s[..., 0] * s[..., 1]], -1),
                       torch.stack([rho * s[..., 0] * s[..., 1], s[..., 1] ** 2], -1)], -2)
    ref = -torch.distributions.MultivariateNormal(mu, covariance_matrix=cov).log_prob(x).sum(1)
    torch.testing.assert_close(bivariate_normal_nll(x, mu, ls, rho), ref, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="must share a shape"):
        bivariate_normal_nll(x, mu[:, :2], ls, rho)


def test_scenario_cvae_shapes_and_errors():
    r = toy_returns(300)
    f, x = cvae_pairs(r, 300, horizon=10)
    assert f.shape == (300 - 10 - 59, 8) and x.shape == (300 - 10 - 59, 10, 2)
    np.testing.assert_array_equal(x[0], r[60:70])        # the state of day 59 predicts days 60..69
    m = ScenarioCVAE(**CVAE_CONFIG).set_scales(f, r)
    loss, logs = m.loss(torch.tensor(x[:16], dtype=torch.float32), m.condition(f[:16]))
    assert loss.ndim == 0 and torch.isfinite(loss) and set(logs) == {"recon", "kl"}
    s = m.sample(f[:3], 7, torch.Generator().manual_seed(0))
    assert s.shape == (3, 7, 10, 2) and s.dtype == np.float64
    assert m.sample(f[:3], 7, days=1).shape == (3, 7, 1, 2)
    s2 = m.sample(f[:3], 7, torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(s, s2)
    path = cvae_rollout(m, r, 25, torch.Generator().manual_seed(0))
    assert path.shape == (25, 2) and np.isfinite(path).all()
    with pytest.raises(ValueError, match="features must have shape"):
        m.sample(f[:3, :5], 2)
    with pytest.raises(ValueError, match="NaN"):
        m.sample(state_features(r)[:2], 2)
    with pytest.raises(ValueError, match="n must be a positive int"):
        m.sample(f[:3], 0)
    with pytest.raises(ValueError, match="days must be an int"):
        m.sample(f[:3], 2, days=11)
    with pytest.raises(ValueError, match="end must be in"):
        cvae_pairs(r, 50)
    with pytest.raises(ValueError, match="horizon must be a positive int"):
        ScenarioCVAE(horizon=0)


def test_load_scenario_cvae(returns):
    m = load_scenario_cvae("2012", 0)
    assert not m.training
    f = state_features(returns)
    s = m.sample(f[-2:], 50, torch.Generator().manual_seed(0), days=1)
    assert s.shape == (2, 50, 1, 2) and 0.1 < s.std() < 10
    assert load_scenario_cvae("2009", 4).horizon == 10
    with pytest.raises(ValueError, match="fit must be one of"):
        load_scenario_cvae("1999")
    with pytest.raises(ValueError, match="seed must be in"):
        load_scenario_cvae("2012", 5)


def test_unconditional_baselines():
    r = toy_returns(500)
    rng = np.random.default_rng(0)
    g = gaussian_paths(r, 4000, 3, rng)
    assert g.shape == (4000, 3, 2)
    np.testing.assert_allclose(np.cov(g.reshape(-1, 2).T), np.cov(r.T), atol=0.08)
    b = block_bootstrap(r, 5, 23, rng, block=10)
    assert b.shape == (5, 23, 2)
    start = np.flatnonzero((r == b[2, 10]).all(1))[0]
    np.testing.assert_array_equal(b[2, 10:20], r[start:start + 10])
    with pytest.raises(TypeError, match="numpy Generator"):
        gaussian_paths(r, 2, 2, rng=1)
    with pytest.raises(ValueError, match="block must be a positive int"):
        block_bootstrap(r, 2, 5, rng, block=0)


def test_garch_t(returns):
    g = GarchT(returns[:3000])
    assert g.params.shape == (2, 5)
    mu, omega, alpha, beta, nu = g.params[0]
    assert 0 < alpha < 0.2 and 0.8 < beta < 1 and alpha + beta < 1 and 4 < nu < 30
    sig = g.filter(returns)
    assert sig.shape == (len(returns) + 1, 2) and (sig > 0).all()
    s2 = omega + alpha * (returns[99, 0] - mu) ** 2 + beta * sig[99, 0] ** 2
    assert math.isclose(sig[100, 0] ** 2, s2, rel_tol=1e-12)   # σ_100 uses returns up to day 99 only
    z = g.shocks((100_000,), np.random.default_rng(0))
    np.testing.assert_allclose(z.var(0), [1, 1], atol=0.06)
    paths = g.simulate(sig[[3000, 3100]], 50, 10, np.random.default_rng(0))
    assert paths.shape == (2, 50, 10, 2)
    with pytest.raises(ValueError, match="sigma_next must have shape"):
        g.simulate(sig[3000], 5, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 250 days"):
        GarchT(returns[:100])


def test_var_es_normal():
    z = np.random.default_rng(0).standard_normal(400_000)
    var, es = var_es(z)
    assert abs(var - 2.3263) < 0.02 and abs(es - 2.3378) < 0.03
    var2, _ = var_es(np.stack([z[:1000], 2 * z[:1000]]))
    assert var2.shape == (2,) and math.isclose(var2[1], 2 * var2[0])
    with pytest.raises(ValueError, match="at least 40 scenarios"):
        var_es(z[:10])
    with pytest.raises(ValueError, match="es_level must be"):
        var_es(z, es_level=0.2)


def test_kupiec_and_christoffersen_hand_case():
    hand = [0, 0, 1, 1, 0, 0, 0, 0, 0, 1]
    lr, p = kupiec_pof(hand, 0.1)
    assert math.isclose(lr, 3.07328, abs_tol=1e-4) and math.isclose(p, 0.07961, abs_tol=1e-4)
    assert math.isclose(christoffersen_ind(hand)[0], 0.30889, abs_tol=1e-4)
    assert kupiec_pof([True] * 1 + [False] * 99, 0.01)[0] < 1e-9      # exactly the promised rate
    assert christoffersen_ind([0] * 50)[0] == 0.0
    with pytest.raises(ValueError, match="booleans or 0/1"):
        kupiec_pof([0, 3])
    with pytest.raises(ValueError, match="p must be in"):
        kupiec_pof([0, 1], 1.5)
    with pytest.raises(ValueError, match="1-D"):
        christoffersen_ind(np.zeros((3, 3)))


def test_z2_and_backtest():
    rng = np.random.default_rng(0)
    scen = rng.standard_normal((800, 500))
    assert es_z2([-3.0, 0.0], [2.0, 2.0], [2.5, 2.5], alpha=0.5) == pytest.approx(-3 / 2.5 / 1.0 + 1)
    z_bad, p_bad = z2_test(1.5 * rng.standard_normal(800), scen, rng=rng)
    assert z_bad < -0.5 and p_bad < 0.01
    with pytest.raises(ValueError, match="1-D of one length"):
        es_z2([1.0, 2.0], [1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="scenarios must have shape"):
        z2_test(np.zeros(10), scen)
    out = backtest(rng.standard_normal(800), scen, rng=rng)
    keys = {"VaR", "ES", "breaches", "breach rate", "back-to-back", "Kupiec p", "Christoffersen p",
            "Z2", "Z2 p"}
    assert keys <= set(out)
    assert 0 <= out["breach rate"] < 0.03 and out["Kupiec p"] > 0.001
    with pytest.raises(ValueError, match="pnl must be"):
        backtest(np.zeros(5), scen)


def test_spread_multiplier():
    rng = np.random.default_rng(0)
    scen = rng.standard_normal((2000, 400))
    k = spread_multiplier(1.3 * rng.standard_normal(2000), scen)
    assert 1.1 < k < 1.5
    var = var_es(k * scen)[0]
    assert abs((-1.3 * rng.standard_normal(2000) > var).mean() - 0.01) < 0.008
    with pytest.raises(ValueError, match="one row per day"):
        spread_multiplier(np.zeros(5), scen)


def test_scenario_view_and_widget():
    paths = np.random.default_rng(0).standard_normal((500, 10, 2))
    v = scenario_view(paths, 0.95)
    assert v["bands"].shape == (5, 10) and list(v["days"]) == list(range(1, 11))
    assert (np.diff(v["bands"], axis=0) >= 0).all() and v["ES"] >= v["VaR"] > 0
    assert scenario_view(paths, 0.99)["VaR"] > v["VaR"]
    with pytest.raises(ValueError, match="shape \\(n, horizon, assets\\)"):
        scenario_view(paths[0], 0.99)
    with pytest.raises(ValueError, match="level must be"):
        scenario_view(paths, 0.3)
    import matplotlib
    matplotlib.use("Agg")
    def draw(name, n, seed):
        return np.random.default_rng(seed).standard_normal((n, 5, 2))
    w = scenario_widget(draw, ["a", "b"], n=100)
    assert w.children[0].children[0].options == ("a", "b")
