"""ExampleBuilder against hand-worked cases and the rates of upstream's random choices."""

from __future__ import annotations

import random

import numpy as np
import pytest

from electra_tf.data.packing import ExampleBuilder
from electra_tf.data.schema import example_features


class FixedRandom(random.Random):
    """random() always returns `value`; randint is never expected."""

    def __init__(self, value: float):
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_hand_worked_example():
    # max_length 16 -> first-segment target (16-3)//2 = 6; random() = 0.5 means: two segments,
    # no coin-flip overflow into A (0.5 < 0.5 is false), next target stays 16.
    sentences = [[1, 2, 3], [4, 5, 6, 7], [8, 9], [10, 11, 12, 13, 14]]
    examples = list(ExampleBuilder(16, FixedRandom(0.5)).add_document(sentences))
    # 3+4+2+5 = 14 < 16: one example, at the end of the document.  A takes [1,2,3] (empty A),
    # [4..7] overflows A (3+4 >= 6) and goes to B; [8,9] still fits A (3+2 < 6); [10..14] to B.
    # B is trimmed to the room left: 16 - len(A) - 3 = 8 tokens.
    assert examples == [([1, 2, 3, 8, 9], [4, 5, 6, 7, 10, 11, 12, 13])]


def test_target_reached_emits_and_document_end_flushes():
    builder = ExampleBuilder(8, FixedRandom(0.5))  # first target (8-3)//2 = 2
    out = list(builder.add_document([[1, 2, 3, 4], [5, 6, 7, 8], [9]]))
    # 4+4 = 8 >= 8 -> example from the first two sentences; [9] flushed at document end.
    assert out[0] == ([1, 2, 3, 4], [5])  # B trimmed to 8 - 4 - 3 = 1 token
    assert out[1] == ([9], [])
    # Nothing carries over into the next document.
    assert list(builder.add_document([[10]])) == [([10], [])]


def test_single_segment_and_overflow_coin():
    # random() = 0.01 < 0.1: single-segment; every sentence goes to A, trimmed to max_length-2.
    out = list(ExampleBuilder(10, FixedRandom(0.01)).add_document([[1] * 5, [2] * 5]))
    assert out == [([1] * 5 + [2] * 3, [])]
    # random() = 0.3: two segments and the 50% coin says "overflow into A" (0.3 < 0.5).
    out = list(ExampleBuilder(16, FixedRandom(0.3)).add_document([[1, 2], [3, 4, 5, 6, 7], [8]]))
    # A=[1,2]; [3..7] overflows (2+5 >= 6) but B is empty, A short, coin < 0.5 -> A.
    # Target 16 was not reached (8 tokens): flushed at document end.
    assert out == [([1, 2, 3, 4, 5, 6, 7], [8])]


def test_features_layout():
    f = example_features([7, 8], [9], max_seq_length=8, cls_id=2, sep_id=3)
    assert f["input_ids"] == [2, 7, 8, 3, 9, 3, 0, 0]
    assert f["input_mask"] == [1, 1, 1, 1, 1, 1, 0, 0]
    assert f["segment_ids"] == [0, 0, 0, 0, 1, 1, 0, 0]
    f = example_features([7], [], max_seq_length=8, cls_id=2, sep_id=3)
    assert f["input_ids"] == [2, 7, 3, 0, 0, 0, 0, 0] and f["segment_ids"] == [0] * 8
    with pytest.raises(ValueError, match="exceeds"):
        example_features([1] * 6, [1], max_seq_length=8, cls_id=2, sep_id=3)


def test_max_length_below_eight_is_rejected():
    with pytest.raises(ValueError, match="at least 8"):
        ExampleBuilder(7, random.Random(0))


def test_random_rates_and_invariants():
    """~10% single-segment, ~5% shortened targets (binomial bounds), lengths always fit."""
    rng = random.Random(1234)
    # One long document of 10-token lines: every example but the last is emitted on reaching
    # its target, so the rates below are those of upstream's random draws.
    doc = [[rng.randrange(5, 1000) for _ in range(10)] for _ in range(60_000)]
    examples = list(ExampleBuilder(128, rng).add_document(doc))[:-1]
    lengths = np.array([len(a) + len(b) + 2 + bool(b) for a, b in examples])
    assert all(len(a) > 0 for a, _ in examples) and lengths.max() == 128
    n = len(examples)
    # Empty B: the 10% single-segment draw, or a target of 5..10 tokens (one line reaches it).
    p_single = np.mean([not b for _, b in examples])
    expected = 0.1 + 0.9 * 0.05 * 6 / 124
    assert abs(p_single - expected) < 4 * np.sqrt(expected * (1 - expected) / n), (p_single, n)
    # 5% of targets are uniform in [5, 128]; targets up to 110 give examples under 120 tokens,
    # a full target at least 122.
    p_short = np.mean(lengths < 120)
    expected = 0.05 * 106 / 124
    assert abs(p_short - expected) < 4 * np.sqrt(expected * (1 - expected) / n), (p_short, n)
