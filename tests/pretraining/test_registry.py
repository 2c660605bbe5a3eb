"""A method is one registry entry: a toy method defined in this file alone — its hparams, its
validation, its replacement part and its discriminator stage — trains two steps through the real
Trainer, with its hparams flat in --hparams and hparams.json, and nothing edited elsewhere."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import configs
from electra_tf.pretraining import registry, sampling
from electra_tf.pretraining.discriminators import FullDiscriminator, build_full_discriminator
from electra_tf.pretraining.replacement import Replacement, ReplacementMethod
from pretrain.trainer import Trainer
from tests.pretraining.helpers import SPECIAL, batch_of, mask_like_the_pretrainer, tiny_hparams

TOY = "toy_constant_token"


@dataclasses.dataclass(frozen=True)
class ToyHparams:
    toy_token_id: int = 200  # every selected position becomes this token


def validate_toy(config) -> None:
    if registry.hparams_of(config).toy_token_id in SPECIAL.never_replacement_ids:
        raise configs.ConfigError("hparam toy_token_id must not be a special token")


class ConstantTokenReplacement(ReplacementMethod):
    """Writes one fixed token at every selected position; counts the replaced tokens it made."""

    discriminator_sum_keys = ("toy_replaced",)

    def __init__(self, token_id: int):
        super().__init__(name="toy")
        self.token_id = token_id

    def call(self, embeddings, batch, masked, seeds, step_seed=None, training=False) -> Replacement:
        new_ids = tf.fill(tf.shape(masked.masked_ids), self.token_id)
        corrupted = sampling.replace_tokens(
            batch["input_ids"], masked.masked_positions, new_ids, masked.masked_weights
        )
        labels = sampling.rtd_labels(batch["input_ids"], corrupted, batch["input_mask"])
        return Replacement(corrupted_ids=corrupted, labels=labels, losses={}, sums={})

    def discriminator_sums(self, counts, replacement):
        return {"toy_replaced": counts["tp"] + counts["fn"]}


class CountingDiscriminator(FullDiscriminator):
    """Upstream's discriminator plus a step counter of its own (training state in the checkpoint)."""

    def build_variables(self):
        super().build_variables()
        if not hasattr(self, "steps_seen"):
            with tf.init_scope():
                self.steps_seen = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps_seen")

    def after_step(self, sums):
        self.steps_seen.assign_add(1)

    def summary_scalars(self, window):
        return {"toy/steps_seen": float(self.steps_seen.numpy()), "toy/replaced": window["toy_replaced"]}


def build_counting_discriminator(config) -> CountingDiscriminator:
    full = build_full_discriminator(config)
    return CountingDiscriminator(full.encoder, full.head, config.disc_weight)


@pytest.fixture
def toy_method():
    registry.register(
        registry.Method(
            TOY,
            lambda config, context: ConstantTokenReplacement(registry.hparams_of(config).toy_token_id),
            hparams=ToyHparams,
            validate=validate_toy,
            build_discriminator=build_counting_discriminator,
            generator_sized=False,
        )
    )
    yield TOY
    registry.unregister(TOY)


@pytest.mark.slow
def test_a_method_registered_from_a_test_trains_two_steps_through_the_trainer(toy_method, tmp_path):
    hparams = {**tiny_hparams(toy_method), "toy_token_id": 250, "num_train_steps": 2, "log_every": 1}
    config = configs.config_from_hparams("toy", str(tmp_path), hparams)
    assert config.method_hparams == ToyHparams(toy_token_id=250)
    batch = batch_of(4, 32, 300)
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    logged = []
    trainer = Trainer(config, tf.distribute.get_strategy(), SPECIAL, [], log=lambda _: None, dataset=dataset)
    last = trainer.train(on_log=lambda step, scalars: logged.append((step, scalars)))
    assert trainer.step == 2 and [s for s, _ in logged] == [1, 2]
    assert last["toy/steps_seen"] == 2.0
    assert last["toy/replaced"] > 0 and np.isfinite(last["loss/disc"])
    configs.write_hparams_json(trainer.config)
    with open(os.path.join(config.model_dir, "hparams.json"), encoding="utf-8") as f:
        written = json.load(f)
    assert written["toy_token_id"] == 250 and written["method"] == toy_method
    assert configs.config_from_json_file(os.path.join(config.model_dir, "hparams.json")).method_hparams == (
        ToyHparams(toy_token_id=250)
    )


def test_the_toy_method_validates_its_own_hparams(toy_method):
    with pytest.raises(configs.ConfigError, match="toy_token_id must not be a special token"):
        configs.config_from_hparams(
            "toy", "/d", {**tiny_hparams(toy_method), "toy_token_id": SPECIAL.mask_id}
        )
    with pytest.raises(configs.ConfigError, match="must be an integer"):
        configs.config_from_hparams("toy", "/d", {**tiny_hparams(toy_method), "toy_token_id": 2.5})


def test_the_replacement_puts_the_token_at_the_selected_positions_only(toy_method):
    from electra_tf.pretraining.model import build_pretrainer

    model = build_pretrainer(configs.config_from_hparams("toy", "/d", tiny_hparams(toy_method)), SPECIAL)
    batch = batch_of(4, 32, 300)
    seed = tf.constant([3, 4], tf.int64)
    out = model(batch, seed, 0)  # builds every part
    masked = mask_like_the_pretrainer(model, batch, seed)
    made = model.method(model.embeddings, batch, masked, None)
    ids, corrupted = batch["input_ids"].numpy(), made.corrupted_ids.numpy()
    selected = np.zeros_like(ids, bool)
    rows = zip(masked.masked_positions.numpy(), masked.masked_weights.numpy(), strict=True)
    for row, (positions, weights) in enumerate(rows):
        selected[row, positions[weights > 0]] = True
    assert (corrupted[selected] == 200).all() and (corrupted[~selected] == ids[~selected]).all()
    np.testing.assert_array_equal(out.labels.numpy(), (corrupted != ids).astype(np.int32))
    assert float(out.sums["toy_replaced"]) == (corrupted != ids).sum()
    assert isinstance(model.discriminator, CountingDiscriminator)
