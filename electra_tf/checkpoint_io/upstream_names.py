"""Our Keras variable names and shapes ↔ upstream ELECTRA's (TF1, google-research/electra).

Shapes: V = vocabulary, E = embedding size, H = a tower's hidden size, n = attention heads,
d = H / n (head size), I = intermediate (FFN) size, G = the generator's hidden size.

Name mapping (any outer prefix of ours is ignored, so fine-tuning models that build the
embeddings under `.../embeddings` and the encoder under `.../encoder` map as well):

    ours (suffix)                                        upstream
    embeddings/{word,position,token_type}_embeddings     electra/embeddings/...
    embeddings/LayerNorm/{gamma,beta}                    electra/embeddings/LayerNorm/...
    encoder/embeddings_project/{kernel,bias}             electra/embeddings_project/...
    encoder/layer_i/self_attention/{query,key,value}/*   electra/encoder/layer_i/attention/self/.../*
    encoder/layer_i/self_attention/attention_output/*    electra/encoder/layer_i/attention/output/dense/*
    encoder/layer_i/self_attention_layer_norm/*          electra/encoder/layer_i/attention/output/LayerNorm/*
    encoder/layer_i/intermediate/*                       electra/encoder/layer_i/intermediate/dense/*
    encoder/layer_i/output/*                             electra/encoder/layer_i/output/dense/*
    encoder/layer_i/output_layer_norm/*                  electra/encoder/layer_i/output/LayerNorm/*
    generator/encoder/...                                generator/... (same pattern, no `electra/`)
    generator_predictions/*                              generator_predictions/*
    generator/exit_<l>_predictions/*  (generator exits)   generator/exit_<l>_predictions/* (ours only;
                                                         upstream's graph has no exit heads)
    discriminator_predictions/{dense,dense_1}/*          discriminator_predictions/...
    discriminator_exit_<l>_predictions/...  (disc. exits)     the same name (ours only)
    discriminator_mlm_predictions/*  (disc_mlm_weight > 0)  the same name (ours only)
    .../task_specific/...                                task_specific/... (unchanged)

Shape mapping (C-order reshapes; everything else is identical):

    query/key/value kernel   ours [H, n, d]  ↔ upstream [H, n·d]
    query/key/value bias     ours [n, d]     ↔ upstream [n·d]
    attention_output kernel  ours [n, d, H]  ↔ upstream [n·d, H]

Upstream splits its [.., n·d] projections into heads with a C-order reshape to [.., n, d] and
merges the heads' outputs back the same way, so these reshapes preserve the computation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

OPTIMIZER_SLOTS = (("m", "/adam_m"), ("v", "/adam_v"))  # our optimizer slot → upstream name suffix
SLOT_SUFFIXES = tuple(suffix for _, suffix in OPTIMIZER_SLOTS)
GLOBAL_STEP = "global_step"
TASK_SPECIFIC = "task_specific/"

_LAYER_PARTS = {
    "self_attention/query": "attention/self/query",
    "self_attention/key": "attention/self/key",
    "self_attention/value": "attention/self/value",
    "self_attention/attention_output": "attention/output/dense",
    "intermediate": "intermediate/dense",
    "output": "output/dense",
    "self_attention_layer_norm": "attention/output/LayerNorm",
    "output_layer_norm": "output/LayerNorm",
}
_LAYER_RE = re.compile(
    r"(?:^|/)(generator/)?encoder/layer_(\d+)/("
    + "|".join(sorted(_LAYER_PARTS, key=len, reverse=True))
    + r")/(kernel|bias|gamma|beta)$"
)
_PROJECT_RE = re.compile(r"(?:^|/)(generator/)?encoder/embeddings_project/(kernel|bias)$")
_EMBEDDINGS_RE = re.compile(
    r"(?:^|/)embeddings/(word_embeddings|position_embeddings|token_type_embeddings|LayerNorm/gamma|"
    r"LayerNorm/beta)$"
)
_MLM_HEAD_RE = re.compile(  # the generator's head and `disc_mlm_weight`'s (ours only) keep their name
    r"(?:^|/)(generator_predictions|discriminator_mlm_predictions)/"
    r"(output_bias|dense/kernel|dense/bias|LayerNorm/gamma|LayerNorm/beta)$"
)
_EXIT_HEAD_RE = re.compile(
    r"(?:^|/)(exit_\d+_predictions)/(output_bias|dense/kernel|dense/bias|LayerNorm/gamma|LayerNorm/beta)$"
)
_DISC_HEAD_RE = re.compile(
    r"(?:^|/)(discriminator_predictions|discriminator_exit_\d+_predictions)/(dense|dense_1)/(kernel|bias)$"
)
# upstream names
UPSTREAM_LAYER_RE = re.compile(r"^(electra|generator)/encoder/layer_(\d+)/(.+)$")
_SPLIT_HEADS_RE = re.compile(r"/attention/self/(query|key|value)/(kernel|bias)$")
_MERGE_HEADS_RE = re.compile(r"/attention/output/dense/kernel$")


def upstream_name(variable_name: str) -> str | None:
    """Our Keras variable name (e.g. 'electra/encoder/layer_3/self_attention/query/kernel:0') →
    upstream's ('electra/encoder/layer_3/attention/self/query/kernel'); None if unknown.

    Anything under a 'task_specific/' scope maps to the name from that scope on, without ':0'.
    """
    name = re.sub(r":\d+$", "", variable_name)
    if TASK_SPECIFIC in name:
        return name[name.index(TASK_SPECIFIC) :]
    if m := _LAYER_RE.search(name):
        tower = "generator" if m.group(1) else "electra"
        return f"{tower}/encoder/layer_{m.group(2)}/{_LAYER_PARTS[m.group(3)]}/{m.group(4)}"
    if m := _PROJECT_RE.search(name):
        return f"{'generator' if m.group(1) else 'electra'}/embeddings_project/{m.group(2)}"
    if m := _EMBEDDINGS_RE.search(name):
        return f"electra/embeddings/{m.group(1)}"
    if m := _EXIT_HEAD_RE.search(name):
        return f"generator/{m.group(1)}/{m.group(2)}"
    if m := _MLM_HEAD_RE.search(name):
        return f"{m.group(1)}/{m.group(2)}"
    if m := _DISC_HEAD_RE.search(name):
        return f"{m.group(1)}/{m.group(2)}/{m.group(3)}"
    return None


def is_upstream_model_name(name: str) -> bool:
    """Whether `name` (a checkpoint key) looks like an upstream ELECTRA model variable."""
    return bool(
        re.match(r"^(electra|generator)/(embeddings|embeddings_project|encoder)/", name)
        or re.match(r"^(generator|discriminator|discriminator_exit_\d+)_predictions/", name)
    )


def upstream_shape(name: str, shape: Sequence[int]) -> list[int]:
    """The upstream shape of a variable of ours with upstream name `name` and our `shape`.

    query/key/value kernel [H, n, d] → [H, n·d], bias [n, d] → [n·d]; attention output kernel
    [n, d, H] → [n·d, H]; any other shape is returned unchanged (as a list).
    """
    shape = [int(s) for s in shape]
    if _SPLIT_HEADS_RE.search(name) and len(shape) in (2, 3):
        return shape[:-2] + [shape[-2] * shape[-1]]
    if _MERGE_HEADS_RE.search(name) and len(shape) == 3:
        return [shape[0] * shape[1], shape[2]]
    return shape


def strip_slot(name: str) -> tuple[str, str]:
    """'x/adam_m' → ('x', '/adam_m'); a non-slot name → (name, '')."""
    for suffix in SLOT_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def tower_layers(names) -> dict[str, set[int]]:
    """Upstream names → {'electra': {layer indices}, 'generator': {...}} (towers that have layers)."""
    layers: dict[str, set[int]] = {}
    for name in names:
        if m := UPSTREAM_LAYER_RE.match(name):
            layers.setdefault(m.group(1), set()).add(int(m.group(2)))
    return layers


def dimension_meanings(name: str) -> tuple[str, ...]:
    """What each dimension of the upstream variable `name` measures, as architecture keys
    ('vocab', 'embedding', 'max_position', 'type_vocab', '<tower> hidden', '<tower> intermediate',
    'one'); () if unknown. <tower> is 'discriminator' or 'generator'."""
    name = strip_slot(name)[0]
    tower = "generator" if name.startswith("generator/") else "discriminator"
    hidden, inner = f"{tower} hidden", f"{tower} intermediate"
    fixed = {
        "electra/embeddings/word_embeddings": ("vocab", "embedding"),
        "electra/embeddings/position_embeddings": ("max_position", "embedding"),
        "electra/embeddings/token_type_embeddings": ("type_vocab", "embedding"),
        "electra/embeddings/LayerNorm/gamma": ("embedding",),
        "electra/embeddings/LayerNorm/beta": ("embedding",),
        "generator_predictions/output_bias": ("vocab",),
        "generator_predictions/dense/kernel": ("generator hidden", "embedding"),
        "generator_predictions/dense/bias": ("embedding",),
        "generator_predictions/LayerNorm/gamma": ("embedding",),
        "generator_predictions/LayerNorm/beta": ("embedding",),
        "discriminator_predictions/dense/kernel": ("discriminator hidden", "discriminator hidden"),
        "discriminator_predictions/dense/bias": ("discriminator hidden",),
        "discriminator_predictions/dense_1/kernel": ("discriminator hidden", "one"),
        "discriminator_predictions/dense_1/bias": ("one",),
    }
    if name in fixed:
        return fixed[name]
    if m := re.match(
        r"^discriminator_mlm_predictions/(output_bias|dense/bias|LayerNorm/gamma|LayerNorm/beta)$", name
    ):
        return fixed[f"generator_predictions/{m.group(1)}"]
    if name == "discriminator_mlm_predictions/dense/kernel":
        return ("discriminator hidden", "embedding")
    if m := re.match(r"^discriminator_exit_\d+_predictions/(dense|dense_1)/(kernel|bias)$", name):
        return fixed[f"discriminator_predictions/{m.group(1)}/{m.group(2)}"]
    if name.endswith("embeddings_project/kernel"):
        return ("embedding", hidden)
    if name.endswith("embeddings_project/bias"):
        return (hidden,)
    if UPSTREAM_LAYER_RE.match(name):
        if name.endswith("intermediate/dense/kernel"):
            return (hidden, inner)
        if name.endswith("intermediate/dense/bias"):
            return (inner,)
        if name.endswith("output/dense/kernel") and "/attention/" not in name:
            return (inner, hidden)
        return (hidden, hidden) if name.endswith("kernel") else (hidden,)
    return ()
