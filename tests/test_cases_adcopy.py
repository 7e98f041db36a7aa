"Tests for aigc_book.cases.adcopy (chapter 46): catalogue, checker, model wrapper, A/B statistics."
import random

import numpy as np
import pandas as pd
import pytest
import torch
from statsmodels.stats.proportion import proportions_ztest

from aigc_book.data import load_table
from aigc_book.cases.adcopy import (
    AD_LIMIT, AD_WORDS, NAME_SLOT, PROMPT_WIDTH, SEGMENTS, SEGMENT_WORDS, ad_batches, ad_prompt, ad_tokenizer,
    ad_with_check, car_facts, car_label, check_cars, check_segment, claims_table, click_prob, encode_examples,
    extract_claims, fact_check, fill_name, find_car, generate_ads, grammar_ad, load_ad_model,
    peeking_false_positives, product_options, rule_holds, sample_size_per_arm, simulated_power, split_by_name,
    synthetic_car, template_ad, to_slot, two_proportion_test, winners_curse, write_checked_ads)


@pytest.fixture(scope="module")
def cars():
    return load_table("cars")


@pytest.fixture(scope="module")
def pinto(cars):
    return find_car(cars, "Ford Pinto (1973)")         # 19 mpg, 85 hp, 4 cyl, 2,310 lb, 18.5 s, USA


@pytest.fixture(scope="module")
def shipped():
    torch.manual_seed(0)
    return load_ad_model()


# catalogue -------------------------------------------------------------------------------------------------
def test_catalogue_lookup(cars):
    options = product_options(cars)
    assert len({label for label, _ in options}) == len(cars) == 392
    assert find_car(cars, 0)["name"] == cars.loc[0, "name"]
    assert find_car(cars, "ford pinto (1973)")["year"] == 1973
    assert car_label(find_car(cars, 0)) == "Chevrolet Chevelle Malibu (1970)"


@pytest.mark.parametrize("key, match", [("Tesla Model 3 (2020)", "unknown product"), (99_999, "unknown product"),
                                        ("  ", "empty"), (3.5, "row label")])
def test_unknown_product_is_a_clear_error(cars, key, match):
    with pytest.raises((ValueError, TypeError), match=match):
        find_car(cars, key)


def test_bad_catalogue_and_segment(cars):
    with pytest.raises(TypeError, match="DataFrame"):
        check_cars(cars.to_dict())
    with pytest.raises(ValueError, match="mpg"):
        check_cars(cars.drop(columns="mpg"))
    with pytest.raises(ValueError, match="empty"):
        check_cars(cars.iloc[:0])
    with pytest.raises(ValueError, match="unknown segment"):
        check_segment("students")
    with pytest.raises(ValueError, match="missing attribute"):
        car_facts({"name": "x"})


# facts, prompts, templates, grammar ---------------------------------------------------------------------------
def test_facts_and_prompt(pinto):
    f = car_facts(pinto)
    assert (f["name"], f["mpg"], f["weight"], f["acceleration"]) == ("Ford Pinto", "19", "2,310", "18.5")
    p = ad_prompt(pinto, "commuter")
    assert len(p) == PROMPT_WIDTH and p.endswith(">") and "mpg=19|" in p and "Pinto" not in p
    ad = "Meet the Ford Pinto: 19 mpg."
    assert to_slot(ad, pinto) == f"Meet the {NAME_SLOT}: 19 mpg." and fill_name(to_slot(ad, pinto), pinto) == ad


def test_every_template_and_grammar_ad_passes(cars):
    rng = random.Random(0)
    for _, r in cars.iterrows():
        for s in SEGMENTS:
            for ad in (template_ad(r, s), grammar_ad(r, s, rng)):
                c = fact_check(ad, r, s)
                assert c["passes"] and c["coverage"] == 1 and len(ad) <= AD_LIMIT, ad


def test_grammar_uses_comparatives_only_when_true(cars):
    rng = random.Random(1)
    for _, r in cars.iterrows():
        ad = grammar_ad(r, "commuter", rng)
        for w in SEGMENT_WORDS["commuter"]:
            if f" {w} " in ad:
                assert rule_holds(w, r)
    with pytest.raises(ValueError, match="no rule"):
        rule_holds("roomy", cars.loc[0])


def test_synthetic_cars_fit_the_prompt():
    rng = random.Random(0)
    for _ in range(500):
        car = synthetic_car(rng)
        assert len(ad_prompt(car, "enthusiast")) == PROMPT_WIDTH
        assert fact_check(grammar_ad(car, "commuter", rng), car, "commuter")["passes"]


# checker ------------------------------------------------------------------------------------------------------
def test_extract_claims_masks_the_name(cars):
    opel = find_car(cars, "Opel 1900 (1971)")
    claims = extract_claims("The 1971 Opel 1900: 28 mpg.", "Opel 1900")
    assert [c["attribute"] for c in claims] == ["name", "mpg", "year"]
    assert fact_check("The 1971 Opel 1900: 28 mpg.", opel)["faithful"]
    assert [c["attribute"] for c in extract_claims("Opel 1900: 28 mpg.")] == ["mpg", "year"]  # no name: 1900 read


@pytest.mark.parametrize("ad, wrong", [
    ("Ford Pinto: 35 mpg, 2,310 lb, built in the USA.", ["mpg"]),
    ("Ford Pinto: 19.4 mpg, 2,310 lb, built in the USA.", ["mpg"]),
    ("The thrifty Ford Pinto: 19 mpg, 2,310 lb, built in the USA.", ["thrifty"]),
    ("Ford Pinto: 19 mpg, 2,310 lb, Japanese-built.", ["origin"]),
    ("Ford Pinto: 19 mpg, 2,31 lb, built in the USA.", ["unverified number"]),
    ("Ford Pintu: 19 mpg, 2,310 lb, built in the USA.", ["name"]),
    ("Ford Pinto: 85 hp, 6 cylinders, 0-60 in 18.5 s.", ["cylinders"])])
def test_fact_check_catches_false_claims(pinto, ad, wrong):
    c = fact_check(ad, pinto)
    assert [k["attribute"] for k in c["claims"] if not k["ok"]] == wrong
    assert not c["faithful"] and not c["passes"]
    assert list(claims_table(c).columns) == ["attribute", "stated", "true", "ok"]


def test_fact_check_coverage_length_and_words(pinto):
    assert fact_check("Ford Pinto: 19.0 mpg.", pinto)["faithful"]
    partial = fact_check("Ford Pinto: 19 mpg, built in the USA.", pinto, "commuter")
    assert partial["faithful"] and partial["coverage"] == pytest.approx(2 / 3) and not partial["passes"]
    long = fact_check("Ford Pinto: 19 mpg, 2,310 lb, built in the USA." + " Call us now." * 8, pinto, "commuter")
    assert long["faithful"] and not long["within_limit"] and not long["passes"]
    odd = fact_check("Ford Pinto: 19 mpg, 2,310 lb, built in the USA, very reliable.", pinto, "commuter")
    assert odd["faithful"] and odd["unknown_words"] == ["reliable", "very"] and not odd["passes"]
    assert {"thrifty", "test", "drive", "an"} <= AD_WORDS
    heavy = {"heavy": ("weight", ">=", 4000)}
    assert not fact_check("The heavy Ford Pinto: 19 mpg.", pinto, rules=heavy)["faithful"]


@pytest.mark.parametrize("ad, err, match", [("", ValueError, "empty"), ("   ", ValueError, "empty"),
                                            (None, TypeError, "must be a str")])
def test_fact_check_bad_input(pinto, ad, err, match):
    with pytest.raises(err, match=match):
        fact_check(ad, pinto)
    with pytest.raises(ValueError, match="unknown segment"):
        fact_check("Ford Pinto: 19 mpg.", pinto, "students")


# training data -------------------------------------------------------------------------------------------------
def test_split_and_batches(cars, pinto):
    train, test = split_by_name(cars)
    assert len(train) + len(test) == len(cars) and not set(train["name"]) & set(test["name"])
    with pytest.raises(ValueError, match="test_frac"):
        split_by_name(cars, test_frac=1.5)
    tok = ad_tokenizer()
    x, y = encode_examples([(ad_prompt(pinto, "commuter"), "Meet the @: 19 mpg.")], tok)
    assert x.shape == y.shape and (y[0, :PROMPT_WIDTH - 1] == -100).all()
    assert tok.decode(y[0][y[0] != -100]) == "Meet the @: 19 mpg.\n"
    get = ad_batches(train, tok, batch_size=4, seed=0)
    a, b = get(3), get(3)
    assert torch.equal(a[0], b[0]) and a[0].shape[0] == 4


# model wrapper -------------------------------------------------------------------------------------------------
def test_generation_and_filter(cars, shipped):
    model, tok, curve = shipped
    assert len(curve) > 100 and model.config.block_size == PROMPT_WIDTH + AD_LIMIT + 1
    items = [(find_car(cars, "Datsun 1200 (1971)"), s) for s in SEGMENTS]
    ads = generate_ads(model, tok, [ad_prompt(c, s) for c, s in items], n=2, seed=0)
    assert len(ads) == 3 and all(len(a) == 2 and isinstance(a[0], str) for a in ads)
    assert ads == generate_ads(model, tok, [ad_prompt(c, s) for c, s in items], n=2, seed=0)   # seeded
    out = write_checked_ads(model, tok, items, tries=3, seed=0)
    assert all(fact_check(o["ad"], c, s)["passes"] for o, (c, s) in zip(out, items))
    assert all(o["source"] in ("model", "template fallback") for o in out)


@pytest.mark.parametrize("prompts, match", [([""], "empty"), ([], "empty"), (["short>"], "PROMPT_WIDTH")])
def test_empty_or_bad_prompt_is_a_clear_error(shipped, prompts, match):
    model, tok, _ = shipped
    with pytest.raises(ValueError, match=match):
        generate_ads(model, tok, prompts)
    with pytest.raises(TypeError, match="list"):
        generate_ads(model, tok, "commuter|USA>")


def test_widget_logic(cars, shipped):
    model, tok, _ = shipped
    r = ad_with_check(model, tok, cars, "Buick Century 350 (1973)", "enthusiast", seed=0)
    assert r["shipped_check"]["passes"] and r["car"] == "Buick Century 350 (1973)"
    with pytest.raises(ValueError, match="unknown product"):
        ad_with_check(model, tok, cars, "Tesla Model 3 (2020)", "commuter")
    with pytest.raises(ValueError, match="unknown segment"):
        ad_with_check(model, tok, cars, 0, "students")
    with pytest.raises(ValueError, match="non-empty list"):
        write_checked_ads(model, tok, [])


# clicks and A/B statistics -------------------------------------------------------------------------------------
def test_click_model(pinto):
    ad = template_ad(pinto, "commuter")
    logit = np.log(0.02 / 0.98) + 3 * 0.10 + 0.10
    assert click_prob(ad, "commuter", pinto) == pytest.approx(1 / (1 + np.exp(-logit)))
    assert click_prob("The thrifty " + ad, "commuter", pinto) > click_prob(ad, "commuter", pinto)
    assert click_prob(ad + " Call us now." * 5, "commuter", pinto) < click_prob(ad, "commuter", pinto)
    with pytest.raises(ValueError, match="unknown segment"):
        click_prob(ad, "students")


def test_two_proportion_test_matches_statsmodels():
    r = two_proportion_test(600, 20_000, 680, 20_000)
    z, p = proportions_ztest([680, 600], [20_000, 20_000])
    assert r["z"] == pytest.approx(z) and r["p_value"] == pytest.approx(p)
    assert r["ci_low"] < r["uplift"] < r["ci_high"] and r["relative_uplift"] == pytest.approx(80 / 600)
    vec = two_proportion_test(np.array([600, 610]), np.array([20_000, 20_000]), np.array([680, 600]),
                              np.array([20_000, 20_000]))
    assert vec["z"].shape == (2,)
    with pytest.raises(ValueError, match="clicks_a <= n_a"):
        two_proportion_test(30, 20, 10, 20)
    with pytest.raises(TypeError, match="integer"):
        two_proportion_test(3.5, 20, 10, 20)


def test_sample_size_and_power():
    n = sample_size_per_arm(0.03, 0.10)
    pb = 0.033
    pbar = (0.03 + pb) / 2
    hand = ((1.959964 * np.sqrt(2 * pbar * (1 - pbar)) + 0.841621 * np.sqrt(0.03 * 0.97 + pb * (1 - pb))) / 0.003) ** 2
    assert abs(n - hand) <= 2
    assert sample_size_per_arm(0.03, 0.05) > 3.5 * n
    assert abs(simulated_power(0.03, 0.033, n, reps=3000, seed=0) - 0.8) < 0.04
    for bad in [(0.0, 0.1), (0.03, 0.0), (0.6, 1.0)]:
        with pytest.raises(ValueError):
            sample_size_per_arm(*bad)


def test_winners_curse_and_peeking():
    wc = winners_curse(0.03, [0.03] * 10, n=5_000, reps=1000, seed=0)
    assert list(wc.columns) == ["winner", "estimated", "true", "retest"]
    assert (wc["true"] == 0).all() and wc["estimated"].mean() > 0.002 and abs(wc["retest"].mean()) < 0.0005
    with pytest.raises(ValueError, match="probabilities"):
        winners_curse(0.03, [1.2], n=100)
    with pytest.raises(ValueError, match="positive int"):
        winners_curse(0.03, [0.03], n=0)
    fp = peeking_false_positives(0.03, n_per_look=5_000, looks=10, reps=2000, seed=0)
    assert fp["fixed"] < 0.08 and fp["peeking"] > 0.12
