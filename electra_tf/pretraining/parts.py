"""The base of every exchangeable part of the pretrainer (replacement method, discriminator).

A part may keep training state of its own (non-trainable variables, checkpointed with the
model). Two hooks let it do so without the pretrainer or trainer knowing which part it is:
`after_step` runs inside the compiled train step with the step's metric sums (summed over
replicas), `summary_scalars` adds TensorBoard scalars for a log window.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras


class PretrainerPart(tf_keras.layers.Layer):
    """A Keras layer with the two training hooks; both default to no-ops."""

    def after_step(self, sums: dict[str, tf.Tensor]) -> None:
        """Called inside the compiled train step (cross-replica context) with the step's sums."""

    def summary_scalars(self, window: dict[str, float]) -> dict[str, float]:
        """Extra scalars for a log window, from the window's summed metric values."""
        return {}
