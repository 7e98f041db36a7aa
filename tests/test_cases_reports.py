"Tests for aigc_book.cases.reports: records, template writer, fact checker, model, filter, diversity."
import random
import numpy as np
import pandas as pd
import pytest
import torch
from aigc_book.cases.reports import (daily_records, template_report, write_reports, linearise,
                                     ReportTokenizer, check_report, is_true, plant_error, PLANTS, prompts,
                                     encode_pairs, reject_and_regenerate, reference_scores, distinct_n,
                                     self_bleu, PROMPT_LEN)


def _prices(closes, volumes=None, start="2010-01-01"):
    idx = pd.bdate_range(start, periods=len(closes))
    vol = np.full(len(closes), 1e9) if volumes is None else volumes
    return pd.DataFrame({"Close": np.asarray(closes, dtype=float), "Volume": vol}, index=idx)


@pytest.fixture(scope="module")
def rising():
    "A year of slow decline, then 5 up days to a 52-week high on heavy volume."
    closes = list(np.linspace(1200, 1000, 260)) + [1010, 1030, 1100, 1250, 1300]
    vols = np.full(len(closes), 1e9)
    vols[-1] = 1.5e9
    return daily_records(_prices(closes, vols), "S&P 500")


def test_daily_records_fields(rising):
    r = rising.iloc[-1]
    assert r["streak"] == 5 and r["high_run"] == 251 and r["low_run"] == 0
    assert r["change"] == pytest.approx(50.0) and r["pct"] == pytest.approx(4.0)
    assert r["volume_pct"] == pytest.approx(50.0)
    down = rising.iloc[-7]                                  # still in the decline
    assert down["streak"] < -1 and down["low_run"] == 251 and down["high_run"] == 0


def test_daily_records_bad_input():
    good = _prices(np.linspace(100, 120, 300))
    with pytest.raises(ValueError, match="missing column"):
        daily_records(good.drop(columns="Volume"), "X")
    bad = good.copy()
    bad["Close"] = bad["Close"].astype(str)
    with pytest.raises(TypeError, match="numeric"):
        daily_records(bad, "X")
    with pytest.raises(ValueError, match="at least"):
        daily_records(good.iloc[:100], "X")
    with pytest.raises(ValueError, match="positive"):
        daily_records(good.assign(Close=np.r_[good.Close.to_numpy()[:-1], np.nan]), "X")
    with pytest.raises(ValueError, match="DatetimeIndex"):
        daily_records(good.reset_index(drop=True), "X")
    with pytest.raises(ValueError, match="name"):
        daily_records(good, "")
    with pytest.raises(TypeError, match="DataFrame"):
        daily_records(good.Close, "X")


def test_zero_volume_is_missing():
    vols = np.full(300, 1e9)
    vols[-1] = 0
    rec = daily_records(_prices(np.linspace(100, 120, 300), vols), "X").iloc[-1]
    assert np.isnan(rec["volume_pct"])
    text = template_report(rec, seed=0)
    assert "Volume" not in text and is_true(check_report(text, rec))
    assert not is_true(check_report(text + " Volume was 5% above its 20-day average.", rec))


def test_template_is_true_and_varied(rising):
    recs = rising.to_dict("records")
    texts = write_reports(rising, seed=0)
    assert all(is_true(check_report(t, r)) for t, r in zip(texts, recs))
    last = {template_report(recs[-1], seed=s) for s in range(30)}
    assert len(last) > 5
    assert all("fifth" in t or "5 sessions" in t for t in last)
    assert template_report(recs[-1], seed=3) == template_report(recs[-1], seed=3)


def test_checker_catches_planted_errors(rising):
    rec = rising.iloc[-1].to_dict()
    text = "The S&P 500 rose 50.00 points, or 4.00%, to 1,300.00. It was the fifth straight gain."
    assert is_true(check_report(text, rec))
    wrong = {"number": text.replace("1,300.00", "1,310.00"), "direction": text.replace("rose", "fell"),
             "streak": text.replace("fifth", "fourth"),
             "high-low": text + " It was a new 52-week low."}
    for kind, bad in wrong.items():
        claims = check_report(bad, rec)
        assert not is_true(claims), kind
        assert any(c.kind == kind and not c.ok for c in claims), kind
    for kind in PLANTS:
        planted = plant_error(text, kind, seed=1)
        if planted is not None:
            assert not is_true(check_report(planted, rec)), kind


def test_checker_flags_unexplained_and_missing(rising):
    rec = rising.iloc[-1].to_dict()
    claims = check_report("The S&P 500 rose 4.00% to 1,300.00 after 17 trades.", rec)
    assert [c.field for c in claims if not c.ok] == ["unexplained"]
    claims = check_report("Stocks moved.", rec)
    assert {c.field for c in claims if c.kind == "missing"} == {"index", "move", "close", "pct"}
    with pytest.raises(TypeError, match="text"):
        check_report(3, rec)
    with pytest.raises(ValueError, match="missing field"):
        check_report("x", {"close": 1.0})


def test_plant_error_bad_kind():
    with pytest.raises(ValueError, match="kind"):
        plant_error("The S&P 500 rose.", "weather")
    assert plant_error("The S&P 500 rose 1.00%.", "streak") is None


def test_tokenizer_and_prompts(rising):
    tok = ReportTokenizer.default()
    texts = write_reports(rising, seed=1)
    for t in texts:
        assert tok.decode(tok.encode(t)) == t
    x = prompts(tok, rising)
    assert x.shape == (len(rising), PROMPT_LEN)
    X, Y = encode_pairs(tok, rising, texts)
    assert X.shape == Y.shape and (Y[:, :PROMPT_LEN - 1] == -100).all()
    with pytest.raises(ValueError, match="vocabulary"):
        tok.encode("The FTSE rose.")
    assert linearise(rising.iloc[-1]).startswith("S&P 500 hl high 52 streak +05")


def test_reject_and_regenerate(rising):
    recs = rising.iloc[-3:]
    good = dict(zip(recs.date, write_reports(recs, seed=0)))
    first = recs.date.iloc[0]
    calls = []

    def gen(records, attempt):
        calls.append(len(records))
        texts = [good[r["date"]] for r in records]
        return [plant_error(t, "direction") if attempt < 2 and r["date"] == first else t
                for t, r in zip(texts, records)]
    out = reject_and_regenerate(gen, recs, max_tries=5)
    assert out.accepted.all() and out.tries.tolist() == [3, 1, 1] and calls == [3, 1, 1]
    out = reject_and_regenerate(lambda r, a: ["nothing"] * len(r), recs, max_tries=2)
    assert not out.accepted.any() and (out.tries == 2).all()
    with pytest.raises(ValueError, match="max_tries"):
        reject_and_regenerate(gen, recs, max_tries=0)


def test_reference_scores_and_diversity():
    hyps = ["the index rose 1.00% to 100.00", "the index fell 2.00% to 98.00"]
    s = reference_scores(hyps, [hyps])
    assert s["BLEU"] == pytest.approx(100.0) and s["chrF"] == pytest.approx(100.0)
    assert distinct_n(["a b c d"], n=2) == 1.0
    assert self_bleu(["same text here"] * 3) == pytest.approx(100.0)
    with pytest.raises(TypeError, match="list of strings"):
        distinct_n("one text")
    with pytest.raises(ValueError, match="at least 2"):
        self_bleu(["only one"])


def test_shipped_model(rising, tmp_path):
    from aigc_book.cases.reports import load_report_model, generate_reports
    model, tok = load_report_model()
    recs = rising.iloc[-2:]
    greedy = generate_reports(model, tok, recs)
    assert len(greedy) == 2 and all(isinstance(t, str) and t for t in greedy)
    assert greedy == generate_reports(model, tok, recs)                     # greedy is deterministic
    sampled = generate_reports(model, tok, recs, temperature=1.0, seed=3)
    assert sampled == generate_reports(model, tok, recs, temperature=1.0, seed=3)
    with pytest.raises(ValueError, match="batch_size"):
        generate_reports(model, tok, recs, batch_size=0)
    bad = tmp_path / "bad.pt"
    torch.save({"weights": 1}, bad)
    with pytest.raises(ValueError, match="not a file written by"):
        load_report_model(bad)
    with pytest.raises(FileNotFoundError, match="train_report_model"):
        load_report_model(tmp_path / "missing.pt")


def test_linearise_bounds(rising):
    rec = rising.iloc[-1].to_dict()
    assert len(ReportTokenizer.default().encode(linearise(rec))) < PROMPT_LEN
    with pytest.raises(ValueError, match="fixed-width"):
        linearise({**rec, "close": 2e5})
    with pytest.raises(TypeError, match="record must be"):
        linearise([1, 2])
