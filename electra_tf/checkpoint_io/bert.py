"""BERT checkpoints read as ELECTRA: a BERT encoder is an ELECTRA discriminator encoder.

Two layouts are read, both turned into the upstream ELECTRA names every exchange goes through
(`upstream_names`); shapes: V vocabulary, H hidden, I intermediate, P positions, T token types.

    Google BERT (TF1)                       HF BertModel / BertForPreTraining / BertForMaskedLM
                                            (every name with or without the `bert.` prefix)
    bert/embeddings/<e>                     embeddings.<e>.weight
    bert/embeddings/LayerNorm/*             embeddings.LayerNorm.*
      → electra/embeddings/<e>, electra/embeddings/LayerNorm/*
    bert/encoder/layer_i/<part>/*           encoder.layer.i.<part>.*
      → electra/encoder/layer_i/<part>/*
    cls/predictions/transform/dense/*       cls.predictions.transform.dense.*
      → generator_predictions/dense/*
    cls/predictions/transform/LayerNorm/*   cls.predictions.transform.LayerNorm.*
      → generator_predictions/LayerNorm/*
    cls/predictions/output_bias             cls.predictions.bias
      → generator_predictions/output_bias
    (tied to the word embeddings)           cls.predictions.decoder.weight: must equal them
    bert/pooler/dense/*                     pooler.dense.*              no home: reported, never used
    cls/seq_relationship/*                  cls.seq_relationship.*      no home: reported, never used

The MLM head keeps upstream's `generator_predictions/*` names: it is the generator's head exactly
when the generator is the discriminator's encoder (`untied_generator: false`, or a method that
shares the encoder). `plan_restore` uses it only then; otherwise it is reported unused and the
generator keeps its initialisation. `<name>/adam_m|adam_v` slots follow their variable; `global_step`
is the step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from electra_tf.checkpoint_io.architecture import CheckpointError
from electra_tf.checkpoint_io.upstream_names import strip_slot

MLM_HEAD = "generator_predictions/"
_TF1_HEAD = {
    "cls/predictions/transform/dense/kernel": "generator_predictions/dense/kernel",
    "cls/predictions/transform/dense/bias": "generator_predictions/dense/bias",
    "cls/predictions/transform/LayerNorm/gamma": "generator_predictions/LayerNorm/gamma",
    "cls/predictions/transform/LayerNorm/beta": "generator_predictions/LayerNorm/beta",
    "cls/predictions/output_bias": "generator_predictions/output_bias",
}
_HF_HEAD = {
    "cls.predictions.transform.dense.weight": "generator_predictions.dense.weight",
    "cls.predictions.transform.dense.bias": "generator_predictions.dense.bias",
    "cls.predictions.transform.LayerNorm.weight": "generator_predictions.LayerNorm.weight",
    "cls.predictions.transform.LayerNorm.bias": "generator_predictions.LayerNorm.bias",
    "cls.predictions.bias": "generator_lm_head.bias",
}
_HF_TIED = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias")
_NO_HOME = re.compile(r"^(bert[./])?pooler[./]|^cls[./]seq_relationship[./]")
_TF1_TOWER = re.compile(r"^bert/(embeddings|encoder)/")


def is_tf1_bert_name(name: str) -> bool:
    """Whether a checkpoint key looks like a Google BERT (TF1) model variable."""
    return bool(_TF1_TOWER.match(name))


def has_no_home(name: str) -> bool:
    """BERT parts ELECTRA has no place for: the pooler and the next-sentence head (either layout)."""
    return bool(_NO_HOME.match(strip_slot(name)[0]))


def is_bert_extra(name: str) -> bool:
    """A BERT part beyond the encoder: no home, or the MLM head (unused unless the generator is tied)."""
    return has_no_home(name) or strip_slot(name)[0].startswith(MLM_HEAD)


def encoder_only(shapes: Mapping) -> dict:
    """The upstream-named entries of a BERT's encoder (`electra/...`): what decides its
    architecture (the MLM head and pooler say nothing about our generator)."""
    return {name: value for name, value in shapes.items() if name.startswith("electra/")}


def from_tf1(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Google BERT TF1 arrays (or shapes; no `global_step`) → upstream ELECTRA names; the pooler
    and NSP head keep their BERT names.

    Raises:
      CheckpointError: a variable that is neither BERT's nor has a place (named).
    """
    out = {}
    for key, value in arrays.items():
        name, slot = strip_slot(key)
        if _TF1_TOWER.match(name):
            target = "electra/" + name[len("bert/") :]
        elif name in _TF1_HEAD:
            target = _TF1_HEAD[name]
        elif has_no_home(name):
            target = name
        else:
            raise CheckpointError(f"{name}: not a variable of Google BERT's encoder or pre-training heads")
        out[target + slot] = value
    return out


def split_hf_state(state: Mapping[str, np.ndarray], file: str) -> tuple[dict, dict, dict]:
    """An HF BERT state dict → (ELECTRA-named encoder tensors `electra.*`, ELECTRA-named MLM head
    tensors for `hf_names.from_hf_state(..., GENERATOR)`, tensors with no home by their own names).

    Raises:
      CheckpointError: a tensor BERT does not have, or an MLM decoder not tied to the word
        embeddings (electra-tf ties them); the message names the tensor and `file`.
    """
    encoder, head, no_home = {}, {}, {}
    for key, value in state.items():
        name = key[len("bert.") :] if key.startswith("bert.") else key
        if name.startswith(("embeddings.", "encoder.")):
            encoder["electra." + name] = value
        elif name in _HF_HEAD:
            head[_HF_HEAD[name]] = value
        elif has_no_home(key):
            no_home[key] = value
        elif name not in _HF_TIED:
            raise CheckpointError(
                f"{file}: {key} is not a tensor of BertModel, BertForPreTraining or BertForMaskedLM"
            )
    words = encoder.get("electra.embeddings.word_embeddings.weight")
    decoder = _first(state, _HF_TIED[0])
    if decoder is not None and words is not None and not np.array_equal(decoder, words):
        raise CheckpointError(f"{file}: {_HF_TIED[0]} differs from the word embeddings; electra-tf ties them")
    decoder_bias = _first(state, _HF_TIED[1])
    bias = head.get("generator_lm_head.bias")
    if decoder_bias is not None and bias is not None and not np.array_equal(decoder_bias, bias):
        raise CheckpointError(f"{file}: {_HF_TIED[1]} differs from cls.predictions.bias")
    return encoder, head, no_home


def _first(state: Mapping[str, np.ndarray], name: str):
    return state.get(name, state.get("bert." + name))


def describe_unused(names) -> list[str]:
    """Unused BERT names, grouped for a summary line: e.g. ['pooler (2)', 'NSP head (2)']."""
    groups = {"pooler": 0, "NSP head": 0, "MLM head": 0}
    for name in names:
        base = strip_slot(name)[0]
        if "pooler" in base:
            groups["pooler"] += 1
        elif "seq_relationship" in base:
            groups["NSP head"] += 1
        elif base.startswith(MLM_HEAD):
            groups["MLM head"] += 1
    return [f"{group} ({count})" for group, count in groups.items() if count]
