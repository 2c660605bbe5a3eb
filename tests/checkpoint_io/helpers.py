"""Synthetic upstream-layout ELECTRA checkpoints, written independently of electra_tf.checkpoint_io.

The names and shapes below are spelled out from upstream's TF1 variable scopes (google-research/
electra), not taken from the library's mapping tables, so the tests check the library against
them. Values are random float32 (scaled so a forward pass gives well-spread probabilities).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

SMALL = dict(vocab=30522, embedding=128, hidden=256, layers=12, intermediate=1024, max_position=512)
FAST = dict(SMALL, vocab=1000, layers=2)
# The shapes of tests/conftest.py's TINY_MODEL with a 300-token vocabulary (synthetic_data_dir's).
TINY_SHAPES = dict(vocab=300, embedding=64, hidden=128, layers=2, intermediate=512, generator_hidden=32)

# A vocabulary of any size: the specials, some words, then fillers.
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "a",
    "cat",
    "sat",
    "on",
    "mat",
    "and",
    "ran",
    "far",
    "away",
]
SEQ_LENGTH = 64


def vocab_tokens(size: int) -> list[str]:
    """`size` tokens: the specials, some words, then fillers."""
    tokens = SPECIALS + WORDS + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    tokens += [f"tok{i}" for i in range(size - len(tokens))]
    return tokens[:size]


def write_vocab(path, size: int) -> str:
    path.write_text("\n".join(vocab_tokens(size)) + "\n", encoding="utf-8")
    return str(path)


def _tower(spec: dict, scope: str, embedding: int, hidden: int, layers: int, intermediate: int) -> None:
    if embedding != hidden:
        spec[f"{scope}/embeddings_project/kernel"] = (embedding, hidden)
        spec[f"{scope}/embeddings_project/bias"] = (hidden,)
    for i in range(layers):
        p = f"{scope}/encoder/layer_{i}/"
        for part in ("query", "key", "value"):
            spec[f"{p}attention/self/{part}/kernel"] = (hidden, hidden)
            spec[f"{p}attention/self/{part}/bias"] = (hidden,)
        spec[p + "attention/output/dense/kernel"] = (hidden, hidden)
        spec[p + "attention/output/dense/bias"] = (hidden,)
        spec[p + "attention/output/LayerNorm/gamma"] = (hidden,)
        spec[p + "attention/output/LayerNorm/beta"] = (hidden,)
        spec[p + "intermediate/dense/kernel"] = (hidden, intermediate)
        spec[p + "intermediate/dense/bias"] = (intermediate,)
        spec[p + "output/dense/kernel"] = (intermediate, hidden)
        spec[p + "output/dense/bias"] = (hidden,)
        spec[p + "output/LayerNorm/gamma"] = (hidden,)
        spec[p + "output/LayerNorm/beta"] = (hidden,)


def upstream_spec(
    vocab=1000,
    embedding=128,
    hidden=256,
    layers=2,
    intermediate=1024,
    max_position=512,
    generator_hidden: int | None = 64,
    generator_layers: int | None = None,
) -> dict[str, tuple[int, ...]]:
    """Upstream ELECTRA names → shapes (generator FFN 4·G); generator_hidden None = no generator."""
    spec = {
        "electra/embeddings/word_embeddings": (vocab, embedding),
        "electra/embeddings/position_embeddings": (max_position, embedding),
        "electra/embeddings/token_type_embeddings": (2, embedding),
        "electra/embeddings/LayerNorm/gamma": (embedding,),
        "electra/embeddings/LayerNorm/beta": (embedding,),
    }
    _tower(spec, "electra", embedding, hidden, layers, intermediate)
    spec["discriminator_predictions/dense/kernel"] = (hidden, hidden)
    spec["discriminator_predictions/dense/bias"] = (hidden,)
    spec["discriminator_predictions/dense_1/kernel"] = (hidden, 1)
    spec["discriminator_predictions/dense_1/bias"] = (1,)
    if generator_hidden:
        g = generator_hidden
        _tower(spec, "generator", embedding, g, generator_layers or layers, 4 * g)
        spec["generator_predictions/dense/kernel"] = (g, embedding)
        spec["generator_predictions/dense/bias"] = (embedding,)
        spec["generator_predictions/LayerNorm/gamma"] = (embedding,)
        spec["generator_predictions/LayerNorm/beta"] = (embedding,)
        spec["generator_predictions/output_bias"] = (vocab,)
    return spec


def random_arrays(spec: dict, seed: int = 0, slots: bool = False) -> dict[str, np.ndarray]:
    """float32 values: LayerNorm gamma ≈ 1, kernels N(0, 1/fan_in), other vectors N(0, 0.1), word
    embeddings N(0, 1); with `slots`, `<name>/adam_m` N(0, 1e-3) and `<name>/adam_v` |N(0, 1e-6)|."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in spec.items():
        if name.endswith("gamma"):
            value = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith("kernel"):
            value = rng.standard_normal(shape) / np.sqrt(shape[0])
        elif len(shape) == 2:
            value = rng.standard_normal(shape)
        else:
            value = 0.1 * rng.standard_normal(shape)
        arrays[name] = value.astype(np.float32)
        if slots:
            arrays[name + "/adam_m"] = (1e-3 * rng.standard_normal(shape)).astype(np.float32)
            arrays[name + "/adam_v"] = np.abs(1e-6 * rng.standard_normal(shape)).astype(np.float32)
    return arrays


def write_tf1_checkpoint(prefix: str, arrays: dict[str, np.ndarray], step: int) -> str:
    """Saves `arrays` and an int64 `global_step` with a tf.compat.v1 Saver in a graph, as upstream's
    Estimator does; returns the saved prefix (`prefix-<step>`)."""
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    with tf.Graph().as_default():
        variables = {
            name: tf.compat.v1.get_variable(
                name,
                shape=value.shape,
                dtype=tf.as_dtype(value.dtype),
                initializer=tf.compat.v1.zeros_initializer(),
                use_resource=False,
            )
            for name, value in arrays.items()
        }
        global_step = tf.compat.v1.get_variable(
            "global_step", shape=[], dtype=tf.int64, initializer=tf.compat.v1.zeros_initializer()
        )
        placeholders = {
            name: tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape) for name, v in variables.items()
        }
        assign = [tf.compat.v1.assign(variables[n], placeholders[n]) for n in variables]
        assign.append(tf.compat.v1.assign(global_step, step))
        saver = tf.compat.v1.train.Saver(list(variables.values()) + [global_step])
        with tf.compat.v1.Session() as sess:
            sess.run(assign, {placeholders[n]: arrays[n] for n in arrays})
            return saver.save(sess, prefix, global_step=step, write_meta_graph=False)


def read_all(prefix: str) -> dict[str, np.ndarray]:
    """Every tensor of a name-based checkpoint, by name (independent of the library)."""
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def make_upstream_checkpoint(directory, seed=0, step=1000, slots=False, **spec_args) -> str:
    """A synthetic upstream checkpoint in `directory`; returns its prefix."""
    arrays = random_arrays(upstream_spec(**spec_args), seed, slots)
    return write_tf1_checkpoint(str(directory / "model.ckpt"), arrays, step)


@contextlib.contextmanager
def created_variables() -> Iterator[list[tf.Variable]]:
    """Yields a list that receives every tf.Variable created inside the block (Keras weights,
    optimizer slots and RNG states included), through a variable creator scope."""
    variables: list[tf.Variable] = []

    def record(next_creator, **kwargs):
        variable = next_creator(**kwargs)
        variables.append(variable)
        return variable

    with tf.variable_creator_scope(record):
        yield variables
