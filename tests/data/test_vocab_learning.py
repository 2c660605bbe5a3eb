"""--learn_vocab_size: a WordPiece vocabulary learned from the corpus, written beside the records."""

from __future__ import annotations

import collections
import os
import re

import numpy as np
import pytest

from data_prep import build_pretraining_dataset
from electra_tf.data.vocab_learning import count_words, learn_vocab
from electra_tf.tokenization import REQUIRED_SPECIAL_TOKENS, FullTokenizer, load_vocab
from tests.data.helpers import parse_records, read_raw_records


def test_count_words_uses_bert_basic_tokenization():
    counts = count_words(["Héllo, WORLD!", "hello   world-wide"])
    assert counts == collections.Counter({"hello": 2, "world": 2, ",": 1, "!": 1, "-": 1, "wide": 1})


def test_learned_vocab_starts_with_specials_and_covers_words():
    counts = collections.Counter({"low": 50, "lower": 40, "lowest": 30, "newer": 60, "wider": 20})
    vocab = learn_vocab(counts, vocab_size=40)
    assert tuple(vocab[:5]) == REQUIRED_SPECIAL_TOKENS
    assert len(vocab) <= 40 and len(set(vocab)) == len(vocab)
    tokenizer = FullTokenizer(vocab)
    for word in counts:  # every training word is covered without [UNK]
        assert "[UNK]" not in tokenizer.tokenize(word)
    with pytest.raises(ValueError, match="must exceed 5"):
        learn_vocab(counts, vocab_size=5)


@pytest.mark.slow
def test_cli_learns_vocab_and_uses_it(wiki_data_dir):
    """On the session's data dir: `build_pretraining_dataset.run(learn_vocab_size=2000)` over two
    Wikipedia files (the first holds the "Agriculture" article), its vocab.txt moved beside the
    records (tests/conftest.py); one build serves this test and every training test."""
    out = os.path.join(wiki_data_dir, "pretrain_tfrecords")
    vocab = load_vocab(os.path.join(wiki_data_dir, "vocab.txt"))
    assert tuple(vocab[:5]) == REQUIRED_SPECIAL_TOKENS
    assert 0.95 * 2000 <= len(vocab) <= 2000
    f = parse_records(read_raw_records(out))
    real = f["input_mask"].astype(bool)
    assert f["input_ids"].max() < len(vocab)
    assert (f["input_ids"][:, 0] == vocab.index("[CLS]")).all()
    assert np.mean(f["input_ids"][real] == vocab.index("[UNK]")) < 0.001
    # The records hold exactly the learned vocabulary's tokenization of the text.
    first = f["input_ids"][0][1 : real[0].sum()].tolist()
    text_ids = FullTokenizer(vocab).tokenize_to_ids(["Agriculture is the cultivation of animals"])[0]
    assert first[: len(text_ids)] == text_ids


def test_cli_vocab_flag_errors(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Some words here.\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=re.escape("--vocab_file is required (or --learn_vocab_size")):
        build_pretraining_dataset.run(corpus_dir=str(corpus), output_dir=str(out))
    with pytest.raises(ValueError, match=re.escape("--learn_vocab_size must exceed 5, got 3")):
        build_pretraining_dataset.run(corpus_dir=str(corpus), output_dir=str(out), learn_vocab_size=3)
    assert not out.exists()
