import math
from dataclasses import replace
import pytest
from aigc_book.cases.roi import (ContentCosts, check_costs, cost_per_item, break_even_volume, roi, simulate_costs,
                                 tornado, roi_summary, roi_widget)


def test_cost_per_item_by_hand():
    c = ContentCosts(human_cost=10, human_error_rate=0.1, error_cost=100, gen_cost=1, pass_rate=0.5, max_tries=2,
                     review_cost=2, gen_error_rate=0.0, fixed_cost=100, volume=50)
    k = cost_per_item(c)
    # human: 10 + 0.1*100 = 20; accepted q = 0.75, tries = 1.5; gen = 1*1.5 + 0.75*2 + 0.25*20 = 8
    assert k["human"] == pytest.approx(20) and k["accepted"] == pytest.approx(0.75)
    assert k["tries"] == pytest.approx(1.5) and k["generator"] == pytest.approx(8)
    assert break_even_volume(c) == pytest.approx(100 / 12)
    assert roi(c) == pytest.approx((50 * 12 - 100) / 100)


def test_simulation_agrees_with_formula():
    c = ContentCosts()
    exact, mc = cost_per_item(c), simulate_costs(c, n_items=100_000, seed=1)
    for k in ("human", "generator"):
        assert abs(exact[k] - mc[k]) < 4 * mc[f"{k} se"]


def test_no_saving_and_zero_fixed_cost():
    c = ContentCosts(human_cost=0.01, human_error_rate=0.0)
    assert cost_per_item(c)["saving"] < 0 and math.isinf(break_even_volume(c))
    assert roi(replace(ContentCosts(), fixed_cost=0.0)) == math.inf


@pytest.mark.parametrize("change, match", [
    (dict(pass_rate=1.2), "pass_rate is a rate"), (dict(gen_error_rate=-0.1), "gen_error_rate must be >= 0"),
    (dict(pass_rate=0.0), "never passes"), (dict(max_tries=1.5), "max_tries"),
    (dict(volume=float("nan")), "volume must be a finite number"), (dict(human_cost="3"), "human_cost"),
    (dict(review_cost=True), "review_cost")])
def test_bad_parameters(change, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cost_per_item(replace(ContentCosts(), **change))


def test_check_costs_type():
    with pytest.raises(TypeError, match="ContentCosts"):
        check_costs({"human_cost": 1})
    with pytest.raises(ValueError, match="n_items"):
        simulate_costs(ContentCosts(), n_items=0)


def test_tornado():
    t = tornado(ContentCosts(), {"human_cost": (20, 80), "pass_rate": (0.4, 0.6)})
    assert list(t.parameter) == ["human_cost", "pass_rate"]                 # sorted by swing
    assert t.loc[0, "at high"] > t.loc[0, "at low"]
    with pytest.raises(ValueError, match="unknown parameter"):
        tornado(ContentCosts(), {"price": (1, 2)})
    with pytest.raises(ValueError, match="low, high"):
        tornado(ContentCosts(), {"human_cost": 3})
    with pytest.raises(ValueError, match="non-empty"):
        tornado(ContentCosts(), {})


def test_summary_and_widget():
    s = roi_summary(ContentCosts())
    assert "break-even: 572 items" in s and "ROI at 5,000 items" in s
    assert "never" in roi_summary(ContentCosts(human_cost=0.01, human_error_rate=0.0))
    w = roi_widget()
    sliders, out = w.children[:-1], w.children[-1]
    before = out.value
    sliders[0].value = 100.0                                                  # human_cost
    assert out.value != before and "ROI" in out.value
