import re

import numpy as np
import pytest
import torch

from aigc_book.cases.support import (INTENTS, INTENT_NAMES, PRODUCTS, SLOT_KINDS, BagClassifier, Costs,
                                     NgramGenerator, add_typos, answer_question, answer_tickets,
                                     bayes_threshold, best_threshold, delexicalise, desk_cost, edits1,
                                     encode_texts, escalation_curve, fill_slots, find_slots, hashed_ngrams,
                                     intent_slots, make_tickets, ngram_questions, perturb_questions,
                                     recall_at_k, refill_slots, render_answer, render_question, sample_slot,
                                     split_patterns, tfidf_classifier, train_bag_classifier)


def rng(seed=0):
    return np.random.default_rng(seed)


# ---- the help desk generator
def test_intents_shape():
    assert 15 <= len(INTENTS) <= 30
    assert all(len(v["patterns"]) == 8 for v in INTENTS.values())
    for name in INTENT_NAMES:
        need = set(intent_slots(name))
        assert need <= set(SLOT_KINDS)
        for p in INTENTS[name]["patterns"]:
            assert set(re.findall(r"\{(\w+)\}", p)) == need, (name, p)


def test_sample_slot_canonical_forms():
    r = rng(1)
    for _ in range(50):
        assert re.fullmatch(r"KH-\d{6}", sample_slot("order_id", r)[1])
        assert re.fullmatch(r"2025-\d\d-\d\d", sample_slot("date", r)[1])
        assert sample_slot("product", r)[1] in PRODUCTS
        assert "@" in sample_slot("email", r)[1]
        assert re.fullmatch(r"[A-Z]+\d\d", sample_slot("coupon", r)[1])
    with pytest.raises(ValueError, match="kind must be one of"):
        sample_slot("phone", r)
    with pytest.raises(TypeError, match="numpy Generator"):
        sample_slot("date", 0)


def test_add_typos():
    assert add_typos("hello world", 0.0, rng()) == "hello world"
    assert add_typos("hello world", 1.0, rng()) != "hello world"
    assert add_typos("KH-123456", 1.0, rng()).endswith("-123456")       # digits never change
    with pytest.raises(ValueError, match="rate must be"):
        add_typos("x", -0.1, rng())
    with pytest.raises(TypeError, match="text must be a str"):
        add_typos(None, 0.1, rng())


def test_render_question_and_answer():
    text, slots = render_question("book_repair", 0, rng(), typo_rate=0.0)
    assert set(slots) == {"product", "date"}
    assert slots["date"] in render_answer("book_repair", slots)
    with pytest.raises(ValueError, match="pattern must be an int"):
        render_question("book_repair", 8, rng())
    with pytest.raises(ValueError, match="missing \\['date'\\]"):
        render_answer("book_repair", {"product": "AeroKettle"})
    with pytest.raises(ValueError, match="intent must be one of"):
        intent_slots("nope")


def test_split_patterns_holds_out_whole_patterns():
    sp = split_patterns(3)
    sets = {k: set(v) for k, v in sp.items()}
    assert not sets["train"] & sets["test"] and not sets["val"] & sets["test"]
    assert not sets["train"] & sets["val"]
    assert len(sets["train"]) == 80 and len(sets["val"]) == 40 and len(sets["test"]) == 40
    assert split_patterns(3) == sp                                         # seeded
    with pytest.raises(ValueError, match="leaves no training pattern"):
        split_patterns(0, n_val=5, n_test=3)
    with pytest.raises(ValueError, match="n_val must be"):
        split_patterns(0, n_val=-1)


def test_make_tickets():
    df = make_tickets(split_patterns(0)["test"], 5, seed=2)
    assert len(df) == 100 and list(df.columns) == ["text", "intent", "pattern", "slots", "answer"]
    assert all(render_answer(i, s) == a for i, s, a in zip(df.intent, df.slots, df.answer))
    with pytest.raises(ValueError, match="patterns is empty"):
        make_tickets([], 5)
    with pytest.raises(ValueError, match="n_per_intent"):
        make_tickets(split_patterns(0)["test"], 0)


# ---- slot filling
def test_fill_slots_forms():
    assert fill_slots("where is #123456") == {"order_id": "KH-123456"}
    assert fill_slots("order kh 654321 on 3 March") == {"order_id": "KH-654321", "date": "2025-03-03"}
    assert fill_slots("move it to 2025-11-02")["date"] == "2025-11-02"
    assert fill_slots("move it to 9/12/2025")["date"] == "2025-12-09"
    assert fill_slots("code welcome12 fails")["coupon"] == "WELCOME12"
    assert fill_slots("I am Nora.Berg12@Example.org") == {"email": "nora.berg12@example.org"}


def test_products_fuzzy_and_exact():
    assert fill_slots("my nimbus air purifer broke")["product"] == "Nimbus Air Purifier"
    assert fill_slots("is the aerokettel in stock")["product"] == "AeroKettle"
    assert fill_slots("is the aerokettel in stock", fuzzy=False) == {}
    assert fill_slots("is the Halo Smart Bulb in stock", fuzzy=False)["product"] == "Halo Smart Bulb"
    assert fill_slots("helo, is delivery free") == {}                     # short names get no forgiveness
    assert "aerokettle" in edits1("aerokettel") and "ba" in edits1("ab") and "dc" not in edits1("ab")


def test_slot_filler_on_generated_tickets():
    df = make_tickets(split_patterns(1)["train"], 10, seed=5)
    right = [all(fill_slots(t).get(k) == v for k, v in s.items()) for t, s in zip(df.text, df.slots)]
    assert np.mean(right) > 0.97


def test_delexicalise_and_empty_text():
    assert delexicalise("return the pulse blender from #123456") == "return the {product} from {order_id}"
    assert [k for k, *_ in find_slots("a@b.test or KH-111111")] == ["email", "order_id"]
    for f in (find_slots, fill_slots, delexicalise):
        with pytest.raises(ValueError, match="text is empty"):
            f("  ")
        with pytest.raises(TypeError, match="must be a str"):
            f(3)


# ---- classifiers
def test_hashing_is_stable():
    ids = hashed_ngrams("where is {order_id}", 1024)
    assert ids == hashed_ngrams("Where is {order_id}", 1024)
    assert all(0 <= i < 1024 for i in ids)
    x = encode_texts(["a", "where is {order_id}"], 1024)
    assert x.shape[0] == 2 and (x[0] == 1024).sum() == x.shape[1] - len(hashed_ngrams("a", 1024))
    with pytest.raises(ValueError, match="texts is empty"):
        encode_texts([])
    with pytest.raises(ValueError, match=r"texts\[1\] is empty"):
        encode_texts(["ok", ""])
    with pytest.raises(TypeError, match="list of strings"):
        encode_texts("one string")


def test_bag_classifier_learns_a_toy_task():
    texts = ["where is my {order_id}", "track {order_id} please", "reset password {email}",
             "forgot password {email}"]
    labels = [0, 0, 1, 1]
    model, hist = train_bag_classifier(texts * 8, labels * 8, 2, steps=60, seed=0, val=(texts, labels))
    assert hist.train["loss"][-1] < hist.train["loss"][0]
    assert len(hist.val) == 3 and hist.val[-1] < hist.val[0]
    assert (model.predict_proba(["where is {order_id}", "password {email}"]).argmax(1) == [0, 1]).all()
    assert model(encode_texts(texts)).shape == (4, 2)
    with pytest.raises(ValueError, match="labels must lie in"):
        train_bag_classifier(texts, [0, 1, 2, 5], 3, steps=2)
    with pytest.raises(ValueError, match="one label per text"):
        train_bag_classifier(texts, [0, 1], 2, steps=2)
    with pytest.raises(ValueError, match="n_classes must be"):
        BagClassifier(0)


def test_tfidf_classifier_kinds():
    assert tfidf_classifier("word") is not None and tfidf_classifier("char") is not None
    with pytest.raises(ValueError, match="'char' or 'word'"):
        tfidf_classifier("bpe")


# ---- pipeline
def oracle_proba(intents):
    "A perfect classifier for the given true intents (ignores its input)."
    def f(texts):
        p = np.zeros((len(texts), len(INTENT_NAMES)))
        p[np.arange(len(texts)), [INTENT_NAMES.index(i) for i in intents]] = 0.9
        return p + 0.1 / len(INTENT_NAMES)
    return f


def test_answer_tickets_with_a_perfect_classifier():
    df = make_tickets(split_patterns(0)["test"], 3, seed=7)
    out = answer_tickets(df.text, oracle_proba(df.intent))
    exact = (out.answer.values == df.answer.values).mean()
    assert exact > 0.95
    assert (out.escalated == (out.confidence == 0)).all()
    assert answer_tickets(df.text, oracle_proba(df.intent), threshold=0.99).escalated.all()


def test_missing_slot_escalates_and_bad_inputs():
    r = answer_question("where is my order", oracle_proba(["order_status"]))
    assert r["escalated"] and r["answer"] is None and r["confidence"] == 0.0
    with pytest.raises(ValueError, match="question is empty"):
        answer_question("", oracle_proba(["order_status"]))
    with pytest.raises(TypeError, match="question must be a str"):
        answer_question(None, oracle_proba(["order_status"]))
    with pytest.raises(TypeError, match="proba_fn must be callable"):
        answer_tickets(["hi"], None)
    with pytest.raises(ValueError, match="must return shape"):
        answer_tickets(["hi"], lambda x: np.ones((1, 2)))


# ---- costs, escalation, retrieval
def test_costs_and_thresholds():
    c = Costs()
    assert bayes_threshold(c) == pytest.approx(10 / 13.5)
    assert desk_cost([True, True], [False, False], c) == pytest.approx(c.bot + c.human)
    assert desk_cost([False, False], [True, True], c) == pytest.approx(c.bot)
    assert desk_cost([False], [False], c) == pytest.approx(c.bot + c.human + c.wrong)
    curve = escalation_curve([0.9, 0.8, 0.6, 0.0], [True, True, False, False], c)
    assert curve.escalated.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert curve["answered exactness"].iloc[1] == 1.0
    assert best_threshold([0.9, 0.8, 0.6, 0.0], [True, True, False, False], c) == 0.8
    with pytest.raises(ValueError, match="Costs.wrong"):
        Costs(wrong=float("nan"))
    with pytest.raises(TypeError, match="costs must be a Costs"):
        bayes_threshold({"human": 1})
    with pytest.raises(ValueError, match="equal length"):
        escalation_curve([0.5], [True, False])
    with pytest.raises(ValueError, match="non-empty"):
        desk_cost([], [], c)


def test_recall_at_k():
    s = [[0.1, 0.5, 0.4], [0.7, 0.2, 0.1]]
    assert recall_at_k(s, [2, 0], 1) == 0.5 and recall_at_k(s, [2, 0], 2) == 1.0
    with pytest.raises(ValueError, match="k must be an int"):
        recall_at_k(s, [2, 0], 0)
    with pytest.raises(ValueError, match="scores must be"):
        recall_at_k([0.1, 0.2], [0], 1)


# ---- generators
def test_refill_and_perturb_keep_slots_true():
    text, slots = refill_slots("reschedule {order_id} for {date}", rng(3))
    assert set(slots) == {"order_id", "date"} and fill_slots(text) == slots
    out = perturb_questions(["where is my order {order_id}", "track {order_id}"], 20, rng(4))
    assert len(out) == 20
    assert all(fill_slots(t).get("order_id") == s["order_id"] for t, s in out)
    with pytest.raises(ValueError, match="examples is empty"):
        perturb_questions([], 3, rng())
    with pytest.raises(ValueError, match="n must be a positive int"):
        perturb_questions(["a"], 0, rng())
    with pytest.raises(ValueError, match="delex is empty"):
        refill_slots("", rng())


def test_ngram_generator():
    ex = ["where is my order {order_id}", "where is my refund for {order_id} please"]
    g = NgramGenerator(ex, order=2)
    assert dict(g.counts[("my",)]) == {"order": 1, "refund": 1}
    vocab = {w for e in ex for w in e.split()}
    for _ in range(10):
        assert set(g.sample(rng()).split()) <= vocab
    out = ngram_questions(ex, 5, rng(5), required=("order_id",))
    assert all(len(s) == 1 and "order_id" in s for _, s in out)
    with pytest.raises(ValueError, match=r"examples\[1\] is empty"):
        NgramGenerator(["ok", " "])
    with pytest.raises(ValueError, match="order must be"):
        NgramGenerator(["ok"], order=0)
    with pytest.raises(TypeError, match="numpy Generator"):
        g.sample(1)
