"""The ELECTRA discriminator on its own: P(replaced) for every token, from a checkpoint of either format.

Shapes: B = batch, L = sequence length.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from electra_tf import checkpoint_io, configs
from electra_tf.modeling.backbone import ElectraBackbone
from electra_tf.modeling.heads import DiscriminatorHead


class ElectraDiscriminator(ElectraBackbone):
    """The `ElectraBackbone` + `DiscriminatorHead` → sigmoid: P(replaced), no generator.

    Variables are named as upstream's ('electra/embeddings/...', 'electra/encoder/...',
    'electra/discriminator_predictions/...'), so checkpoints of either format restore into it.
    """

    def __init__(self, model: configs.ModelConfig, name: str = "electra"):
        super().__init__(model.bert, model.embedding_size, name=name)
        self.head = DiscriminatorHead(model.bert.hidden_size, model.bert.initializer_range)

    def call(self, input_ids: tf.Tensor, input_mask: tf.Tensor, segment_ids: tf.Tensor) -> tf.Tensor:
        """input_ids, input_mask (1 = real token), segment_ids: int [B, L] → P(replaced) float32 [B, L]."""
        hidden = super().call(input_ids, input_mask, segment_ids, training=False)  # [B, L, H]
        return tf.sigmoid(self.head(hidden))


def build(config: configs.PretrainingConfig) -> ElectraDiscriminator:
    """The discriminator of `config`'s model (`configs.model_config`), with every variable created."""
    model = ElectraDiscriminator(configs.model_config(config))
    ones = tf.ones([1, 2], tf.int32)
    model(ones, ones, tf.zeros_like(ones))
    return model


def replaced_probabilities(
    model: ElectraDiscriminator,
    input_ids,
    input_mask=None,
    segment_ids=None,
) -> np.ndarray:
    """int token ids [B, L] (mask default all ones, segments default zeros) → P(replaced) [B, L]."""
    ids = tf.convert_to_tensor(input_ids, tf.int32)
    mask = tf.ones_like(ids) if input_mask is None else tf.convert_to_tensor(input_mask, tf.int32)
    segments = tf.zeros_like(ids) if segment_ids is None else tf.convert_to_tensor(segment_ids, tf.int32)
    return model(ids, mask, segments).numpy()


def load_discriminator(
    checkpoint: str,
    model_size: str = "small",
    hparams=None,
    log: Callable[[str], None] | None = print,
) -> tuple[ElectraDiscriminator, configs.PretrainingConfig]:
    """Builds the discriminator a checkpoint (ours: its hparams.json; upstream: `model_size` +
    `hparams` + the checkpoint's shapes) describes and restores it.

    Raises:
      checkpoint_io.CheckpointError, configs.ConfigError.
    """
    config = checkpoint_io.config_for_checkpoint(checkpoint, model_size, hparams)
    return restore_discriminator(checkpoint, config, log), config


def restore_discriminator(
    checkpoint: str, config: configs.PretrainingConfig, log: Callable[[str], None] | None = print
) -> ElectraDiscriminator:
    """The discriminator of `config`, restored from `checkpoint` (CheckpointError on mismatch)."""
    model = build(config)
    checkpoint_io.restore_variables(checkpoint, model.trainable_variables, config, log=log)
    return model


def encode_text(tokenizer, text: str, max_seq_length: int = 128) -> tuple[list[str], list[int]]:
    """`[CLS] wordpieces [SEP]`, the word pieces truncated to fit `max_seq_length` → (tokens, ids)."""
    pieces = tokenizer.tokenize(text)[: max(0, max_seq_length - 2)]
    tokens = ["[CLS]", *pieces, "[SEP]"]
    return tokens, tokenizer.convert_tokens_to_ids(tokens)


def score_text(
    model: ElectraDiscriminator, tokenizer, text: str, max_seq_length: int = 128
) -> tuple[list[str], list[float]]:
    """One text → (its tokens incl. [CLS]/[SEP], P(replaced) of each)."""
    tokens, ids = encode_text(tokenizer, text, max_seq_length)
    return tokens, [float(p) for p in replaced_probabilities(model, [ids])[0]]


def format_scores(tokens: list[str], probabilities: list[float], as_json: bool = False) -> str:
    """`token<TAB>p` lines (4 decimals), or one JSON object {"tokens": [...], "p_replaced": [...]}."""
    if as_json:
        return json.dumps({"tokens": tokens, "p_replaced": probabilities}, ensure_ascii=False)
    return "\n".join(f"{t}\t{p:.4f}" for t, p in zip(tokens, probabilities, strict=True))
