"""Training and evaluation loops for one fine-tuning model (one task, one trial).

As upstream: the training loss of a batch is the SUM of its per-example losses; gradients are
clipped to global norm 1.0; AdamW without bias correction with layer-wise learning rates on a
linear warm-up (T * warmup_proportion steps, fractional as upstream) and linear decay to 0 at T.
T = int(ceil(N / train_batch_size) * num_train_epochs) — upstream pads the train set to a whole
number of batches (padding examples carry no loss) before `n // batch * epochs`.

Ours: `padding="longest"` cuts every batch (train and eval) to its longest example instead of
max_seq_length (upstream's "max_length"), for speed; the step functions take any length without
retracing. `bias_correction=True` gives torch/Hugging Face AdamW's bias-corrected moments.
`train` returns a `TrainStats` (the last window's loss, the loop's seconds and examples/s).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from electra_tf.optimization import AdamWeightDecayOptimizer, ElectraLearningRate
from electra_tf.progress import format_duration
from finetune.config import PADDINGS
from finetune.features import Features
from finetune.model import ElectraClassifier, layerwise_lr_multipliers

CLIP_NORM = 1.0
SEQUENCE_KEYS = ("input_ids", "input_mask", "segment_ids")


def num_train_steps(num_examples: int, batch_size: int, num_train_epochs: float) -> int:
    """Upstream's step count: whole (padded) batches per epoch times the epochs, truncated."""
    return int(math.ceil(num_examples / batch_size) * num_train_epochs)


def create_optimizer(
    learning_rate: float,
    total_steps: int,
    warmup_proportion: float,
    weight_decay_rate: float,
    layerwise_lr_decay: float,
    n_layers: int,
    bias_correction: bool = False,
) -> AdamWeightDecayOptimizer:
    """Upstream's fine-tuning optimizer (create_optimizer with warmup_proportion and layer decay);
    bias_correction=True: torch-style bias-corrected AdamW (the adam_bias_correction hparam)."""
    schedule = ElectraLearningRate(
        learning_rate, max(total_steps, 1), max(total_steps * warmup_proportion, 0.0), lr_decay_power=1.0
    )
    multipliers = layerwise_lr_multipliers(n_layers, layerwise_lr_decay) if layerwise_lr_decay > 0 else None
    return AdamWeightDecayOptimizer(
        learning_rate=schedule,
        weight_decay_rate=weight_decay_rate,
        lr_multipliers=multipliers,
        bias_correction=bias_correction,
    )


def trim_to_longest(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """A batch with its [B, L] inputs cut to [B, max over the batch of sum(input_mask)]."""
    length = tf.reduce_max(tf.reduce_sum(tf.cast(batch["input_mask"], tf.int32), axis=1))
    return {key: value[:, :length] if key in SEQUENCE_KEYS else value for key, value in batch.items()}


def _padded(dataset: tf.data.Dataset, padding: str) -> tf.data.Dataset:
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, got {padding!r}")
    if padding == "max_length":
        return dataset
    return dataset.map(trim_to_longest, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def train_dataset(
    features: Features, batch_size: int, seed: int, padding: str = "max_length"
) -> tf.data.Dataset:
    """Endless shuffled batches (reshuffled every epoch, seeded): dict of [batch_size, L] / [batch_size];
    L = max_seq_length, or each batch's longest example with padding="longest" (same rows)."""
    dataset = tf.data.Dataset.from_tensor_slices(features.as_dict())
    dataset = dataset.shuffle(len(features), seed=seed, reshuffle_each_iteration=True).repeat()
    return _padded(dataset.batch(batch_size, drop_remainder=True), padding).prefetch(2)


def eval_dataset(features: Features, batch_size: int, padding: str = "max_length") -> tf.data.Dataset:
    """The examples in order, the last batch possibly smaller (L as in train_dataset)."""
    return _padded(tf.data.Dataset.from_tensor_slices(features.as_dict()).batch(batch_size), padding)


@dataclasses.dataclass(frozen=True)
class TrainStats:
    """What `train` measured: `loss` (the mean per-example training loss of the last logging
    window, what `train` used to return; also `float(stats)`), `steps`, `examples` (steps x batch)
    and `seconds` (the whole loop, the first step's tracing included)."""

    loss: float
    steps: int
    examples: int
    seconds: float

    @property
    def examples_per_second(self) -> float:
        return self.examples / max(self.seconds, 1e-9)

    def __float__(self) -> float:
        return float(self.loss)


def train(
    model: ElectraClassifier,
    optimizer: AdamWeightDecayOptimizer,
    features: Features,
    total_steps: int,
    batch_size: int,
    seed: int,
    log_every: int = 100,
    log: Callable[[str], None] = print,
    prefix: str = "",
    padding: str = "max_length",
) -> TrainStats:
    """Runs total_steps updates; returns the last window's mean per-example loss and the timing."""
    variables = model.trainable_variables
    for var in variables:  # upstream: every variable needs a learning rate; fail before training
        optimizer.lr_multiplier(var.name)
    dataset = train_dataset(features, batch_size, seed, padding)

    @tf.function(input_signature=[dataset.element_spec])  # [B, None] with "longest": one trace
    def step(batch):
        with tf.GradientTape() as tape:
            losses = model.per_example_loss(model(batch, training=True), batch["labels"])  # [B]
            loss = tf.reduce_sum(losses)
        grads = tape.gradient(loss, variables)
        grads, _ = tf.clip_by_global_norm(grads, CLIP_NORM)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return tf.reduce_mean(losses)

    iterator = iter(dataset)
    window_loss, window_steps = 0.0, 0
    last = float("nan")
    start = window_start = now = time.monotonic()
    for done in range(1, total_steps + 1):
        window_loss += float(step(next(iterator)))
        window_steps += 1
        if done % log_every == 0 or done == total_steps:
            now = time.monotonic()
            last = window_loss / window_steps
            rate = window_steps / max(now - window_start, 1e-9)
            eta = (total_steps - done) * (now - start) / done
            log(
                f"{prefix}step {done}/{total_steps} | loss {last:.4f} | {rate:.2f} steps/s | "
                f"ETA {format_duration(eta)} | {rate * batch_size:.1f} examples/s"
            )
            window_loss, window_steps, window_start = 0.0, 0, now
    return TrainStats(last, total_steps, total_steps * batch_size, now - start)


def predict(
    model: ElectraClassifier, features: Features, batch_size: int, padding: str = "max_length"
) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, per-example losses) over all examples, in order: logits [N, C] or sts outputs [N];
    losses [N] (meaningless for unlabelled test examples). padding="longest" gives the same values
    (up to float noise: padded positions are masked out of attention)."""
    dataset = eval_dataset(features, batch_size, padding)

    @tf.function(input_signature=[dataset.element_spec])  # batch [None, L] or [None, None]: one trace
    def step(batch):
        outputs = model(batch, training=False)
        return outputs, model.per_example_loss(outputs, batch["labels"])

    outputs, losses = [], []
    for batch in dataset:
        out, loss = step(batch)
        outputs.append(out.numpy())
        losses.append(loss.numpy())
    return np.concatenate(outputs), np.concatenate(losses)


def prediction_ids(model: ElectraClassifier, outputs: np.ndarray) -> np.ndarray:
    """Logits [N, C] → label ids [N]; sts outputs [N] unchanged."""
    return outputs if model.task.is_regression else np.argmax(outputs, axis=-1)
