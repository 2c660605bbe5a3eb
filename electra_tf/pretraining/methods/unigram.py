"""`unigram`: replacements drawn from the training records' token frequencies, no generator.

A test bed for the discriminator alone (docs/plateau.md): the corruption never moves, so what the
discriminator learns against it is contextual skill, not a race with a generator. Positions and
share are masking's; every reserved token is excluded from the draws.

Shapes: B = batch, L = sequence length, V = vocabulary.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from electra_tf import configs
from electra_tf.pretraining import registry
from electra_tf.pretraining.masking import MaskedBatch
from electra_tf.pretraining.replacement import BuildContext, Replacement, ReplacementMethod
from electra_tf.pretraining.sampling import unigram_cdf, unigram_corruption

NAME = "unigram"


class UnigramReplacement(ReplacementMethod):
    """Replacements drawn from a fixed unigram distribution: `cdf` [V] (`sampling.unigram_cdf`), or
    None for a model built only to read or convert a checkpoint, which then cannot train."""

    def __init__(self, cdf: np.ndarray | None, name=NAME, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        self._cdf = cdf  # numpy: a tf constant is made per traced graph

    def call(
        self, embeddings, batch, masked: MaskedBatch, seeds, step_seed=None, training=False
    ) -> Replacement:
        """seeds [B, 2] → unigram draws written at the selected positions and their labels."""
        if self._cdf is None:
            raise configs.ConfigError(
                f"method {NAME} needs the training records' token counts, which were not given"
            )
        corrupted, labels = unigram_corruption(
            batch["input_ids"], batch["input_mask"], masked, seeds, tf.constant(self._cdf)
        )
        return Replacement(corrupted_ids=corrupted, labels=labels, losses={}, sums={})


def build(config: configs.PretrainingConfig, context: BuildContext) -> UnigramReplacement:
    if context.token_counts is None:
        return UnigramReplacement(None)
    return UnigramReplacement(unigram_cdf(context.token_counts(), context.special.never_replacement_ids))


registry.register(registry.Method(NAME, build, generator_sized=False))
