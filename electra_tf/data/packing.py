"""Packs tokenized documents into `[CLS] A [SEP] B [SEP]` examples, as upstream ELECTRA does.

Upstream semantics (`build_pretraining_dataset.ExampleBuilder`), with the RNG passed in so a
seed makes the output reproducible:

- lines (sentences) of one document accumulate until their token count reaches the target
  length; then an example is emitted; the end of a document emits what has accumulated, so an
  example never mixes two documents;
- with probability 0.1 the first segment's target is unbounded (single-segment example);
  otherwise it is (target − 3) // 2 tokens; a sentence goes to segment A while A is empty or
  still short, or — once, at the boundary — with probability 0.5 when it overflows A;
- segments are trimmed to `max_length − 2` (A) and the remaining room (B);
- after each example, with probability 0.05 the next target length is uniform in
  [5, max_length], otherwise max_length.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

Segments = tuple[list[int], list[int]]


class ExampleBuilder:
    """Stateful packer: feed documents, get (segment A ids, segment B ids) pairs.

    Args:
      max_length: `max_seq_length` of the records (includes `[CLS]` and two `[SEP]`).
      rng: the source of all random choices (upstream used the global `random` module).
    """

    def __init__(self, max_length: int, rng: random.Random):
        if max_length < 8:
            raise ValueError(f"max_seq_length must be at least 8, got {max_length}")
        self.max_length = max_length
        self.rng = rng
        self.target_length = max_length
        self._sentences: list[list[int]] = []
        self._length = 0

    def add_document(self, sentences: Sequence[Sequence[int]]) -> Iterator[Segments]:
        """Yields the examples completed by this document's sentences (token-id lists)."""
        for sentence in sentences:
            self._sentences.append(list(sentence))
            self._length += len(sentence)
            if self._length >= self.target_length:
                yield self._create_example()
        if self._length:
            yield self._create_example()
        self._sentences, self._length = [], 0

    def _create_example(self) -> Segments:
        rng = self.rng
        if rng.random() < 0.1:
            first_target = 100000  # single segment, as in classification tasks
        else:
            first_target = (self.target_length - 3) // 2
        first: list[int] = []
        second: list[int] = []
        for sentence in self._sentences:
            if (
                not first
                or len(first) + len(sentence) < first_target
                or (not second and len(first) < first_target and rng.random() < 0.5)
            ):
                first += sentence
            else:
                second += sentence
        first = first[: self.max_length - 2]
        second = second[: max(0, self.max_length - len(first) - 3)]
        self._sentences, self._length = [], 0
        if rng.random() < 0.05:
            self.target_length = rng.randint(5, self.max_length)
        else:
            self.target_length = self.max_length
        return first, second
