"""Hugging Face `transformers` directories: ELECTRA read and written, BERT read (as an ELECTRA
discriminator), always as upstream-named arrays.

A directory is `config.json` (ElectraConfig, or BertConfig: `model_type` "bert") +
`model.safetensors` (+ `vocab.txt` or `tokenizer.json`, `tokenizer_config.json`,
`special_tokens_map.json`). Tensors are read and written with the `safetensors` package's numpy
API; a directory with only `pytorch_model.bin` is refused, because that file is a pickle and
electra-tf never unpickles files. The WordPiece vocabulary and lower-casing come from `vocab.txt`
and `tokenizer_config.json`, else from `tokenizer.json` (what sentence-transformers ships).
Names and layouts: `hf_names` (ELECTRA) and `bert` (BERT).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import numpy as np

from electra_tf import configs
from electra_tf.checkpoint_io import bert
from electra_tf.checkpoint_io.architecture import CheckpointError, config_for_upstream, infer_architecture
from electra_tf.checkpoint_io.hf_names import (
    DISCRIMINATOR,
    GENERATOR,
    TIED_LM_HEAD,
    WORD_EMBEDDINGS,
    from_hf_state,
    name_map,
    to_hf_state,
)
from electra_tf.checkpoint_io.upstream_names import dimension_meanings, tower_layers

CONFIG, WEIGHTS, PICKLE = "config.json", "model.safetensors", "pytorch_model.bin"
VOCAB, TOKENIZER = "vocab.txt", "tokenizer.json"
MODEL_TYPES = ("electra", "bert")
SPECIAL_TOKENS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
ARCHITECTURES = {DISCRIMINATOR: "ElectraForPreTraining", GENERATOR: "ElectraForMaskedLM"}
BERT_FIELDS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "initializer_range",
)
# architecture key (upstream_names.dimension_meanings) → the config.json field that sets it
_FIELD_OF = {
    "vocab": "vocab_size",
    "embedding": "embedding_size",
    "max_position": "max_position_embeddings",
    "type_vocab": "type_vocab_size",
    "discriminator hidden": "hidden_size",
    "discriminator intermediate": "intermediate_size",
    "generator hidden": "hidden_size",
    "generator intermediate": "intermediate_size",
}


def is_hf_dir(path: str) -> bool:
    """A directory that holds a Hugging Face model (config.json, or one of its weight files)."""
    return os.path.isdir(path) and any(
        os.path.isfile(os.path.join(path, f)) for f in (CONFIG, WEIGHTS, PICKLE)
    )


def read_config(path: str) -> dict:
    """config.json of HF directory `path`, checked to be an ELECTRA or a BERT whose computation
    ours equals (CheckpointError naming the field otherwise)."""
    file = os.path.join(path, CONFIG)
    if not os.path.isfile(file):
        raise CheckpointError(f"{path}: no {CONFIG} (a Hugging Face model directory has one)")
    config = read_json_object(file)
    if config.get("model_type") not in MODEL_TYPES:
        raise CheckpointError(f"{file}: model_type is {config.get('model_type')!r}, not 'electra' or 'bert'")
    missing = [
        f
        for f in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads")
        if f not in config
    ]
    if missing:
        raise CheckpointError(f"{file}: no {', '.join(missing)}")
    check_computation(config, file, "electra-tf's ELECTRA")
    return config


# What our encoder computes; a config saying otherwise would load and compute something else.
# "gelu" is transformers' (and Google BERT's released checkpoints') exact erf GELU, as ours;
# gelu_new and gelu_pytorch_tanh are the tanh form.
COMPUTATION = {"hidden_act": "gelu", "position_embedding_type": "absolute", "layer_norm_eps": 1e-12}


def check_computation(config: Mapping, file: str, ours: str) -> None:
    """CheckpointError naming the first field of `config` (read from `file`) that differs from
    COMPUTATION; `ours` names our side in the message."""
    for field, value in COMPUTATION.items():
        if config.get(field, value) != value:
            raise CheckpointError(f"{file}: {field} is {config[field]!r}; {ours} has {value!r}")


def read_json_object(file: str) -> dict:
    """A JSON file holding an object (CheckpointError naming the file otherwise)."""
    try:
        with open(file, encoding="utf-8") as f:
            value = json.load(f)
    except ValueError as e:
        raise CheckpointError(f"{file}: not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{file}: not a JSON object")
    return value


def is_bert(config: Mapping) -> bool:
    return config.get("model_type") == "bert"


def family(path: str) -> str:
    """ "bert" for an HF BERT directory, "electra" for an ELECTRA one (`CheckpointArrays.family`)."""
    return "bert" if is_bert(read_config(path)) else "electra"


def vocab_file(path: str) -> str | None:
    """The file holding HF directory `path`'s WordPiece vocabulary: vocab.txt, else tokenizer.json
    (what sentence-transformers ships); None when it has neither."""
    for name in (VOCAB, TOKENIZER):
        if os.path.isfile(os.path.join(path, name)):
            return os.path.join(path, name)
    return None


def read_vocab(path: str) -> list[str] | None:
    """The WordPiece vocabulary of HF directory `path` (token i = id i); None without one.

    Raises:
      CheckpointError: an unreadable vocabulary (not WordPiece, ids with gaps, no special tokens).
    """
    from electra_tf.tokenization import VocabError, load_vocab

    file = vocab_file(path)
    if file is None:
        return None
    try:
        return load_vocab(file)
    except VocabError as e:
        raise CheckpointError(str(e)) from None


def write_vocab(path: str, folder: str) -> None:
    """Writes HF directory `path`'s vocabulary (vocab.txt or tokenizer.json's) as folder/vocab.txt."""
    tokens = read_vocab(path)
    if tokens is not None:
        _write_tokens(folder, tokens)


def _write_tokens(folder: str, tokens: list[str]) -> None:
    with open(os.path.join(folder, VOCAB), "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token in tokens))


def read_tensors(path: str) -> dict[str, np.ndarray]:
    """model.safetensors of HF directory `path` as numpy arrays (never a pickle)."""
    file = os.path.join(path, WEIGHTS)
    if not os.path.isfile(file):
        if os.path.isfile(os.path.join(path, PICKLE)):
            raise CheckpointError(
                f"{path}: only {PICKLE}, a PyTorch pickle, which electra-tf never unpickles; convert it to "
                f"{WEIGHTS} where torch is installed: ElectraForPreTraining.from_pretrained(DIR)"
                ".save_pretrained(DIR, safe_serialization=True)"
            )
        raise CheckpointError(f"{path}: no {WEIGHTS}")
    from safetensors.numpy import load_file

    try:
        return load_file(file)
    except Exception as e:  # the package raises its own error types for a damaged file
        raise CheckpointError(f"{file}: cannot be read as safetensors ({str(e).splitlines()[0]})") from None


def _check_shapes(path: str, config: Mapping, arrays: Mapping[str, np.ndarray], tower: str) -> None:
    """Every tensor's dimensions against config.json's sizes; the first disagreement names both."""
    hf = name_map(arrays, tower)
    expected = {key: config.get(field) for key, field in _FIELD_OF.items()}
    expected["embedding"] = config.get("embedding_size") or config.get("hidden_size")
    for name in sorted(arrays):
        meanings = dimension_meanings(name)
        for size, key in zip(arrays[name].shape, meanings, strict=False):
            want = expected.get(key)
            if key != "one" and want is not None and int(size) != int(want):
                raise CheckpointError(
                    f"{path}/{WEIGHTS}: {hf[name]} has shape {list(arrays[name].shape)}, but {CONFIG}'s "
                    f"{_FIELD_OF[key]} is {want}"
                )
    layers = tower_layers(arrays).get("generator" if tower == GENERATOR else "electra", set())
    if len(layers) != config.get("num_hidden_layers"):
        raise CheckpointError(
            f"{path}/{WEIGHTS}: {len(layers)} encoder layers, but {CONFIG}'s num_hidden_layers is "
            f"{config.get('num_hidden_layers')}"
        )


def _read_bert(path: str, config: Mapping) -> dict[str, np.ndarray]:
    """A BERT directory's tensors as upstream names (`bert` module); shapes checked on the encoder."""
    file = os.path.join(path, WEIGHTS)
    encoder, head, no_home = bert.split_hf_state(read_tensors(path), file)
    try:
        arrays = from_hf_state(encoder, DISCRIMINATOR)
    except KeyError as e:
        name = e.args[0].replace("electra.", "", 1)
        raise CheckpointError(f"{file}: {name} is not a tensor of BertModel's encoder") from None
    _check_shapes(path, config, arrays, DISCRIMINATOR)
    arrays.update(from_hf_state(head, GENERATOR))
    arrays.update({name: np.asarray(value, dtype=np.float32) for name, value in no_home.items()})
    return arrays


def _read_tower(path: str, tower: str) -> tuple[dict, dict[str, np.ndarray]]:
    config = read_config(path)
    if is_bert(config) and tower == GENERATOR:
        raise CheckpointError(f"{path}: a BERT directory, not an ELECTRA generator (ElectraForMaskedLM)")
    if is_bert(config):
        arrays = _read_bert(path, config)
        _check_vocab(path, arrays)
        return config, arrays
    state = read_tensors(path)
    try:
        arrays = from_hf_state(state, tower)
    except KeyError as e:
        raise CheckpointError(
            f"{path}/{WEIGHTS}: {e.args[0]} is not a tensor of {ARCHITECTURES[tower]}"
        ) from None
    tied = state.get(TIED_LM_HEAD) if tower == GENERATOR else None
    if tied is not None and WORD_EMBEDDINGS in arrays and not np.array_equal(tied, arrays[WORD_EMBEDDINGS]):
        raise CheckpointError(
            f"{path}/{WEIGHTS}: {TIED_LM_HEAD} differs from the word embeddings; electra-tf ties them"
        )
    _check_shapes(path, config, arrays, tower)
    _check_vocab(path, arrays)
    return config, arrays


def _check_vocab(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """The directory's vocabulary (if any) has one token per word-embedding row."""
    tokens = read_vocab(path)
    if tokens is not None and WORD_EMBEDDINGS in arrays:
        rows = arrays[WORD_EMBEDDINGS].shape[0]
        if len(tokens) != rows:
            source = VOCAB if os.path.isfile(os.path.join(path, VOCAB)) else TOKENIZER
            raise CheckpointError(
                f"{os.path.join(path, source)} has {len(tokens)} tokens, but the word embeddings have "
                f"{rows} rows"
            )


def hparams_from_hf(config: Mapping, generator: Mapping | None = None) -> dict:
    """Our hparams for the architecture config.json (and the generator's) describe.

    Raises:
      CheckpointError: a generator whose attention heads our generator cannot have (we give it
        max(1, hidden // 64), as upstream).
    """
    heads = max(1, generator["hidden_size"] // 64) if generator is not None else None
    if generator is not None and generator["num_attention_heads"] != heads:
        raise CheckpointError(
            f"the generator's config.json has {generator['num_attention_heads']} attention heads; "
            f"electra-tf's generator of hidden size {generator['hidden_size']} has {heads}"
        )
    overrides = {field: config[field] for field in BERT_FIELDS if field in config}
    hparams = {"model_hparam_overrides": overrides, "vocab_size": config["vocab_size"]}
    hparams["embedding_size"] = config.get("embedding_size") or config["hidden_size"]
    if generator is not None:
        hparams["generator_hidden_size"] = generator["hidden_size"] / config["hidden_size"]
        hparams["generator_layers"] = generator["num_hidden_layers"] / config["num_hidden_layers"]
    return hparams


def read_hf(
    path: str,
    generator_path: str | None = None,
    model_size: str = "small",
    hparams=None,
    model_name: str = "converted",
    data_dir: str = ".",
):
    """(upstream-named arrays, PretrainingConfig) of an HF discriminator directory and, optionally,
    an HF generator directory; `hparams` (ours) are merged over what config.json says."""
    config, arrays = _read_tower(path, DISCRIMINATOR)
    gen_config = None
    if generator_path:
        gen_config, gen_arrays = _read_tower(generator_path, GENERATOR)
        for name, value in gen_arrays.items():
            if name.startswith("electra/embeddings/") and name in arrays:
                if not np.array_equal(value, arrays[name]):
                    raise CheckpointError(
                        f"{generator_path}: {name_map([name], GENERATOR)[name]} differs from the "
                        "discriminator's; electra-tf's generator shares the discriminator's embeddings"
                    )
                continue
            arrays[name] = value
    merged = hparams_from_hf(config, gen_config)
    user = configs.load_hparams(hparams)
    overrides = {**merged["model_hparam_overrides"], **user.get("model_hparam_overrides", {})}
    merged.update(user)
    merged["model_hparam_overrides"] = overrides  # the user's refine config.json's, key by key
    merged["do_lower_case"] = _lower_case(path, merged.get("do_lower_case", True))
    shapes = {name: value.shape for name, value in arrays.items()}
    shapes = bert.encoder_only(shapes) if is_bert(config) else shapes
    infer_architecture(shapes)  # the towers agree with each other
    return arrays, config_for_upstream(shapes, model_name, data_dir, model_size, merged)


def _lower_case(path: str, default: bool) -> bool:
    """do_lower_case of tokenizer_config.json, else tokenizer.json's BertNormalizer, else `default`.

    Raises:
      CheckpointError: unreadable files, or a normalizer whose accent stripping differs from its
        lower-casing (BERT's tokenizer, and ours, strip accents exactly when they lower-case).
    """
    tokenizer = os.path.join(path, "tokenizer_config.json")
    if os.path.isfile(tokenizer):
        return bool(read_json_object(tokenizer).get("do_lower_case", default))
    file = os.path.join(path, TOKENIZER)
    if not os.path.isfile(file):
        return default
    normalizer = read_json_object(file).get("normalizer") or {}
    if normalizer.get("type") != "BertNormalizer":
        return default
    lower = bool(normalizer.get("lowercase", default))
    strip = normalizer.get("strip_accents")
    if strip is not None and bool(strip) != lower:
        raise CheckpointError(
            f"{file}: normalizer.strip_accents is {strip!r} with lowercase {lower}; electra-tf's "
            "tokenizer strips accents exactly when it lower-cases"
        )
    return lower


def hf_config(config: configs.PretrainingConfig, tower: str, encoder: configs.BertConfig) -> dict:
    """ElectraConfig fields (config.json) of `tower` of our model, whose encoder is `encoder`."""
    out = {"architectures": [ARCHITECTURES[tower]], "model_type": "electra"}
    out.update({field: getattr(encoder, field) for field in BERT_FIELDS})
    out.update(
        vocab_size=config.vocab_size,
        embedding_size=configs.embedding_size(config),
        hidden_act="gelu",
        layer_norm_eps=1e-12,  # upstream's (and our) LayerNorm epsilon
        position_embedding_type="absolute",
        pad_token_id=0,
        summary_type="first",
        summary_use_proj=True,
        summary_activation="gelu",
        summary_last_dropout=0.1,
    )
    return out


def write_hf(
    arrays: Mapping[str, np.ndarray],
    config: configs.PretrainingConfig,
    folder: str,
    vocab: list[str],
    tower: str,
    bert_config: configs.BertConfig,
) -> None:
    """Writes `tower` (whose encoder is `bert_config`) as an HF directory into the (new, empty)
    `folder`, with `vocab` (token i = id i) as its vocab.txt."""
    from safetensors.numpy import save_file

    state = to_hf_state(arrays, tower)
    save_file(state, os.path.join(folder, WEIGHTS), metadata={"format": "pt"})  # what transformers reads
    _write_json(os.path.join(folder, CONFIG), hf_config(config, tower, bert_config))
    _write_tokens(folder, vocab)
    tokenizer = dict(
        SPECIAL_TOKENS,
        tokenizer_class="ElectraTokenizer",
        do_lower_case=config.do_lower_case,
        strip_accents=None,  # follows do_lower_case, as BERT's basic tokenizer
        tokenize_chinese_chars=True,
        model_max_length=configs.bert_config(config).max_position_embeddings,
    )
    _write_json(os.path.join(folder, "tokenizer_config.json"), tokenizer)
    _write_json(os.path.join(folder, "special_tokens_map.json"), SPECIAL_TOKENS)


def _write_json(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
