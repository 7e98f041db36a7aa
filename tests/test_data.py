import gzip
import numpy as np
import pytest
import torch
from PIL import Image
from aigc_book.data import (load_digits, load_mnist5k, load_mnist, read_idx, write_idx, stratified_split, load_corpus, clean_text,
                            CharTokenizer, WordTokenizer, split_ids, get_batch, make_blocks, batch_fn, text_batch_fn,
                            load_table, standardize, load_text_file, load_image_folder, load_csv)


def test_digits_splits_fixed_and_disjoint():
    a = load_digits("train"); b = load_digits("train")
    assert torch.equal(a[0], b[0])
    sp = stratified_split(load_digits("all")[1])
    assert len(set(sp["train"].tolist()) & set(sp["test"].tolist())) == 0
    assert sum(len(v) for v in sp.values()) == 1797
    x, _ = load_digits("val", "symmetric"); assert x.min() == -1 and x.max() == 1
    with pytest.raises(ValueError, match="split"): load_digits("dev")


def test_stratified_split_bad_input():
    with pytest.raises(ValueError, match="fracs"): stratified_split([0, 1, 1], fracs=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="1-D"): stratified_split(torch.zeros(2, 2))


def test_mnist5k_shape():
    x, y = load_mnist5k("test"); assert x.shape[1:] == (1, 28, 28) and 0 <= x.min() and x.max() <= 1 and len(x) == len(y)


def test_mnist_idx_roundtrip(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8); labs = np.arange(5, dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", imgs); write_idx(tmp_path / "train-labels-idx1-ubyte", labs)
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), imgs)
    x, y = load_mnist(tmp_path, "train")
    assert x.shape == (5, 1, 28, 28) and torch.allclose(x[1, 0] * 255, torch.tensor(imgs[1], dtype=torch.float32))
    assert y.tolist() == list(range(5))


def test_mnist_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="load_mnist5k"): load_mnist(tmp_path, "train")
    with pytest.raises(ValueError, match="train' or 'test"): load_mnist(tmp_path, "val")
    (tmp_path / "x").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09abc")
    with pytest.raises(ValueError, match="truncated"): read_idx(tmp_path / "x")
    (tmp_path / "y").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX"): read_idx(tmp_path / "y")


def test_corpus_and_char_tokenizer():
    text = load_corpus()
    assert len(text) > 400_000 and text.isascii()
    tok = CharTokenizer.from_text(text)
    s = text[5000:6000]; assert tok.decode(tok.encode(s)) == s
    with pytest.raises(ValueError, match="not in the vocabulary"): tok.encode("naïve")
    with pytest.raises(ValueError, match="out of range"): tok.decode([tok.vocab_size])
    with pytest.raises(ValueError, match="empty"): CharTokenizer.from_text("")
    assert CharTokenizer.from_dict(tok.to_dict()).chars == tok.chars
    with pytest.raises(ValueError, match="unknown corpus"): load_corpus("wikipedia")


def test_clean_text():
    assert clean_text("\u201cHi\u201d \u2014 caf\u00e9  \n\n\n\nend") == '"Hi" - caf\n\nend\n'
    with pytest.raises(TypeError): clean_text(3)


def test_word_tokenizer_roundtrip():
    tok = WordTokenizer.from_text("the cat sat on the mat. the cat ran 12 times.\n", min_freq=1)
    s = "the cat sat on the mat. the cat ran 12 times.\n"
    assert tok.decode(tok.encode(s)) == s
    assert tok.decode(tok.encode("the dog")) == "the <unk>"


def test_blocks_and_batches():
    ids = torch.arange(100)
    x, y = get_batch(ids, 8, 4, torch.Generator().manual_seed(0)); assert torch.equal(x + 1, y)
    with pytest.raises(ValueError, match="fewer than block_size"): get_batch(torch.arange(5), 8, 2)
    xb, yb = make_blocks(ids, 10); assert xb.shape == (9, 10) and torch.equal(xb + 1, yb)
    parts = split_ids(ids); assert [len(v) for v in parts.values()] == [80, 10, 10]
    f = text_batch_fn(ids, 8, 3, seed=2); assert torch.equal(f(7)[0], f(7)[0]) and not torch.equal(f(7)[0], f(8)[0])


def test_batch_fn_epochs():
    x = torch.arange(10)
    f = batch_fn(x, batch_size=3, seed=0)
    assert f.steps_per_epoch == 3
    epoch0 = torch.cat([f(s) for s in range(3)]); assert len(set(epoch0.tolist())) == 9
    assert not torch.equal(torch.cat([f(s) for s in range(3, 6)]), epoch0)
    with pytest.raises(ValueError, match="batch_size"): batch_fn(x, batch_size=11)


def test_tables_and_standardize():
    assert load_table("wine").shape == (178, 14)
    with pytest.raises(ValueError, match="unknown table"): load_table("iris2")
    tr, te, (m, s) = standardize(torch.randn(50, 3) * 5 + 2, torch.randn(10, 3))
    assert torch.allclose(tr.mean(0), torch.zeros(3), atol=1e-5)
    with pytest.raises(ValueError, match="columns"): standardize(torch.randn(5, 3), torch.randn(5, 2))


def test_user_files(tmp_path):
    (tmp_path / "e.txt").write_bytes(b"   \n")
    with pytest.raises(ValueError, match="e.txt is empty"): load_text_file(tmp_path / "e.txt")
    (tmp_path / "l.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="l.txt is not valid utf-8"): load_text_file(tmp_path / "l.txt")
    with pytest.raises(ValueError, match="does not exist"): load_text_file(tmp_path / "none.txt")
    d = tmp_path / "imgs"; d.mkdir()
    with pytest.raises(ValueError, match="has no images"): load_image_folder(d)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(d / "a.png"); Image.fromarray(np.zeros((5, 4), np.uint8)).save(d / "b.png")
    with pytest.raises(ValueError, match="mixed sizes"): load_image_folder(d)
    assert load_image_folder(d, size=(4, 4), grayscale=True).shape == (2, 1, 4, 4)
    (d / "c.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="c.png could not be read"): load_image_folder(d, size=(4, 4))
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"missing columns \['c'\]"): load_csv(tmp_path / "t.csv", ["a", "c"])
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="no rows"): load_csv(tmp_path / "h.csv")
    (tmp_path / "z.csv").write_text("")
    with pytest.raises(ValueError, match="z.csv is empty"): load_csv(tmp_path / "z.csv")


def test_check_images():
    from aigc_book.data import check_images
    x = torch.rand(3, 1, 8, 8)
    assert check_images(x, 1, 8, value_range=(0, 1)) is x
    assert check_images(torch.rand(2, 3, 4, 6), size=(4, 6)).shape == (2, 3, 4, 6)
    with pytest.raises(ValueError, match=r"must have shape \(B, 1, 28, 28\)"): check_images(x, 1, 28)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"): check_images(x, channels=3)
    with pytest.raises(ValueError, match="B >= 1"): check_images(x[:0], 1, 8)
    with pytest.raises(ValueError, match=r"\(B, C, 8, 8\)"): check_images(x[0], size=8)
    with pytest.raises(TypeError, match="floating-point"): check_images(x.long(), 1, 8)
    with pytest.raises(TypeError, match="images must be a torch.Tensor"): check_images([1], name="images")
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"): check_images(x * 2 - 1.5, value_range=(0, 1))
    with pytest.raises(ValueError, match="NaN or inf"): check_images(x / 0, value_range=(-1, 1))
    from aigc_book.models import autoencoder, vae, gan    # every image model checks its input with it
    for model in (autoencoder.AutoEncoder(), vae.VAE(), gan.Discriminator()):
        with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 8, 8\) with B >= 1, got \(2, 3, 8, 8\)"):
            model(torch.rand(2, 3, 8, 8))
