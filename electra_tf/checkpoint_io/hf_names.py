"""Upstream ELECTRA's variable names and shapes ↔ Hugging Face `transformers`' ELECTRA state dicts.

Shapes: V = vocabulary, E = embedding size, H = a tower's hidden size, I = its intermediate size,
P = positions, T = token types. A TF dense kernel is [in, out]; a PyTorch `nn.Linear` weight is
[out, in], so every kernel is transposed; embeddings ([V, E], [P, E], [T, E]) and every bias and
LayerNorm vector keep their shape.

    upstream (TF1)                                        HF (ElectraForPreTraining / ElectraForMaskedLM)
    electra/embeddings/{word,position,token_type}_embeddings  electra.embeddings.<same>.weight
    electra/embeddings/LayerNorm/{gamma,beta}             electra.embeddings.LayerNorm.{weight,bias}
    <tower>/embeddings_project/{kernel,bias}              electra.embeddings_project.{weight,bias}
    <tower>/encoder/layer_i/attention/self/q|k|v/*         electra.encoder.layer.i.attention.self.q|k|v.*
    <tower>/encoder/layer_i/attention/output/dense/*       electra.encoder.layer.i.attention.output.dense.*
    <tower>/encoder/layer_i/attention/output/LayerNorm/*   electra.encoder.layer.i.attention.output
                                                              .LayerNorm.*
    <tower>/encoder/layer_i/intermediate/dense/*           electra.encoder.layer.i.intermediate.dense.*
    <tower>/encoder/layer_i/output/dense/*                 electra.encoder.layer.i.output.dense.*
    <tower>/encoder/layer_i/output/LayerNorm/*             electra.encoder.layer.i.output.LayerNorm.*
    discriminator_predictions/dense/*                     discriminator_predictions.dense.*
    discriminator_predictions/dense_1/*                   discriminator_predictions.dense_prediction.*
    generator_predictions/dense/*                         generator_predictions.dense.*
    generator_predictions/LayerNorm/*                     generator_predictions.LayerNorm.*
    generator_predictions/output_bias                     generator_lm_head.bias
    electra/embeddings/word_embeddings (tied)             generator_lm_head.weight

<tower> is `electra` for the discriminator and `generator` for the generator, whose HF model has
its own copy of the (shared) embeddings. Whatever else a checkpoint holds (optimizer slots, exit
heads, the auxiliary MLM head, training state) has no place in HF's ELECTRA and is not exported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

DISCRIMINATOR, GENERATOR = "discriminator", "generator"
_TOWER_SCOPE = {DISCRIMINATOR: "electra", GENERATOR: "generator"}
_EMBEDDINGS = ("word_embeddings", "position_embeddings", "token_type_embeddings")
_LAYER_PARTS = (
    "attention/self/query",
    "attention/self/key",
    "attention/self/value",
    "attention/output/dense",
    "attention/output/LayerNorm",
    "intermediate/dense",
    "output/dense",
    "output/LayerNorm",
)
_PARAM = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}
_HEADS = {
    DISCRIMINATOR: {
        "discriminator_predictions/dense/kernel": "discriminator_predictions.dense.weight",
        "discriminator_predictions/dense/bias": "discriminator_predictions.dense.bias",
        "discriminator_predictions/dense_1/kernel": "discriminator_predictions.dense_prediction.weight",
        "discriminator_predictions/dense_1/bias": "discriminator_predictions.dense_prediction.bias",
    },
    GENERATOR: {
        "generator_predictions/dense/kernel": "generator_predictions.dense.weight",
        "generator_predictions/dense/bias": "generator_predictions.dense.bias",
        "generator_predictions/LayerNorm/gamma": "generator_predictions.LayerNorm.weight",
        "generator_predictions/LayerNorm/beta": "generator_predictions.LayerNorm.bias",
        "generator_predictions/output_bias": "generator_lm_head.bias",
    },
}
TIED_LM_HEAD = "generator_lm_head.weight"  # = the word embeddings
WORD_EMBEDDINGS = "electra/embeddings/word_embeddings"


def name_map(upstream_names, tower: str) -> dict[str, str]:
    """Upstream name → HF name for those of `upstream_names` that `tower`'s HF model holds."""
    scope = _TOWER_SCOPE[tower]
    layer_re = re.compile(
        rf"^{scope}/encoder/layer_(\d+)/({'|'.join(_LAYER_PARTS)})/(kernel|bias|gamma|beta)$"
    )
    mapping = {}
    for name in upstream_names:
        hf = None
        if name.startswith("electra/embeddings/"):
            rest = name[len("electra/embeddings/") :]
            if rest in _EMBEDDINGS:
                hf = f"electra.embeddings.{rest}.weight"
            elif rest in ("LayerNorm/gamma", "LayerNorm/beta"):
                hf = f"electra.embeddings.LayerNorm.{_PARAM[rest.split('/')[1]]}"
        elif name in (f"{scope}/embeddings_project/kernel", f"{scope}/embeddings_project/bias"):
            hf = f"electra.embeddings_project.{_PARAM[name.rsplit('/', 1)[1]]}"
        elif m := layer_re.match(name):
            part = m.group(2).replace("/", ".")
            hf = f"electra.encoder.layer.{m.group(1)}.{part}.{_PARAM[m.group(3)]}"
        else:
            hf = _HEADS[tower].get(name)
        if hf is not None:
            mapping[name] = hf
    return mapping


def _is_kernel(upstream_name: str) -> bool:
    return upstream_name.endswith("/kernel")


def to_hf_state(arrays: Mapping[str, np.ndarray], tower: str) -> dict[str, np.ndarray]:
    """Upstream-named arrays → `tower`'s HF state dict (kernels transposed to [out, in]; the
    generator's tied `generator_lm_head.weight` written as the word embeddings, as HF ties them)."""
    state = {}
    for name, hf in name_map(arrays, tower).items():
        value = np.asarray(arrays[name])
        state[hf] = np.ascontiguousarray(value.T) if _is_kernel(name) else value
    if tower == GENERATOR and WORD_EMBEDDINGS in arrays:
        state[TIED_LM_HEAD] = np.asarray(arrays[WORD_EMBEDDINGS])
    return state


def from_hf_state(state: Mapping[str, np.ndarray], tower: str) -> dict[str, np.ndarray]:
    """`tower`'s HF state dict → upstream-named arrays (the inverse of `to_hf_state`). Every HF
    tensor must have a place.

    Raises:
      KeyError: an HF tensor name that ELECTRA does not have (the message names it).
    """
    candidates = [f"electra/embeddings/{e}" for e in _EMBEDDINGS]
    candidates += ["electra/embeddings/LayerNorm/gamma", "electra/embeddings/LayerNorm/beta"]
    scope = _TOWER_SCOPE[tower]
    candidates += [f"{scope}/embeddings_project/kernel", f"{scope}/embeddings_project/bias"]
    indices = {int(m.group(1)) for hf in state if (m := re.match(r"^electra\.encoder\.layer\.(\d+)\.", hf))}
    for i in sorted(indices):
        for part in _LAYER_PARTS:
            params = ("gamma", "beta") if part.endswith("LayerNorm") else ("kernel", "bias")
            candidates += [f"{scope}/encoder/layer_{i}/{part}/{p}" for p in params]
    candidates += list(_HEADS[tower])
    inverse = {hf: name for name, hf in name_map(candidates, tower).items()}
    arrays = {}
    for hf, value in state.items():
        if hf == TIED_LM_HEAD or hf.endswith("position_ids"):  # tied copy / a non-weight buffer
            continue
        if hf not in inverse:
            raise KeyError(hf)
        name = inverse[hf]
        value = np.asarray(value, dtype=np.float32)  # float16/bfloat16 files: our weights are float32
        arrays[name] = np.ascontiguousarray(value.T) if _is_kernel(name) else value
    return arrays
