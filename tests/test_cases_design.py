import numpy as np
import pandas as pd
import pytest
import torch

from aigc_book.data import load_table
from aigc_book.cases.design import (SPECS, FREE, SHOW, SHORTLIST_SCORES, Brief, SpecScale, MpgChecker,
                                    check_specs, brief_margin, brief_support, design_condition,
                                    design_metrics, distinct_count, fit_mpg_checker, nearest_neighbour,
                                    pareto_front, propose_cvae, propose_perturbed, rule_checks, score_designs,
                                    shortlist, shortlist_for, train_cvae)


@pytest.fixture(scope="module")
def cars():
    return load_table("cars")


@pytest.fixture(scope="module")
def scale(cars):
    return SpecScale.fit(cars)


@pytest.fixture(scope="module")
def checker(cars):
    return fit_mpg_checker(cars, seed=0)


@pytest.fixture(scope="module")
def model(cars, scale):
    return train_cvae(cars, scale, steps=60, seed=0, progress=False)[0]


# ---- spec tables and briefs: bad input gives clear errors
def test_check_specs_accepts_real_cars(cars):
    assert check_specs(cars) is cars


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.drop(columns="weight"), "missing column(s) ['weight']"),
    (lambda t: t.drop(columns="origin"), "missing column(s) ['origin']"),
    (lambda t: t.assign(horsepower=t.horsepower.astype(str)), "['horsepower'] must be numeric"),
    (lambda t: t.assign(year=True), "['year'] must be numeric"),
    (lambda t: t.assign(mpg=np.nan), "NaN or infinite values in column(s) ['mpg']"),
    (lambda t: t.assign(origin="Mars"), "origin must be one of"),
    (lambda t: t.head(0), "empty"),
])
def test_check_specs_rejects_bad_tables(cars, edit, message):
    with pytest.raises(ValueError, match=None) as e:
        check_specs(edit(cars), "designs")
    assert message in str(e.value) and "designs" in str(e.value)


def test_check_specs_rejects_non_dataframes(cars):
    with pytest.raises(TypeError, match="DataFrame"):
        check_specs(cars.to_numpy())


def test_brief_validation_and_text():
    assert str(Brief("Japan", 35, 90)) == "Japan, ≥ 35 mpg, ≥ 90 hp"
    with pytest.raises(ValueError, match="origin"):
        Brief("Mars", 35, 90)
    with pytest.raises(ValueError, match="min_mpg"):
        Brief("Japan", 0, 90)
    with pytest.raises(ValueError, match="min_hp"):
        Brief("Japan", 35, float("nan"))
    with pytest.raises(ValueError, match="min_hp"):
        Brief("Japan", 35, "90")


# ---- scale, novelty, brief margin
def test_scale_roundtrip_and_nn_median(cars, scale):
    back = scale.unz(scale.z(cars))
    np.testing.assert_allclose(back.to_numpy(), cars[list(SPECS)].to_numpy(float), rtol=1e-9)
    assert 0.2 < scale.nn_median < 0.8
    with pytest.raises(ValueError, match="shape"):
        scale.unz(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="at least 3 cars"):
        SpecScale.fit(cars.head(2))


def test_nearest_neighbour():
    a, b = np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 1.0], [3.0, 3.0]])
    d, i = nearest_neighbour(a, b)
    np.testing.assert_allclose(d, [1.0, 1.0])
    assert i.tolist() == [0, 1]
    d, _ = nearest_neighbour(b, b, exclude_self=True)
    np.testing.assert_allclose(d, [np.sqrt(13)] * 2)
    with pytest.raises(ValueError, match="same number of columns"):
        nearest_neighbour(a, b[:, :1])


def test_brief_margin(cars, scale):
    brief = Brief("Japan", 35, 90)
    m = brief_margin(cars, brief, scale)
    meets = (cars.origin == "Japan") & (cars.mpg >= 35) & (cars.horsepower >= 90)
    assert ((m >= 0) == meets.to_numpy()).all()
    assert np.isinf(m[(cars.origin != "Japan").to_numpy()]).all()
    with pytest.raises(TypeError, match="Brief"):
        brief_margin(cars, "Japan", scale)


# ---- feasibility
def test_rules_pass_real_cars_and_catch_odd_designs(cars):
    assert rule_checks(cars, cars).all(axis=None)
    odd = cars.head(3).assign(cylinders=[7, 4, 4], displacement=[120, 30, 120], weight=[2500, 2500, 9000])
    r = rule_checks(odd, cars)
    assert not r["cylinders"].iloc[0]
    assert not r["displacement/cylinder"].iloc[1]
    assert not r["inside real ranges"].iloc[2]


def test_mpg_checker_calibration(cars, checker):
    assert isinstance(checker, MpgChecker)
    held = cars.drop(index=checker.train_index)
    assert len(held) == 98 and (checker.headroom(held) >= 0).mean() >= 0.95
    assert checker.heldout_mae < 3.0
    liar = cars.head(1).assign(cylinders=6, displacement=225.0, weight=3300, mpg=40.0)
    assert checker.headroom(liar)[0] < 0
    with pytest.raises(ValueError, match="alpha"):
        fit_mpg_checker(cars, alpha=1.5)
    with pytest.raises(ValueError, match="calib_frac"):
        fit_mpg_checker(cars, calib_frac=0)
    with pytest.raises(ValueError, match="too few cars"):
        fit_mpg_checker(cars.head(30))


# ---- generator and baseline
def test_condition_and_cvae_shapes(cars, scale, model):
    c = design_condition(scale, "Japan", [35, 36], [90, 95])
    assert c.shape == (2, 5) and c[:, 2].eq(1).all()
    with pytest.raises(ValueError, match="same non-zero length"):
        design_condition(scale, "Japan", [35, 36], [90])
    with pytest.raises(ValueError, match="origin"):
        design_condition(scale, ["Mars", "USA"], [35, 36], [90, 95])
    assert model.sample(c).shape == (2, len(FREE))
    with pytest.raises(ValueError, match=r"shape \(B, 5\)"):
        model.sample(torch.zeros(2, 4))
    with pytest.raises(TypeError, match="float tensor"):
        model.sample(np.zeros((2, 5)))
    loss, logs = model.loss(torch.zeros(4, 5), torch.zeros(4, 5))
    assert loss.ndim == 0 and set(logs) == {"recon", "kl"}


def test_proposals_meet_the_brief_by_construction(cars, scale, model):
    brief = Brief("Europe", 30, 80)
    generated = propose_cvae(model, scale, brief, n=20, seed=1)
    perturbed = propose_perturbed(cars, scale, brief, n=20, seed=1)
    for d in (generated, perturbed):
        check_specs(d)
        assert len(d) == 20 and (d.origin == "Europe").all()
        assert (d.mpg >= 30).all() and (d.horsepower >= 80).all()
        assert (d.cylinders == d.cylinders.round()).all() and (d.year == d.year.round()).all()
    a = propose_cvae(model, scale, brief, n=20, seed=1)
    pd.testing.assert_frame_equal(a, propose_cvae(model, scale, brief, n=20, seed=1))
    mean = propose_cvae(model, scale, brief, n=20, seed=1, noise=False)
    assert not np.allclose(a[list(FREE)].to_numpy(), mean[list(FREE)].to_numpy())
    with pytest.raises(ValueError, match="n must be"):
        propose_cvae(model, scale, brief, n=0)
    with pytest.raises(TypeError, match="SpecCVAE"):
        propose_cvae("model", scale, brief)
    with pytest.raises(ValueError, match="sigma"):
        propose_perturbed(cars, scale, brief, sigma=-1)
    with pytest.raises(TypeError, match="Brief"):
        propose_perturbed(cars, scale, "Europe")


def test_brief_support(cars, scale):
    far = brief_support(Brief("Japan", 35, 90), cars, scale)
    near = brief_support(Brief("USA", 25, 100), cars, scale)
    assert far > near > 0
    with pytest.raises(ValueError, match="fewer than k"):
        brief_support(Brief("Japan", 35, 90), cars[cars.origin == "Japan"].head(3), scale)


# ---- scoring, metrics, shortlist
def test_score_and_metrics(cars, scale, checker, model):
    brief = Brief("USA", 25, 100)
    s = score_designs(propose_perturbed(cars, scale, brief, n=50, seed=0), brief, cars, scale, checker)
    assert (s.useful == (s.rules_ok & s.honest & s.novel & s.meets_brief)).all()
    assert s.nearest.isin(cars.name).all()
    m = design_metrics(s, scale)
    assert set(m) == {"feasible", "novel", "meets_brief", "useful", "distinct", "diversity"}
    assert 0 <= m["distinct"] <= m["useful"] <= m["feasible"] <= 100
    with pytest.raises(TypeError, match="MpgChecker"):
        score_designs(s, brief, cars, scale, "checker")
    with pytest.raises(ValueError, match="score_designs"):
        design_metrics(cars, scale)


def test_distinct_count():
    z = np.array([[0.0, 0.0], [0.1, 0.0], [2.0, 0.0], [2.05, 0.0]])
    assert distinct_count(z, 1.0) == 2
    assert distinct_count(z, 0.01) == 4
    assert distinct_count(np.zeros((0, 2)), 1.0) == 0


def test_pareto_front():
    s = np.array([[1, 1], [2, 0], [0, 2], [0.5, 0.5], [1, 1]])
    assert pareto_front(s).tolist() == [True, True, True, False, True]
    with pytest.raises(ValueError, match="2-D"):
        pareto_front(np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        pareto_front(np.array([[np.nan, 1.0]]))


def test_shortlist_and_impossible_brief(cars, scale, checker):
    brief = Brief("USA", 25, 100)
    s = score_designs(propose_perturbed(cars, scale, brief, n=100, seed=0), brief, cars, scale, checker)
    short = shortlist(s, brief)
    assert len(short) >= 1 and short.useful.all()
    assert pareto_front(short[list(SHORTLIST_SCORES)].to_numpy()).all()
    impossible = Brief("Japan", 60, 200)
    proposals = propose_perturbed(cars, scale, impossible, n=30, seed=0)
    bad = score_designs(proposals, impossible, cars, scale, checker)
    with pytest.raises(ValueError, match="no design meets the brief 'Japan, ≥ 60 mpg, ≥ 200 hp'"):
        shortlist(bad, impossible)
    with pytest.raises(ValueError, match="score_designs"):
        shortlist(cars, brief)


def test_shortlist_for(cars, scale, checker, model):
    brief = Brief("USA", 25, 100)
    sl = shortlist_for(brief, model, cars, scale, checker, method="perturb", n=100)
    assert list(sl.columns) == SHOW and len(sl) >= 1
    with pytest.raises(ValueError, match="method"):
        shortlist_for(brief, model, cars, scale, checker, method="gan")
    with pytest.raises(ValueError, match="Japan, ≥ 60 mpg, ≥ 200 hp"):
        shortlist_for(Brief("Japan", 60, 200), model, cars, scale, checker, n=50)
