"""What the discriminator has learned, measured against targets that do not move during training.

- `disc/auc_unigram`: ROC AUC of P(replaced) on held-out records corrupted once, with a fixed seed,
  by unigram draws (masking's positions and share; the draws from the held-out records' own token
  frequencies; reserved tokens never drawn). Token identity carries no signal against this
  corruption (originals and replacements come from one distribution), so only context scores.
- `disc/hidden_cosine`: mean pairwise cosine of the last discriminator layer's states over the real
  tokens of each example (1.0 = every position looks alike), averaged over examples.
- `probe/*`: paired sentences with and without an inserted error (a duplicated or a swapped word).
  For each pair, ratio = P(replaced) of the error token / P(replaced) of the same token in the
  clean sentence; `probe/flagged` counts pairs with ratio >= `FLAG_RATIO`, `probe/median_ratio`.

Everything runs in inference mode from stateless seeds, so it changes no training state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from electra_tf.pretraining import masking, seeds
from electra_tf.pretraining.parts import SpecialTokens
from electra_tf.pretraining.sampling import unigram_cdf, unigram_corruption
from pretrain.input_pipeline import pretraining_dataset, token_counts

FLAG_RATIO = 3.0
DIAGNOSTIC_SEED = (2024, 15)

# (clean sentence, the same sentence with one inserted error)
PROBE_PAIRS = (
    ("he went to the store to buy some milk .", "he went to the the store to buy some milk ."),
    ("the city is the capital of the province .", "the city is the capital of of the province ."),
    ("she was born in london in 1950 .", "she was born in in london in 1950 ."),
    ("the river flows into the sea near the town .", "the river flows the into sea near the town ."),
    ("he played for the team for two years .", "he played for the team two for years ."),
)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Exact ROC AUC (Mann-Whitney U with mid-ranks for ties): scores, labels [n] → float."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels).astype(bool)
    positives, negatives = labels.sum(), (~labels).sum()
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # mid-ranks: equal scores share the mean of their 1-based ranks
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def mean_pairwise_cosine(hidden: np.ndarray, mask: np.ndarray) -> float:
    """hidden [B, L, H], mask [B, L] → mean over examples (with ≥ 2 real tokens) of the mean cosine
    over pairs i ≠ j of real tokens: (‖Σ_i ĥ_i‖² − n) / (n (n − 1)) with ĥ the unit vectors."""
    unit = hidden / np.maximum(np.linalg.norm(hidden, axis=-1, keepdims=True), 1e-12)
    unit = unit * (mask[..., None] != 0)
    n = (mask != 0).sum(axis=1).astype(np.float64)
    total = np.square(unit.sum(axis=1)).sum(axis=-1)
    keep = n >= 2
    return float(np.mean((total[keep] - n[keep]) / (n[keep] * (n[keep] - 1))))


@dataclasses.dataclass(frozen=True)
class ProbeItem:
    ids: list[int]  # the error sentence, [CLS] … [SEP]
    clean_ids: list[int]
    error_index: int  # the error token in `ids`
    clean_index: int  # the same token in `clean_ids`


def probe_items(tokenizer, pairs: Sequence[tuple[str, str]] = PROBE_PAIRS) -> list[ProbeItem]:
    """Tokenizes each (clean, error) pair; the error token is the first token that differs and its
    clean counterpart the nearest occurrence of the same token in the clean sentence. Pairs the
    vocabulary cannot tell apart (the same tokens, or an `[UNK]` error token) are left out."""
    items = []
    for clean, error in pairs:
        c = ["[CLS]", *tokenizer.tokenize(clean), "[SEP]"]
        e = ["[CLS]", *tokenizer.tokenize(error), "[SEP]"]
        i = next((k for k in range(len(e)) if k >= len(c) or c[k] != e[k]), None)
        if i is None or e[i] == "[UNK]" or e[i] not in c:
            continue
        j = min((k for k, t in enumerate(c) if t == e[i]), key=lambda k: abs(k - i))
        items.append(ProbeItem(tokenizer.convert_tokens_to_ids(e), tokenizer.convert_tokens_to_ids(c), i, j))
    return items


def _padded(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(r) for r in rows)
    ids = np.zeros([len(rows), width], np.int32)
    mask = np.zeros_like(ids)
    for k, r in enumerate(rows):
        ids[k, : len(r)], mask[k, : len(r)] = r, 1
    return ids, mask


class Diagnostics:
    """Computes the scalars above for a pretrainer (`ElectraPretrainer.discriminate`)."""

    def __init__(
        self,
        batches: list[dict[str, np.ndarray]],
        counts: np.ndarray,
        special: SpecialTokens,
        mask_prob: float,
        max_predictions: int,
        probe: list[ProbeItem] | None = None,
    ):
        cdf = tf.constant(unigram_cdf(counts, special.never_replacement_ids))
        self.batches = []
        for k, batch in enumerate(batches):
            size = batch["input_ids"].shape[0]
            example_seeds = seeds.per_example_seeds(tf.constant(DIAGNOSTIC_SEED, tf.int64), k * size, size)
            masked = masking.mask_inputs_per_example(
                batch["input_ids"],
                batch["input_mask"],
                example_seeds,
                mask_prob=mask_prob,
                max_predictions=max_predictions,
                mask_id=special.mask_id,
                special_ids=(special.cls_id, special.sep_id, special.mask_id),
            )
            corrupted, labels = unigram_corruption(
                batch["input_ids"],
                batch["input_mask"],
                masked,
                seeds.stream(example_seeds, seeds.REPLACEMENT_STREAM),
                cdf,
            )
            self.batches.append((corrupted, batch["input_mask"], batch["segment_ids"], labels.numpy()))
        self.probe = probe or []
        self._traced = (None, None)  # (model, its traced `discriminate`): traced once, not per call

    def __call__(self, model) -> dict[str, float]:
        if self._traced[0] is not model:
            self._traced = (model, tf.function(model.discriminate, reduce_retracing=True))
        discriminate = self._traced[1]
        scores, labels, cosines = [], [], []
        for ids, mask, segments, batch_labels in self.batches:
            logits, hidden = discriminate(ids, mask, segments)
            real = np.asarray(mask) != 0
            scores.append(logits.numpy()[real])
            labels.append(batch_labels[real])
            cosines.append(mean_pairwise_cosine(hidden.numpy(), np.asarray(mask)))
        out = {
            "disc/auc_unigram": roc_auc(np.concatenate(scores), np.concatenate(labels)),
            "disc/hidden_cosine": float(np.mean(cosines)),
        }
        if self.probe:
            out.update(self.probe_summary(model))
        return out

    def probe_ratios(self, model) -> list[float]:
        rows = [item.ids for item in self.probe] + [item.clean_ids for item in self.probe]
        ids, mask = _padded(rows)
        logits, _ = model.discriminate(tf.constant(ids), tf.constant(mask), tf.zeros_like(ids))
        p = tf.sigmoid(logits).numpy()
        n = len(self.probe)
        return [
            float(p[k, it.error_index] / max(p[n + k, it.clean_index], 1e-9))
            for k, it in enumerate(self.probe)
        ]

    def probe_summary(self, model) -> dict[str, float]:
        ratios = self.probe_ratios(model)
        return {
            "probe/flagged": float(sum(r >= FLAG_RATIO for r in ratios)),
            "probe/median_ratio": float(np.median(ratios)),
        }


def build_diagnostics(
    files: list[str],
    config,
    special: SpecialTokens,
    tokenizer=None,
    num_examples: int = 256,
    batch_size: int = 32,
) -> Diagnostics:
    """Diagnostics on the first `num_examples` records of `files` (their own unigram counts)."""
    dataset = pretraining_dataset(files, batch_size, config.max_seq_length, config.seed, training=False)
    batches = [{k: v.numpy() for k, v in b.items()} for b in dataset.take(max(1, num_examples // batch_size))]
    if not batches:
        raise ValueError(f"no diagnostic batch of {batch_size} examples in {len(files)} file(s)")
    counts = token_counts(files, config.vocab_size)
    probe = probe_items(tokenizer) if tokenizer is not None else None  # [] when the vocabulary cannot
    return Diagnostics(batches, counts, special, config.mask_prob, config.max_predictions_per_seq, probe)
