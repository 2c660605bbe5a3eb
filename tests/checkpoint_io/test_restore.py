"""restore_variables' checks and messages, format detection, names, atomic writes, convert errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import checkpoint_io, configs, standalone_discriminator
from electra_tf.checkpoint_io import CheckpointError, translate
from electra_tf.checkpoint_io import io as ckpt_io
from electra_tf.pretraining.training_state import build_model_and_optimizer
from tests.checkpoint_io.helpers import (
    FAST,
    make_upstream_checkpoint,
    random_arrays,
    read_all,
    upstream_spec,
    write_tf1_checkpoint,
)


def _config(**hparams) -> configs.PretrainingConfig:
    overrides = {"num_hidden_layers": hparams.pop("layers", 2)}
    return configs.config_from_hparams(
        "m", ".", {"vocab_size": 1000, "max_seq_length": 32, "model_hparam_overrides": overrides, **hparams}
    )


def _restore_error(checkpoint: str, config: configs.PretrainingConfig) -> str:
    model, _ = build_model_and_optimizer(config, with_slots=False)
    before = [v.numpy() for v in model.trainable_variables]
    with pytest.raises(CheckpointError) as error:
        checkpoint_io.restore_variables(checkpoint, model.trainable_variables, config, log=None)
    for var, value in zip(model.trainable_variables, before, strict=True):  # nothing was assigned
        assert np.array_equal(var.numpy(), value), var.name
    return str(error.value)


def test_generator_width_mismatch_names_both_sizes_and_the_setting(tmp_path):
    wide = make_upstream_checkpoint(tmp_path, **dict(FAST, generator_hidden=256))
    message = _restore_error(wide, _config())
    assert message.startswith(
        "generator/embeddings_project/kernel: checkpoint [128, 256] vs model [128, 64]: "
        "the checkpoint's generator hidden size is 256 but generator_hidden_size=0.25 gives 64"
    ), message


def test_vocab_mismatch_names_both_sizes(tmp_path):
    message = _restore_error(make_upstream_checkpoint(tmp_path, **FAST), _config(vocab_size=1200))
    assert message.startswith(
        "electra/embeddings/word_embeddings: checkpoint [1000, 128] vs model [1200, 128]: "
        "the checkpoint's vocab size is 1000 but vocab_size=1200"
    ), message


def test_missing_and_extra_layers_are_named(tmp_path):
    two_layers = make_upstream_checkpoint(tmp_path / "two", **FAST)
    message = _restore_error(two_layers, _config(layers=3))
    assert message.startswith(
        "electra/encoder: the checkpoint's number of discriminator layers is 2 but num_hidden_layers=3 "
        "(layer_2 missing from the checkpoint)"
    ), message
    message = _restore_error(two_layers, _config(layers=1))
    assert "layers is 2 but num_hidden_layers=1 (layer_1 not in the model)" in message


def test_discriminator_only_restore_reports_unused_generator_and_slots(tmp_path):
    prefix = make_upstream_checkpoint(tmp_path, step=42, slots=True, **FAST)
    config = checkpoint_io.config_for_checkpoint(prefix)
    model = standalone_discriminator.build(config)
    lines = []
    report = checkpoint_io.restore_variables(
        str(tmp_path), model.trainable_variables, config, log=lines.append
    )
    arrays = read_all(prefix)
    for var in model.trainable_variables:
        name = checkpoint_io.upstream_name(var.name)
        assert np.array_equal(var.numpy().reshape(arrays[name].shape), arrays[name]), name
    generator = [n for n in upstream_spec(**FAST) if n.startswith("generator")]
    assert len(report.restored) == len(model.trainable_variables)
    assert set(report.unused) == set(generator) | {n for n in arrays if n.endswith(("adam_m", "adam_v"))}
    assert lines == [
        f"restored {len(report.restored)} variables from {prefix} (upstream, step 42); "
        f"unused: {2 * len(upstream_spec(**FAST))} optimizer slots, {len(generator)} generator variables"
    ]


@pytest.mark.parametrize(
    "ours, upstream",
    [
        ("electra/embeddings/word_embeddings:0", "electra/embeddings/word_embeddings"),
        ("electra/encoder/embeddings_project/bias:0", "electra/embeddings_project/bias"),
        (
            "electra/encoder/layer_3/self_attention/query/kernel:0",
            "electra/encoder/layer_3/attention/self/query/kernel",
        ),
        (
            "cls/electra/encoder/layer_11/self_attention/attention_output/kernel:0",
            "electra/encoder/layer_11/attention/output/dense/kernel",
        ),
        (
            "electra/encoder/layer_0/self_attention_layer_norm/gamma:0",
            "electra/encoder/layer_0/attention/output/LayerNorm/gamma",
        ),
        ("electra/encoder/layer_1/output/kernel:0", "electra/encoder/layer_1/output/dense/kernel"),
        ("electra/encoder/layer_1/output_layer_norm/beta:0", "electra/encoder/layer_1/output/LayerNorm/beta"),
        ("electra/encoder/layer_2/intermediate/bias:0", "electra/encoder/layer_2/intermediate/dense/bias"),
        ("electra/generator/encoder/embeddings_project/kernel:0", "generator/embeddings_project/kernel"),
        (
            "electra/generator/encoder/layer_5/self_attention/value/bias:0",
            "generator/encoder/layer_5/attention/self/value/bias",
        ),
        ("electra/generator/generator_predictions/output_bias:0", "generator_predictions/output_bias"),
        ("electra/discriminator_predictions/dense_1/kernel:0", "discriminator_predictions/dense_1/kernel"),
        ("task_specific/mnli/dense/kernel:0", "task_specific/mnli/dense/kernel"),
        ("classifier/task_specific/mnli/dense/bias:0", "task_specific/mnli/dense/bias"),
        ("electra/pooler/dense/kernel:0", None),
    ],
)
def test_upstream_names(ours, upstream):
    assert checkpoint_io.upstream_name(ours) == upstream


def test_find_checkpoint_and_config(tmp_path):
    prefix = make_upstream_checkpoint(tmp_path / "up", **FAST)
    assert checkpoint_io.find_checkpoint(str(tmp_path / "up")) == (prefix, "upstream")
    assert checkpoint_io.find_checkpoint(prefix + ".index") == (prefix, "upstream")
    os.remove(tmp_path / "up" / "checkpoint")  # one *.index and no state file: still found
    assert checkpoint_io.find_checkpoint(str(tmp_path / "up")) == (prefix, "upstream")
    assert checkpoint_io.checkpoint_config(prefix) is None
    ours = translate.to_ours(prefix, str(tmp_path / "models" / "ours"), build=build_model_and_optimizer)
    config = checkpoint_io.checkpoint_config(str(tmp_path / "models" / "ours"))
    assert config.vocab_size == 1000 and configs.bert_config(config).num_hidden_layers == 2
    assert config.model_name == "ours" and checkpoint_io.find_checkpoint(ours) == (ours, "ours")

    for bad, pattern in [
        (tmp_path / "nowhere", r"no checkpoint in .*nowhere: neither a directory nor a checkpoint prefix"),
        (tmp_path / "empty", r"no checkpoint in .*empty: no \*\.index files"),
    ]:
        (tmp_path / "empty").mkdir(exist_ok=True)
        with pytest.raises(CheckpointError, match=pattern):
            checkpoint_io.find_checkpoint(str(bad))
    other = write_tf1_checkpoint(str(tmp_path / "other" / "x"), {"foo/bar": np.zeros(3, np.float32)}, 1)
    with pytest.raises(CheckpointError, match="neither an electra-tf checkpoint nor upstream"):
        checkpoint_io.find_checkpoint(other)


def test_write_upstream_checkpoint_is_atomic(tmp_path, monkeypatch):
    arrays = random_arrays(upstream_spec(**FAST), seed=4)
    checkpoint_io.write_upstream_checkpoint(arrays, str(tmp_path / "ok" / "model.ckpt-7"), 7)
    assert sorted(os.listdir(tmp_path / "ok")) == [
        "checkpoint",
        "model.ckpt-7.data-00000-of-00001",
        "model.ckpt-7.index",
    ]
    written = read_all(tf.train.latest_checkpoint(str(tmp_path / "ok")))
    assert written.pop("global_step") == 7 and sorted(written) == sorted(arrays)

    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        os.rename(src, dst)

    monkeypatch.setattr(ckpt_io.os, "replace", failing_replace)
    (tmp_path / "bad").mkdir()
    with pytest.raises(OSError, match="disk full"):
        checkpoint_io.write_upstream_checkpoint(arrays, str(tmp_path / "bad" / "model.ckpt-7"), 7)
    assert os.listdir(tmp_path / "bad") == []


def test_conversion_errors_write_nothing(tmp_path):
    prefix = make_upstream_checkpoint(tmp_path / "up", **FAST)
    output = tmp_path / "models" / "out"
    with pytest.raises(CheckpointError, match="vocab size is 1000 but vocab_size=999"):
        translate.to_ours(prefix, str(output), hparams={"vocab_size": 999}, build=build_model_and_optimizer)
    extra = random_arrays(upstream_spec(**FAST))
    extra["task_specific/classifier/kernel"] = np.ones([256, 3], np.float32)
    extended = write_tf1_checkpoint(str(tmp_path / "extra" / "model.ckpt"), extra, 5)
    with pytest.raises(CheckpointError, match=r"no place in our model for task_specific/classifier/kernel"):
        translate.to_ours(extended, str(output), build=build_model_and_optimizer)
    with pytest.raises(CheckpointError, match="is already in upstream format"):
        translate.to_upstream(prefix, str(output))
    assert not (tmp_path / "models").exists() or os.listdir(tmp_path / "models") == []
    output.mkdir(parents=True)
    (output / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="--output exists and is not an empty directory"):
        translate.to_ours(prefix, str(output), build=build_model_and_optimizer)
    assert os.listdir(output) == ["keep.txt"]
