"""The base of every exchangeable part of the pretrainer (replacement method, discriminator), and
the vocabulary's special token ids they share.

A part may keep training state of its own (non-trainable variables, checkpointed with the
model). Three hooks let it do so without the pretrainer or trainer knowing which part it is:
`after_step` runs inside the compiled train step with the step's metric sums (summed over
replicas), `summary_scalars` adds TensorBoard scalars for a log window, `initial_checkpoints`
names checkpoints that initialise some of its variables when a run starts from scratch.
"""

from __future__ import annotations

import dataclasses
import re

import tensorflow as tf
import tf_keras


@dataclasses.dataclass(frozen=True)
class SpecialTokens:
    """Token ids the pretrainer treats specially. `reserved_ids`: every bracketed vocabulary entry
    ([PAD], [UNK], [CLS], [SEP], [MASK], [unused…]), which no replacement may produce."""

    mask_id: int
    cls_id: int
    sep_id: int
    reserved_ids: tuple[int, ...] = ()

    @classmethod
    def from_vocab(cls, vocab: list[str]) -> SpecialTokens:
        ids = {t: i for i, t in enumerate(vocab)}
        reserved = tuple(i for i, t in enumerate(vocab) if re.fullmatch(r"\[[^\]]+\]", t))
        return cls(ids["[MASK]"], ids["[CLS]"], ids["[SEP]"], reserved)

    @property
    def never_replacement_ids(self) -> tuple[int, ...]:
        return tuple(sorted({self.mask_id, self.cls_id, self.sep_id, *self.reserved_ids}))


class StateLayer(tf_keras.layers.Layer):
    """A part's training state as non-trainable variables (checkpointed with the model), float32
    whatever the precision policy (bookkeeping is never read as bfloat16), built on first use."""

    def __init__(self, name: str, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)

    def ensure_built(self) -> None:
        """Creates the variables (under the layer's name scope) if `build` has not run yet."""
        if not self.built:
            with tf.name_scope(self.name):
                self.build(None)


class PretrainerPart(tf_keras.layers.Layer):
    """A Keras layer with the two training hooks; both default to no-ops."""

    def after_step(self, sums: dict[str, tf.Tensor]) -> None:
        """Called inside the compiled train step (cross-replica context) with the step's sums."""

    def summary_scalars(self, window: dict[str, float]) -> dict[str, float]:
        """Extra scalars for a log window, from the window's summed metric values."""
        return {}

    def initial_checkpoints(self) -> list[tuple[str, list[tf.Variable]]]:
        """(checkpoint path, variables it initialises) pairs for a run that starts from scratch."""
        return []
