"""Diagnostics: AUC against scikit-learn, pairwise cosine against a brute-force loop, the probe's
token bookkeeping, and the unigram-corrupted held-out set (fixed, selected positions only)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import roc_auc_score

from electra_tf.pretraining.model import build_pretrainer
from electra_tf.tokenization import FullTokenizer, load_vocab
from pretrain.diagnostics import (
    FLAG_RATIO,
    PROBE_PAIRS,
    Diagnostics,
    mean_pairwise_cosine,
    probe_items,
    roc_auc,
)
from tests.pretraining.helpers import SPECIAL, batch_of, tiny_config


@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_equals_scikit_learn(ties):
    rng = np.random.default_rng(0)
    labels = rng.random(3000) < 0.15
    scores = rng.normal(size=3000) + 0.8 * labels
    if ties:
        scores = np.round(scores, 1)  # many tied scores
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert np.isnan(roc_auc(scores, np.zeros(3000, bool)))


def test_mean_pairwise_cosine_equals_a_brute_force_loop():
    rng = np.random.default_rng(1)
    hidden = rng.normal(size=(3, 7, 5)) + np.array([2.0, 0, 0, 0, 0])
    mask = np.array([[1] * 7, [1] * 4 + [0] * 3, [1] + [0] * 6])  # the last example has one token
    expected = []
    for b in range(2):
        n = int(mask[b].sum())
        cos = [
            hidden[b, i] @ hidden[b, j] / np.linalg.norm(hidden[b, i]) / np.linalg.norm(hidden[b, j])
            for i in range(n)
            for j in range(n)
            if i != j
        ]
        expected.append(np.mean(cos))
    assert mean_pairwise_cosine(hidden, mask) == pytest.approx(np.mean(expected), abs=1e-12)
    same = np.ones((1, 4, 3))
    assert mean_pairwise_cosine(same, np.ones((1, 4))) == pytest.approx(1.0)


def test_probe_items_point_at_the_error_and_the_same_clean_token(bert_vocab_file):
    tokenizer = FullTokenizer(load_vocab(bert_vocab_file))
    items = probe_items(tokenizer)
    assert len(items) == len(PROBE_PAIRS) == 5
    for item, (clean, error) in zip(items, PROBE_PAIRS, strict=True):
        e = tokenizer.convert_ids_to_tokens(item.ids)
        c = tokenizer.convert_ids_to_tokens(item.clean_ids)
        assert e[item.error_index] == c[item.clean_index]
        assert e[: item.error_index] == c[: item.error_index]  # the first difference
        assert e[1:-1] == tokenizer.tokenize(error) and c[1:-1] == tokenizer.tokenize(clean)
    first = tokenizer.convert_ids_to_tokens(items[0].ids)
    assert first[items[0].error_index - 1 : items[0].error_index + 1] == ["the", "the"]


class _FixedModel:
    """A stand-in exposing `discriminate`: logit = the token id, so ratios are known by hand."""

    def discriminate(self, ids, mask, segments):
        logits = tf.cast(ids, tf.float32) / 100.0
        hidden = tf.one_hot(ids % 3, 3)
        return logits, hidden


def test_diagnostics_corrupt_once_and_score_by_hand():
    batch = {k: v.numpy() for k, v in batch_of(8, 32, 300, seed=3).items()}
    counts = np.ones(300, np.int64)
    diag = Diagnostics([batch], counts, SPECIAL, mask_prob=0.2, max_predictions=8)
    corrupted, mask, _, labels = diag.batches[0]
    again = Diagnostics([batch], counts, SPECIAL, mask_prob=0.2, max_predictions=8)
    np.testing.assert_array_equal(corrupted.numpy(), again.batches[0][0].numpy())  # fixed seed
    changed = corrupted.numpy() != batch["input_ids"]
    np.testing.assert_array_equal(labels, changed.astype(np.int32))
    assert 0 < labels.sum() <= 8 * 8 and not changed[:, 0].any()  # [CLS] never replaced
    out = diag(_FixedModel())
    real = mask.numpy() != 0 if hasattr(mask, "numpy") else mask != 0
    scores = corrupted.numpy()[real] / 100.0
    assert out["disc/auc_unigram"] == pytest.approx(roc_auc_score(labels[real], scores))
    hidden = tf.one_hot(corrupted % 3, 3).numpy()
    assert out["disc/hidden_cosine"] == pytest.approx(mean_pairwise_cosine(hidden, np.asarray(mask)))


def test_probe_summary_counts_ratios_over_the_flag_threshold(bert_vocab_file):
    tokenizer = FullTokenizer(load_vocab(bert_vocab_file))
    batch = {k: v.numpy() for k, v in batch_of(2, 32, 300).items()}
    diag = Diagnostics([batch], np.ones(300), SPECIAL, 0.15, 5, probe=probe_items(tokenizer))
    model = _FixedModel()
    ratios = diag.probe_ratios(model)
    # with logit = id / 100 and the error token equal to the clean one, every ratio is 1
    np.testing.assert_allclose(ratios, 1.0, rtol=1e-6)
    summary = diag.probe_summary(model)
    assert summary == {"probe/flagged": 0.0, "probe/median_ratio": pytest.approx(1.0)}
    assert FLAG_RATIO == 3.0


def test_a_real_pretrainers_discriminate_matches_its_score_path():
    model = build_pretrainer(tiny_config("electra"), SPECIAL)
    batch = batch_of(2, 32, 300)
    model(batch, tf.constant([1, 2], tf.int64), 0)
    logits, hidden = model.discriminate(batch["input_ids"], batch["input_mask"], batch["segment_ids"])
    emb = model.embeddings(batch["input_ids"], batch["segment_ids"])
    states = model.discriminator.encoder(emb, batch["input_mask"])[-1]
    np.testing.assert_allclose(hidden.numpy(), states.numpy(), atol=1e-6)
    np.testing.assert_allclose(logits.numpy(), model.discriminator.head(states).numpy(), atol=1e-6)
    assert logits.shape == (2, 32) and hidden.shape == (2, 32, 32)


class _UnknownWords:
    """A tokenizer whose vocabulary knows no word: every sentence is [UNK]s."""

    def tokenize(self, text):
        return ["[UNK]"] * len(text.split())

    def convert_tokens_to_ids(self, tokens):
        return [1] * len(tokens)


def test_probe_pairs_the_vocabulary_cannot_tell_apart_are_left_out():
    assert probe_items(_UnknownWords()) == []
