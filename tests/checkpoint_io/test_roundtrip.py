"""Lossless conversion both ways, and upstream-format exports that a TF1 graph restores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from electra_tf import checkpoint_io
from electra_tf.checkpoint_io import translate
from electra_tf.pretraining.training_state import build_model_and_optimizer
from tests.checkpoint_io.helpers import FAST, SMALL, make_upstream_checkpoint, read_all, upstream_spec

BOOKKEEPING = ("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter")


def assert_same_tensors(expected: dict[str, np.ndarray], actual: dict[str, np.ndarray]) -> None:
    assert sorted(expected) == sorted(actual), set(expected) ^ set(actual)
    for name, value in expected.items():
        assert actual[name].dtype == value.dtype, name
        assert np.array_equal(actual[name], value), name


@pytest.mark.parametrize(
    "spec, slots, generator_hidden_size",
    [
        (dict(FAST, generator_hidden=64), False, 0.25),
        (dict(FAST, generator_hidden=256), True, 1.0),
        # the released ELECTRA-small layout, and ELECTRA-small with the paper's 1/4 generator
        pytest.param(dict(SMALL, generator_hidden=256), False, 1.0, marks=pytest.mark.slow),
        pytest.param(dict(SMALL, generator_hidden=64), False, 0.25, marks=pytest.mark.slow),
    ],
    ids=["gen64", "gen256-adam-slots", "electra-small-full-gen256", "electra-small-full-gen64"],
)
def test_upstream_to_ours_to_upstream_is_bit_for_bit(tmp_path, spec, slots, generator_hidden_size):
    original = make_upstream_checkpoint(tmp_path / "upstream", seed=1, step=12345, slots=slots, **spec)
    ours = translate.to_ours(original, str(tmp_path / "models" / "ours"), build=build_model_and_optimizer)
    assert checkpoint_io.find_checkpoint(str(tmp_path / "models" / "ours")) == (ours, "ours")
    with open(tmp_path / "models" / "ours" / "hparams.json") as f:
        hparams = json.load(f)
    assert hparams["vocab_size"] == spec["vocab"]
    assert hparams["generator_hidden_size"] == generator_hidden_size
    assert hparams["model_hparam_overrides"] == (
        {} if spec["layers"] == 12 else {"num_hidden_layers": spec["layers"]}
    )
    ours_reader = tf.train.load_checkpoint(ours)
    assert any("OPTIMIZER_SLOT" in n for n in ours_reader.get_variable_to_shape_map()) == slots
    back = translate.to_upstream(str(tmp_path / "models" / "ours"), str(tmp_path / "back"))
    assert back.endswith("model.ckpt-12345")
    restored = read_all(back)
    assert_same_tensors(read_all(original), restored)
    assert restored["global_step"].dtype == np.int64 and restored["global_step"] == 12345


def _object_values(prefix: str) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(prefix)
    return {
        name: reader.get_tensor(name)
        for name, dtype in reader.get_variable_to_dtype_map().items()
        if dtype != tf.variant and not any(b in name for b in BOOKKEEPING)
    }


def test_ours_to_upstream_to_ours_keeps_weights_slots_and_step(trained_model_dir, tmp_path):
    exported = translate.to_upstream(trained_model_dir, str(tmp_path / "upstream"))
    arrays = read_all(exported)
    # The names match upstream's layout, spelled out independently in the test helper.
    spec = upstream_spec(vocab=300, embedding=64, hidden=128, layers=2, intermediate=512, generator_hidden=32)
    slots = {f"{n}/adam_{s}" for n in spec for s in "mv"}
    assert set(arrays) == set(spec) | slots | {"global_step"}
    assert all(tuple(arrays[n].shape) == shape for n, shape in spec.items())
    assert arrays["global_step"] == 3
    assert np.abs(arrays["electra/encoder/layer_1/attention/self/query/kernel/adam_m"]).max() > 0

    again = translate.to_ours(
        str(tmp_path / "upstream"), str(tmp_path / "models" / "again"), build=build_model_and_optimizer
    )
    original = _object_values(tf.train.latest_checkpoint(trained_model_dir))
    converted = _object_values(again)
    compared = [n for n in converted if n.startswith(("model/", "optimizer/"))]
    assert len([n for n in compared if n.startswith("model/") and "OPTIMIZER_SLOT" not in n]) == len(spec)
    assert len([n for n in compared if "OPTIMIZER_SLOT" in n]) == 2 * len(spec)
    assert converted["optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"] == 3
    for name in compared:  # weights, m and v slots, optimizer/iter (and its constant hyper-parameters)
        assert converted[name].dtype == original[name].dtype, name
        assert np.array_equal(converted[name], original[name]), name


def test_upstream_export_restores_in_a_tf1_graph(trained_model_dir, tmp_path):
    exported = translate.to_upstream(trained_model_dir, str(tmp_path / "upstream"))
    expected = read_all(exported)
    spec = upstream_spec(vocab=300, embedding=64, hidden=128, layers=2, intermediate=512, generator_hidden=32)
    with tf.Graph().as_default():
        variables = {
            n: tf.compat.v1.get_variable(n, shape, tf.float32, tf.compat.v1.zeros_initializer())
            for n, shape in spec.items()
        }
        step = tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver(list(variables.values()) + [step])
        with tf.compat.v1.Session() as sess:
            saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path / "upstream")))
            values, global_step = sess.run([variables, step])
    assert global_step == 3
    for name, value in values.items():
        assert np.array_equal(value, expected[name]), name
