"""Learns a BERT-style WordPiece vocabulary from a corpus with TF-Text's vocabulary tools.

Words are counted after exactly the basic tokenization the records will use
(`tokenization.BasicTokenizer`), then `tensorflow_text`'s WordPiece learner
(`wordpiece_tokenizer_learner_lib.learn`, the algorithm behind `bert_vocab_from_dataset`)
picks the pieces. The special tokens come first: `[PAD]`=0 `[UNK]`=1 `[CLS]`=2 `[SEP]`=3
`[MASK]`=4.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

from electra_tf.tokenization import REQUIRED_SPECIAL_TOKENS, BasicTokenizer

COUNT_BATCH_LINES = 4096


def count_words(lines: Iterable[str], do_lower_case: bool = True) -> collections.Counter:
    """Word → count over `lines`, after BERT basic tokenization."""
    basic = BasicTokenizer(do_lower_case)
    counts: collections.Counter = collections.Counter()
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= COUNT_BATCH_LINES:
            counts.update(w for ws in basic.tokenize_batch(batch) for w in ws)
            batch = []
    counts.update(w for ws in basic.tokenize_batch(batch) for w in ws)
    return counts


def learn_vocab(word_counts: collections.Counter, vocab_size: int) -> list[str]:
    """Word counts → at most `vocab_size` tokens, the five special tokens first."""
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    if vocab_size <= len(REQUIRED_SPECIAL_TOKENS):
        raise ValueError(f"--learn_vocab_size must exceed {len(REQUIRED_SPECIAL_TOKENS)}, got {vocab_size}")
    if not word_counts:
        raise ValueError("cannot learn a vocabulary: the corpus has no words")
    vocab = learner.learn(
        dict(word_counts),
        vocab_size=vocab_size,
        reserved_tokens=list(REQUIRED_SPECIAL_TOKENS),
        lower_thresh=1,
    )
    return list(vocab)
