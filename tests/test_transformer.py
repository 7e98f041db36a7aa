import tempfile
from pathlib import Path
import pytest, torch
from torch import nn
from aigc_book.core import seed_everything, save_checkpoint, load_checkpoint
from aigc_book.models.transformer import (make_date_pairs, is_test_date, Seq2SeqTokenizer, date_tokenizer, sinusoidal_encoding,
                                          MultiHeadAttention, Seq2SeqConfig, Seq2SeqTransformer, DATE_CONFIG, seq2seq_loss,
                                          greedy_decode, beam_search, normalise_dates)
import datetime as dt

def small_model():
    seed_everything(0)
    return Seq2SeqTransformer(Seq2SeqConfig(**{**DATE_CONFIG, "d_model": 32, "d_ff": 64})).eval()

def test_date_pairs_seeded_disjoint_and_correct():
    a = make_date_pairs(300, seed=4); assert a == make_date_pairs(300, seed=4)
    test = make_date_pairs(300, seed=4, split="test")
    assert all(is_test_date(dt.date.fromisoformat(t)) for _, t in test)
    assert not ({t for _, t in a} & {t for _, t in test})
    with pytest.raises(ValueError, match="split"): make_date_pairs(3, split="dev")
    with pytest.raises(ValueError, match="positive int"): make_date_pairs(0)

def test_tokenizer_round_trip_and_errors():
    tok = date_tokenizer()
    for s, t in make_date_pairs(200, seed=1):
        assert tok.decode(tok.encode(s)) == s and tok.decode(tok.encode(t, bos=True, eos=True)) == t
    with pytest.raises(ValueError, match="empty"): tok.encode("")
    with pytest.raises(ValueError, match="not in the vocabulary"): tok.encode("3 Mär 2021")
    with pytest.raises(ValueError, match="max_len"): tok.encode("1" * 33)
    tok2 = Seq2SeqTokenizer.from_dict(tok.to_dict()); assert tok2.stoi == tok.stoi

def test_mha_matches_torch_and_masks_padding():
    seed_everything(0)
    ours, ref = MultiHeadAttention(8, 2), nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        for lin, W, b in zip((ours.q, ours.k, ours.v), ref.in_proj_weight.chunk(3), ref.in_proj_bias.chunk(3)): lin.weight.copy_(W); lin.bias.copy_(b)
        ours.o.weight.copy_(ref.out_proj.weight); ours.o.bias.copy_(ref.out_proj.bias)
    x = torch.randn(2, 5, 8); keep = torch.tensor([[True] * 5, [True, True, False, False, False]])
    torch.testing.assert_close(ours(x, x, keep[:, None, None, :]), ref(x, x, x, key_padding_mask=~keep)[0], atol=1e-5, rtol=1e-5)
    assert ours.attn[1, :, :, 2:].abs().max() == 0

def test_causal_and_padding_through_model():
    m, tok = small_model(), date_tokenizer()
    src = tok.batch(["1 May 2020", "May 1, 2020"]); tgt = tok.batch(["2020-05-01"] * 2, bos=True)
    lg = m(src, tgt)
    t2 = tgt.clone(); t2[:, 5] = tok.stoi["7"]
    torch.testing.assert_close(m(src, t2)[:, :5], lg[:, :5])
    for layer in m.decoder: assert layer.self_attn.attn.triu(1).abs().max() == 0
    padded = torch.cat([src, torch.zeros(2, 4, dtype=torch.long)], 1)
    torch.testing.assert_close(m(padded, tgt), lg, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="max_len"): m(torch.ones(1, 41, dtype=torch.long), tgt[:1])
    with pytest.raises(TypeError, match="long"): m(src.float(), tgt)

def test_sinusoidal():
    pe = sinusoidal_encoding(10, 8)
    assert pe.shape == (10, 8) and torch.allclose(pe[0, 1::2], torch.ones(4))
    with pytest.raises(ValueError, match="even"): sinusoidal_encoding(4, 3)

def test_beam_width_one_is_greedy_and_beam_not_worse():
    m, tok = small_model(), date_tokenizer()
    srcs = [s for s, _ in make_date_pairs(8, seed=3)]
    g_out, g_lp = greedy_decode(m, tok.batch(srcs))
    for s, go, glp in zip(srcs, g_out, g_lp):
        b1, lp1 = beam_search(m, tok.batch([s]), beam=1)
        assert tok.decode(b1) == tok.decode(go) and abs(lp1 - float(glp)) < 1e-4
        _, lp3 = beam_search(m, tok.batch([s]), beam=3)
        assert lp3 >= float(glp) - 1e-5
    with pytest.raises(ValueError, match="beam"): beam_search(m, tok.batch(srcs[:1]), beam=0)

def test_loss_ignores_padding_and_checkpoint_round_trip():
    m, tok = small_model(), date_tokenizer()
    src = tok.batch(["1 May 2020"]); tgt = tok.batch(["2020-05-01"], bos=True, eos=True)
    tgt_pad = torch.cat([tgt, torch.zeros(1, 3, dtype=torch.long)], 1)
    torch.testing.assert_close(seq2seq_loss(m, (src, tgt)), seq2seq_loss(m, (src, tgt_pad)), atol=1e-5, rtol=1e-5)
    p = Path(tempfile.mkdtemp()) / "t.pt"; save_checkpoint(p, m)
    m2 = Seq2SeqTransformer(m.cfg); load_checkpoint(p, m2)
    assert normalise_dates(["3 May 2021"], m2, tok) == normalise_dates(["3 May 2021"], m, tok)

def test_shipped_model_if_present():
    w = Path(__file__).resolve().parents[1] / "aigc_book/weights/date_transformer.pt"
    if not w.is_file(): pytest.skip("weights not built")
    assert normalise_dates(["3rd of March, 2021", "03/04/21", "2021.3.3"]) == ["2021-03-03", "2021-04-03", "2021-03-03"]
