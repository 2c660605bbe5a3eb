"""The architecture a checkpoint implies (from its upstream-named shapes), and mismatch messages.

Architecture keys: 'vocab' (V), 'embedding' (E), 'max_position', 'type_vocab',
'discriminator hidden|intermediate|layers' and 'generator hidden|intermediate|layers'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from electra_tf import configs
from electra_tf.checkpoint_io.upstream_names import dimension_meanings, strip_slot, tower_layers


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not fit the model (the message says why)."""


LABELS = {
    "vocab": "vocab size",
    "embedding": "embedding size",
    "max_position": "max position embeddings",
    "type_vocab": "type vocab size",
    "discriminator hidden": "hidden size",
    "discriminator intermediate": "intermediate size",
    "discriminator layers": "number of discriminator layers",
    "generator hidden": "generator hidden size",
    "generator intermediate": "generator intermediate size",
    "generator layers": "number of generator layers",
}
TOWERS = {"electra": "discriminator", "generator": "generator"}


def infer_architecture(shapes: Mapping[str, Sequence[int]]) -> dict[str, int]:
    """Upstream name → shape  ⇒  architecture key → size, for everything the shapes determine.

    Raises:
      CheckpointError: two variables disagree about one size (e.g. hidden 256 and 128).
    """
    arch: dict[str, int] = {}
    for name in sorted(shapes):
        if strip_slot(name)[1]:
            continue
        meanings = dimension_meanings(name)
        if len(meanings) != len(shapes[name]):
            continue
        for key, size in zip(meanings, shapes[name], strict=True):
            if key == "one":
                continue
            if arch.setdefault(key, int(size)) != int(size):
                raise CheckpointError(
                    f"{name} has shape {list(shapes[name])}, inconsistent with a {LABELS[key]} of {arch[key]}"
                )
    for tower, layers in tower_layers(shapes).items():
        arch[f"{TOWERS[tower]} layers"] = len(layers)
        if layers != set(range(len(layers))):
            raise CheckpointError(f"the checkpoint's {tower}/encoder layers are not numbered 0..n-1")
        if f"{TOWERS[tower]} hidden" not in arch and "embedding" in arch:
            arch[f"{TOWERS[tower]} hidden"] = arch["embedding"]
    return arch


def config_setting(key: str, config: configs.PretrainingConfig) -> str:
    """How `config` sets the architecture size `key`, e.g. 'generator_hidden_size=0.25 gives 64'.
    `config` may be any config with the ARCHITECTURE_KEYS fields (a fine-tuning config) when `key`
    is not a generator's."""
    disc = configs.bert_config(config)
    overrides = config.model_hparam_overrides
    size_source = f"model_size={config.model_size}"
    if "hidden_size" in overrides:
        size_source = f"hidden_size={overrides['hidden_size']}"
    if key == "vocab":
        return f"vocab_size={config.vocab_size}"
    if key == "embedding":
        if config.embedding_size:
            return f"embedding_size={config.embedding_size}"
        return f"model_size={config.model_size} gives {configs.embedding_size(config)}"
    if key in ("max_position", "type_vocab"):
        field = {"max_position": "max_position_embeddings", "type_vocab": "type_vocab_size"}[key]
        return f"{field}={getattr(disc, field)}"
    if key == "discriminator hidden":
        return f"{size_source} gives {disc.hidden_size}" if "hidden_size" not in overrides else size_source
    if key == "discriminator intermediate":
        if "intermediate_size" in overrides:
            return f"intermediate_size={disc.intermediate_size}"
        return f"{size_source} gives {disc.intermediate_size}"
    if key == "discriminator layers":
        if "num_hidden_layers" in overrides:
            return f"num_hidden_layers={disc.num_hidden_layers}"
        return f"model_size={config.model_size} gives {disc.num_hidden_layers}"
    gen = configs.generator_config(config)
    if key == "generator hidden":
        return f"generator_hidden_size={config.generator_hidden_size} gives {gen.hidden_size}"
    if key == "generator intermediate":
        return f"generator_hidden_size={config.generator_hidden_size} gives {gen.intermediate_size}"
    if key == "generator layers":
        return f"generator_layers={config.generator_layers} gives {gen.num_hidden_layers}"
    raise KeyError(key)


def _disagreement(key: str, checkpoint_size: int, model_size: int, config) -> str:
    model = config_setting(key, config) if config is not None else f"the model's is {model_size}"
    return f"the checkpoint's {LABELS[key]} is {checkpoint_size} but {model}"


def explain_shape_mismatch(
    name: str, checkpoint_shape: Sequence[int], model_shape: Sequence[int], config=None
) -> str:
    """'<name>: checkpoint [..] vs model [..]: the checkpoint's X is a but <setting> gives b'."""
    text = f"{name}: checkpoint {list(checkpoint_shape)} vs model {list(model_shape)}"
    meanings = dimension_meanings(name)
    if len(meanings) == len(checkpoint_shape) == len(model_shape):
        for key, c, m in zip(meanings, checkpoint_shape, model_shape, strict=True):
            if c != m and key in LABELS:
                return f"{text}: {_disagreement(key, int(c), int(m), config)}"
    return text


def explain_layer_mismatch(
    tower: str, checkpoint_layers: set[int], model_layers: set[int], config=None
) -> str:
    """tower 'electra' or 'generator', the layer indices each side has → why they differ, e.g.
    'electra/encoder: the checkpoint's number of discriminator layers is 2 but num_hidden_layers=3
    (layer_2 missing from the checkpoint)'."""
    key = f"{TOWERS[tower]} layers"
    text = f"{tower}/encoder: {_disagreement(key, len(checkpoint_layers), len(model_layers), config)}"
    missing = sorted(model_layers - checkpoint_layers)
    extra = sorted(checkpoint_layers - model_layers)
    notes = [f"{_layer_list(missing)} missing from the checkpoint"] if missing else []
    notes += [f"{_layer_list(extra)} not in the model"] if extra else []
    return f"{text} ({'; '.join(notes)})" if notes else text


def _layer_list(indices: list[int]) -> str:
    if len(indices) > 2 and indices == list(range(indices[0], indices[-1] + 1)):
        return f"layer_{indices[0]}..layer_{indices[-1]}"
    return ", ".join(f"layer_{i}" for i in indices)


def config_for_upstream(
    shapes: Mapping[str, Sequence[int]],
    model_name: str = "converted",
    data_dir: str = ".",
    model_size: str = "small",
    hparams: str | Mapping[str, Any] | None = None,
) -> configs.PretrainingConfig:
    """A PretrainingConfig for an upstream checkpoint: `model_size` defaults, then `hparams`,
    then every size the checkpoint's shapes determine that `hparams` does not set itself
    (vocab, embedding, hidden, layers, intermediate, positions, generator hidden and layers).
    Sizes equal to the defaults are left out, so hparams.json stays minimal.

    Raises:
      CheckpointError: the shapes describe something our model cannot express.
      configs.ConfigError: bad `hparams`.
    """
    user = configs.load_hparams(hparams)
    user.setdefault("model_size", model_size)
    configs.config_from_hparams(model_name, data_dir, user)  # rejects bad user hparams first
    arch = infer_architecture(shapes)
    values = dict(user)
    user_overrides = dict(user.get("model_hparam_overrides", {}))
    overrides = dict(user_overrides)
    inferred = {
        "hidden_size": "discriminator hidden",
        "num_hidden_layers": "discriminator layers",
        "intermediate_size": "discriminator intermediate",
        "max_position_embeddings": "max_position",
        "type_vocab_size": "type_vocab",
    }
    for field, key in inferred.items():
        if key in arch and field not in user_overrides:
            overrides[field] = arch[key]
    if "vocab" in arch and "vocab_size" not in user:
        values["vocab_size"] = arch["vocab"]
    values["model_hparam_overrides"] = overrides
    if "embedding" in arch and "embedding_size" not in user:
        values["embedding_size"] = arch["embedding"]
    disc = configs.bert_config(configs.config_from_hparams(model_name, data_dir, values))
    hidden, layers = disc.hidden_size, disc.num_hidden_layers
    if "generator hidden" in arch:
        gen_hidden = arch["generator hidden"]
        if arch.get("generator intermediate", 4 * gen_hidden) != 4 * gen_hidden:
            raise CheckpointError(
                f"the checkpoint's generator intermediate size {arch['generator intermediate']} is not "
                f"4 x its hidden size {gen_hidden}, which our generator cannot express"
            )
        values.setdefault("generator_hidden_size", gen_hidden / hidden)
        values.setdefault("generator_layers", arch.get("generator layers", layers) / layers)
    return _minimal(model_name, data_dir, values, user_overrides)


def _minimal(model_name, data_dir, values, user_overrides) -> configs.PretrainingConfig:
    """Drops inferred overrides (and embedding_size) that the defaults already give."""
    config = configs.config_from_hparams(model_name, data_dir, values)
    for field in list(values["model_hparam_overrides"]):
        if field in user_overrides:
            continue
        trial = dict(values["model_hparam_overrides"])
        del trial[field]
        smaller = dataclasses.replace(config, model_hparam_overrides=trial)
        if configs.bert_config(smaller) == configs.bert_config(config):
            values["model_hparam_overrides"] = trial
            config = smaller
    if config.embedding_size is not None:
        default = dataclasses.replace(config, embedding_size=None)
        if configs.embedding_size(default) == configs.embedding_size(config):
            config = default
    configs.validate(config)
    return config
