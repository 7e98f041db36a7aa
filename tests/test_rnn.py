import tempfile
from pathlib import Path
import pytest, torch
from torch import nn
from aigc_book.core import seed_everything, save_checkpoint, load_checkpoint, CheckpointError
from aigc_book.data import CharTokenizer
from aigc_book.models.rnn import (RNNCell, LSTMCell, GRUCell, unroll, CharRNN, tbptt_batch_fn, tbptt_loss, stream_nll,
                                  input_gradient_norms)
from aigc_book.prob.attention import unigram_bits

@pytest.mark.parametrize("ours,theirs", [(RNNCell, nn.RNN), (LSTMCell, nn.LSTM), (GRUCell, nn.GRU)])
def test_cells_match_torch(ours, theirs):
    seed_everything(0)
    layer = theirs(4, 5, batch_first=True); cell = ours(4, 5).copy_from(layer)
    x = torch.randn(2, 6, 4)
    ref, _ = layer(x); out, _ = unroll(cell, x)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)

@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_charrnn_shapes_state_and_generate(kind):
    seed_everything(0)
    m = CharRNN(12, kind, n_embd=8, n_hidden=16, n_layers=2, dropout=0.1).eval()
    idx = torch.randint(0, 12, (2, 7))
    logits, st = m(idx)
    assert logits.shape == (2, 7, 12)
    l1, s1 = m(idx[:, :3]); l2, _ = m(idx[:, 3:], s1)
    torch.testing.assert_close(torch.cat([l1, l2], 1), logits, atol=1e-5, rtol=1e-5)
    g = lambda: torch.Generator().manual_seed(3)
    a = m.generate(idx[:1, :2], 10, temperature=0.8, top_k=5, top_p=0.9, generator=g())
    assert a.shape == (1, 12) and torch.equal(a, m.generate(idx[:1, :2], 10, temperature=0.8, top_k=5, top_p=0.9, generator=g()))
    assert int(a.max()) < 12

def test_bad_inputs():
    m = CharRNN(10)
    with pytest.raises(ValueError, match="empty"): m(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="outside"): m(torch.tensor([[11]]))
    with pytest.raises(TypeError, match="integer"): m(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="kind"): CharRNN(10, "cnn")
    with pytest.raises(ValueError, match="max_new_tokens"): m.generate(torch.tensor([[1]]), -2)
    with pytest.raises(ValueError, match="input_size"): LSTMCell(3, 4)(torch.randn(2, 5))
    with pytest.raises(ValueError, match="too few"): tbptt_batch_fn(torch.arange(10), 8, 4)
    with pytest.raises(ValueError, match="not in the vocabulary"): CharTokenizer.from_text("abc").encode("abd")

def test_tbptt_is_contiguous_and_loss_carries_state():
    get = tbptt_batch_fn(torch.arange(1001), block_size=10, batch_size=4)
    x0, y0, r0 = get(0); x1, _, r1 = get(1)
    assert r0 and not r1 and torch.equal(x1[:, 0], y0[:, -1])
    m = CharRNN(1001, "gru", n_embd=4, n_hidden=8)
    loss_fn = tbptt_loss()
    l0 = loss_fn(m, get(0)); l0.backward()           # state is detached: a second backward works
    l1 = loss_fn(m, get(1)); l1.backward()
    assert torch.isfinite(l1)

def test_unigram_and_stream_nll():
    ids = torch.tensor([0, 1, 1, 1] * 50)
    b = unigram_bits(ids, ids, 2, alpha=0.0)
    expected = -(0.25 * torch.tensor(0.25).log2() + 0.75 * torch.tensor(0.75).log2())
    assert abs(b - float(expected)) < 1e-4
    m = CharRNN(2, "lstm", n_embd=4, n_hidden=8)
    assert 0 < stream_nll(m, ids, n_streams=2, block_size=16) < 5

def test_rnn_gradient_vanishes_faster_than_lstm_with_forget_bias():
    seed_everything(0)
    g_rnn = input_gradient_norms(RNNCell(16, 64), T=40)
    c = LSTMCell(16, 64)
    with torch.no_grad(): c.bias_ih[64:128] = 1.0; c.bias_hh[64:128] = 1.0
    g_lstm = input_gradient_norms(c, T=40)
    assert g_rnn[0] / g_rnn[-1] < 1e-2 * (g_lstm[0] / g_lstm[-1])

def test_checkpoint_round_trip():
    seed_everything(0)
    m = CharRNN(20, "lstm", n_embd=8, n_hidden=16)
    p = Path(tempfile.mkdtemp()) / "m.pt"
    save_checkpoint(p, m, meta={"kind": "lstm"})
    m2 = CharRNN(20, "lstm", n_embd=8, n_hidden=16); load_checkpoint(p, m2)
    idx = torch.randint(0, 20, (1, 5))
    torch.testing.assert_close(m2(idx)[0], m(idx)[0])
    with pytest.raises(CheckpointError, match="do not match"): load_checkpoint(p, CharRNN(20, "gru", n_embd=8, n_hidden=16))
