import numpy as np
import pandas as pd
import pytest
import torch
from aigc_book.cases.sentiment import (LABELS, TEST_FRAMES, daily_moves, make_headlines, check_headlines, label_ids,
                                       lexicon_labels, hash_features, HeadlineClassifier, train_classifier, classify,
                                       inject_bursts, negative_share, market_adjust, rolling_zscore, cusum,
                                       alert_onsets, detect, score_alerts, alert_cost)

DAYS = pd.bdate_range("2013-01-01", periods=120)


@pytest.fixture(scope="module")
def moves():
    return pd.Series(np.random.default_rng(0).normal(0, 1, len(DAYS)), index=DAYS, name="move")


@pytest.fixture(scope="module")
def headlines(moves):
    return make_headlines(moves, seed=0, held_out=True)


def test_daily_moves():
    prices = pd.DataFrame({"Adj Close": [100.0, 101.0, 99.99]}, index=DAYS[:3])
    m = daily_moves(prices)
    assert m.index.equals(DAYS[1:3]) and np.allclose(m, [1.0, -1.0])
    with pytest.raises(TypeError, match="DataFrame"):
        daily_moves(prices["Adj Close"])
    with pytest.raises(ValueError, match="no column 'Close'"):
        daily_moves(prices, column="Close")
    with pytest.raises(ValueError, match="DatetimeIndex"):
        daily_moves(prices.reset_index(drop=True))
    with pytest.raises(ValueError, match="at least 2 rows"):
        daily_moves(prices.iloc[:1])
    with pytest.raises(ValueError, match="missing or non-positive"):
        daily_moves(prices.assign(**{"Adj Close": [100.0, np.nan, 99.0]}))


def test_make_headlines_seeded_and_follows_moves(moves, headlines):
    assert list(headlines.columns) == ["date", "text", "label", "source", "frame"]
    pd.testing.assert_frame_equal(headlines, make_headlines(moves, seed=0, held_out=True))
    assert not headlines.equals(make_headlines(moves, seed=1, held_out=True))
    check_headlines(headlines)
    share = (headlines.label == "negative").groupby(headlines.date).mean()
    assert np.corrcoef(share, moves)[0, 1] < -0.5
    train = make_headlines(moves, seed=0)
    assert not train.frame.isin(TEST_FRAMES).any() and headlines.frame.isin(TEST_FRAMES).any()
    assert set(headlines.source) == {"market", "company", "noise"}
    assert (headlines[headlines.source == "noise"].label == "neutral").all()


def test_make_headlines_bad_input(moves):
    with pytest.raises(TypeError, match="DatetimeIndex"):
        make_headlines(moves.to_numpy())
    with pytest.raises(ValueError, match="empty"):
        make_headlines(moves.iloc[:0])
    with pytest.raises(ValueError, match="NaN"):
        make_headlines(moves.where(moves > 0))
    with pytest.raises(ValueError, match="market_per_day"):
        make_headlines(moves, market_per_day=-1)


def test_check_headlines_bad_records(headlines):
    bad = headlines.head(3).reset_index(drop=True)
    with pytest.raises(TypeError, match="DataFrame"):
        check_headlines(bad.to_dict())
    with pytest.raises(ValueError, match=r"missing column\(s\) \['text'\]"):
        check_headlines(bad.drop(columns="text"))
    with pytest.raises(ValueError, match="empty"):
        check_headlines(bad.iloc[:0])
    with pytest.raises(ValueError, match="must hold datetimes"):
        check_headlines(bad.assign(date="2015-01-02"))
    with pytest.raises(ValueError, match=r"missing dates in row\(s\) \[2\]"):
        check_headlines(bad.assign(date=[bad.date[0], bad.date[1], pd.NaT]))
    with pytest.raises(ValueError, match=r"non-empty strings; bad row\(s\) \[0\]"):
        check_headlines(bad.assign(text=["", "ok", "ok"]))
    with pytest.raises(ValueError, match=r"bad row\(s\) \[1\]"):
        check_headlines(bad.assign(text=["ok", 42, "ok"]))
    with pytest.raises(ValueError, match="unknown value.*'bullish'"):
        check_headlines(bad.assign(label=["bullish", "neutral", "neutral"]))
    with pytest.raises(ValueError, match="custom"):
        check_headlines(bad.iloc[:0], name="custom")


def test_label_ids():
    assert label_ids(list(LABELS)).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="unknown value 'pos'"):
        label_ids(["positive", "pos"])
    with pytest.raises(TypeError, match="single string"):
        label_ids("negative")


def test_lexicon_labels():
    out = lexicon_labels(["Hooli hit by fraud allegations", "Stocks rise on strong earnings", "Contoso schedules call"])
    assert out.tolist() == [0, 2, 1]
    with pytest.raises(TypeError, match="list of strings"):
        lexicon_labels("Stocks fall")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a string"):
        lexicon_labels(["Stocks fall", None])
    with pytest.raises(ValueError, match="empty"):
        lexicon_labels([])
    with pytest.raises(ValueError, match="threshold"):
        lexicon_labels(["Stocks fall"], threshold=1.5)


def test_hash_features():
    ids = hash_features(["Stocks tumble 2.1%", "Stocks tumble 3.4%", ""], n_buckets=64, max_len=16)
    assert ids.shape == (3, 16) and ids.dtype == torch.long
    assert torch.equal(ids[0], ids[1]) and (ids[2] == 0).all()
    assert 0 <= ids.min() and ids.max() < 64
    with pytest.raises(ValueError, match="n_buckets"):
        hash_features(["a"], n_buckets=1)
    with pytest.raises(TypeError, match=r"texts\[0\]"):
        hash_features([b"bytes"])


def test_train_and_classify(headlines):
    model, hist = train_classifier(headlines.text, headlines.label, steps=40, batch_size=64, progress=False,
                                   n_buckets=512, dim=8)
    assert isinstance(model, HeadlineClassifier) and not model.training
    assert hist.train["loss"][-1] < hist.train["loss"][0]
    pred = classify(model, headlines.text[:50])
    assert pred.shape == (50,) and set(pred.tolist()) <= {0, 1, 2}
    assert (pred == label_ids(headlines.label[:50])).mean() > 0.5
    with pytest.raises(ValueError, match="same length"):
        train_classifier(headlines.text[:10], headlines.label[:9], steps=1, progress=False)
    with pytest.raises(ValueError, match="unknown value"):
        train_classifier(["a", "b"], ["negative", "good"], steps=1, progress=False)


def test_inject_bursts():
    extra, events = inject_bursts(DAYS, n_events=3, seed=0, gap=5, avoid=[DAYS[60]])
    assert len(events) == 3 and (events.end >= events.start).all()
    assert events.days.between(2, 5).all() and set(events.strength) <= {5.0, 10.0, 20.0}
    assert (extra.label == "negative").all() and (extra.source == "burst").all()
    assert not ((events.start <= DAYS[62]) & (events.end >= DAYS[58])).any()   # away from the sell-off
    check_headlines(extra)
    again = inject_bursts(DAYS, n_events=3, seed=0, gap=5, avoid=[DAYS[60]])
    pd.testing.assert_frame_equal(events, again[1])
    with pytest.raises(ValueError, match="no room"):
        inject_bursts(DAYS[:25], n_events=2)
    with pytest.raises(ValueError, match="days"):
        inject_bursts(DAYS, days=(3, 2))
    with pytest.raises(ValueError, match="strengths"):
        inject_bursts(DAYS, strengths=(0.0,))


def test_negative_share_and_adjust(moves):
    dates = [DAYS[0], DAYS[0], DAYS[1], DAYS[1]]
    share = negative_share(dates, [0, 1, 0, 0], DAYS[:2])
    assert share.tolist() == [0.5, 1.0]
    with pytest.raises(ValueError, match="same length"):
        negative_share(dates, [0, 1], DAYS[:2])
    with pytest.raises(ValueError, match="class ids"):
        negative_share(dates, [0, 1, 3, 0], DAYS[:2])
    with pytest.raises(ValueError, match="no headlines on 1"):
        negative_share(dates, [0, 1, 0, 0], DAYS[:3])
    x = 0.3 - 0.1 * np.clip(moves, -3, 3) + 0.02 * np.random.default_rng(1).normal(size=len(moves))
    adj = market_adjust(x, moves, DAYS[59])
    assert adj.std() < 0.5 * x.std() and abs(np.corrcoef(adj, moves)[0, 1]) < 0.2
    with pytest.raises(ValueError, match="same dates"):
        market_adjust(x, moves.iloc[1:], DAYS[59])
    with pytest.raises(ValueError, match="more than 3 days"):
        market_adjust(x, moves, DAYS[1])


def test_detectors_by_hand():
    s, alarm = cusum([0, 0, 0, 3, 3, 0, 0], k=0.5, h=4)
    assert np.allclose(s, [0, 0, 0, 2.5, 5.0, 0, 0]) and np.flatnonzero(alarm).tolist() == [4]
    s, alarm = cusum([np.nan, 1.0, 1.0], k=0.0, h=10)
    assert np.allclose(s, [0, 1, 2]) and not alarm.any()
    x = pd.Series([1.0, 2, 3, 4, 5, 10])
    assert np.isclose(rolling_zscore(x, 5).iloc[-1], 7 / np.sqrt(2.5))
    assert rolling_zscore(x, 5).iloc[:5].isna().all()
    assert alert_onsets([1, 1, 0, 0, 1, 1, 1]).tolist() == [0, 4]
    with pytest.raises(ValueError, match="1-D"):
        cusum(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="k >= 0"):
        cusum([0.0], k=-1)
    with pytest.raises(TypeError, match="Series"):
        rolling_zscore([1.0, 2.0])
    with pytest.raises(ValueError, match="window"):
        rolling_zscore(x, window=1)


def test_detect_finds_a_step():
    x = pd.Series(np.r_[np.random.default_rng(0).normal(0, 1, 80), np.full(5, 3.0)],
                  index=pd.bdate_range("2014-01-01", periods=85))
    for method, h in [("zscore", 2.5), ("cusum", 4.0)]:
        alerts = detect(x, method, h, window=60)
        assert ((alerts >= x.index[80]) & (alerts <= x.index[82])).any(), method
    with pytest.raises(ValueError, match="'zscore' or 'cusum'"):
        detect(x, "ewma", 2.0)


def test_score_alerts_by_hand():
    cal = pd.bdate_range("2020-01-01", periods=60)
    events = pd.DataFrame({"start": [cal[10], cal[30]], "end": [cal[12], cal[33]]})
    s = score_alerts(cal[[11, 14, 20, 36, 51]], events, cal, explained=[cal[50]])
    assert (s["hits"], s["misses"], s["false_alarms"], s["explained"]) == (1, 1, 2, 1)
    assert s["recall"] == 0.5 and np.isclose(s["precision"], 2 / 4) and s["delay"] == 1.0
    assert s["event_delays"][0] == 1.0 and np.isnan(s["event_delays"][1])
    empty = score_alerts([], events, cal)
    assert empty["recall"] == 0 and np.isnan(empty["precision"]) and np.isnan(empty["delay"])
    with pytest.raises(ValueError, match="not in calendar"):
        score_alerts([pd.Timestamp("1999-01-01")], events, cal)
    with pytest.raises(ValueError, match="start"):
        score_alerts([], events.drop(columns="start"), cal)
    with pytest.raises(ValueError, match="start <= end"):
        score_alerts([], events.assign(end=[cal[5], cal[33]]), cal)


def test_alert_cost():
    assert alert_cost(2, 3).tolist() == 23.0
    assert alert_cost([1, 0], [0, 4], c_miss=5, c_false=2).tolist() == [5.0, 8.0]
    with pytest.raises(ValueError, match="costs"):
        alert_cost(1, 1, c_false=-1)
