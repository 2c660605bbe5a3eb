"""Pre-training configuration: upstream ELECTRA's hparam names and defaults, as frozen dataclasses.

`PretrainingConfig` mirrors upstream `configure_pretraining.PretrainingConfig` (ELECTRA-small-OWT
defaults); `--hparams` (a JSON string or file) is merged over it by `config_from_hparams`, which
rejects unknown keys with the list of valid ones. `BertConfig` holds upstream's BertConfig names
(`model_hparam_overrides` keys). Only `build_*` functions elsewhere read these to choose classes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from typing import Any

BASELINE_METHOD = "electra"  # upstream ELECTRA: the default, and what benchmarks compare to
MODEL_SIZES = {"small": 256, "base": 768, "large": 1024}  # discriminator hidden size
EMBEDDING_SIZES = {"small": 128, "base": 768, "large": 1024}


class ConfigError(ValueError):
    """Bad hyper-parameters (the message names the key and, if unknown, the valid keys)."""


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """A transformer tower, in upstream BertConfig names."""

    vocab_size: int = 30522
    hidden_size: int = 256
    num_hidden_layers: int = 12
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02


# The flat hparams that make the model (pre-training's and fine-tuning's configs both carry them).
ARCHITECTURE_KEYS = ("model_size", "model_hparam_overrides", "embedding_size", "vocab_size", "do_lower_case")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The model pre-training and fine-tuning share: the discriminator's tower in upstream
    BertConfig fields (vocab_size among them), the embedding size E and the vocabulary's casing.
    `model_config` derives it from the flat ARCHITECTURE_KEYS hparams."""

    bert: BertConfig
    embedding_size: int
    do_lower_case: bool = True

    @property
    def vocab_size(self) -> int:
        return self.bert.vocab_size


@dataclasses.dataclass(frozen=True)
class PretrainingConfig:
    """Everything a pre-training run needs; names and defaults as upstream where upstream has them."""

    model_name: str = "electra_small"
    data_dir: str = "."
    debug: bool = False
    do_train: bool = True
    do_eval: bool = False
    # loss
    gen_weight: float = 1.0
    disc_weight: float = 50.0
    mask_prob: float = 0.15
    # optimization
    learning_rate: float = 5e-4
    lr_decay_power: float = 1.0
    weight_decay_rate: float = 0.01
    num_warmup_steps: int = 10000
    # training
    save_checkpoints_steps: int = 1000
    num_train_steps: int = 1000000
    num_eval_steps: int = 100
    keep_checkpoint_max: int = 5
    # Not upstream's: steps whose loss or gradient norm is not finite that are skipped (no update;
    # counted as train/skipped_steps) before the run stops. 0 (default): stop at the first one.
    skip_nonfinite_steps: int = 0
    # model
    model_size: str = "small"
    model_hparam_overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    embedding_size: int | None = None  # None: 128 for small, the hidden size otherwise
    vocab_size: int = 30522
    do_lower_case: bool = True
    # generator
    generator_layers: float = 1.0
    generator_hidden_size: float = 0.25
    temperature: float = 1.0
    untied_generator: bool = True  # false: the generator is the discriminator's encoder + MLM head
    # batches
    max_seq_length: int = 128
    train_batch_size: int = 128
    eval_batch_size: int = 128
    # electra-tf additions
    eval_tfrecords: str = ""  # glob of held-out records for do_eval; "" = the training records (upstream)
    method: str = BASELINE_METHOD
    jit_compile: bool = False
    # true: bfloat16 compute with float32 variables (tf_keras "mixed_bfloat16"); losses, logits,
    # sampling and the optimizer stay float32. "auto": true where the hardware has native bfloat16
    # (AMX/AVX512-BF16 CPU, GPU of compute capability >= 8), false elsewhere; see precision.py.
    mixed_precision: bool | str = "auto"
    log_every: int = 100
    # Held-out examples (from eval_tfrecords, else the training records) for the diagnostics at every
    # log line: disc/auc_unigram, disc/hidden_cosine, the probe (pretrain/diagnostics.py). 0 = off.
    diagnostic_examples: int = 256
    seed: int = 0
    # Checkpoint (ours or upstream ELECTRA's, prefix or directory) whose weights initialise every
    # model variable when model_dir has no checkpoint yet (continued pre-training; the optimizer
    # starts fresh at step 0). Ignored when resuming from model_dir. "" = random initialisation.
    init_checkpoint: str = ""
    # Auxiliary MLM loss on the discriminator (0 = off, upstream): its last states predict the
    # original token at each selected position from the corrupted input (COCO-LM's corrective LM).
    disc_mlm_weight: float = 0.0
    # true: the RTD heads' logit bias starts at logit(mask_prob), the label prior, instead of 0
    # (upstream), so early steps need not push the prior through the tower (Lin et al. 2017 §4.1).
    disc_bias_init_prior: bool = False
    # Share of the chosen positions whose generator input is a uniformly drawn token instead of
    # [MASK] (BERT's 10% random tokens; 0 = upstream ELECTRA: 85% [MASK], 15% kept).
    random_token_share: float = 0.0
    # The method's own hparams (a frozen dataclass from its registry entry; flat keys in --hparams
    # and hparams.json, as upstream). None until resolved: `registry.hparams_of` gives the defaults.
    method_hparams: Any = None

    # ---- derived values (upstream computes these in the constructor) ----
    @property
    def max_predictions_per_seq(self) -> int:
        return int((self.mask_prob + 0.005) * self.max_seq_length)

    @property
    def pretrain_tfrecords(self) -> str:
        return os.path.join(self.data_dir, "pretrain_tfrecords", "pretrain_data.tfrecord*")

    @property
    def eval_record_pattern(self) -> str:
        return self.eval_tfrecords or self.pretrain_tfrecords

    @property
    def vocab_file(self) -> str:
        return os.path.join(self.data_dir, "vocab.txt")

    @property
    def model_dir(self) -> str:
        return os.path.join(self.data_dir, "models", self.model_name)

    @property
    def results_txt(self) -> str:
        return os.path.join(self.model_dir, "results", "unsup_results.txt")

    def to_json(self) -> str:
        """hparams.json: model_name, data_dir and every hparam, flat (the method's among them)."""
        values = {"model_name": self.model_name, "data_dir": self.data_dir, **hparam_values(self)}
        return json.dumps(values, indent=2, sort_keys=True, default=dict)


# the keys every method shares; each method adds its own (`registry.Method.hparams`)
HPARAM_KEYS = tuple(
    f.name
    for f in dataclasses.fields(PretrainingConfig)
    if f.name not in ("model_name", "data_dir", "method_hparams")
)


def hparam_values(config: PretrainingConfig) -> dict[str, Any]:
    """The config as flat `--hparams` values: the shared keys and the method's own."""
    values = {k: getattr(config, k) for k in HPARAM_KEYS}
    if config.method_hparams is not None:
        values.update(dataclasses.asdict(config.method_hparams))
    return values


BERT_KEYS = tuple(f.name for f in dataclasses.fields(BertConfig))
DEBUG_SETTINGS = {"train_batch_size": 8, "num_train_steps": 20, "eval_batch_size": 4, "num_eval_steps": 2}


def load_hparams(hparams: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """`--hparams`: a JSON object, a path to a JSON file, or already a dict."""
    if not hparams:
        return {}
    if isinstance(hparams, Mapping):
        return dict(hparams)
    text = hparams
    if hparams.lstrip()[:1] not in ("{", "["):
        if not os.path.isfile(hparams):
            raise ConfigError(f"--hparams is neither a JSON object nor an existing file: {hparams}")
        with open(hparams, encoding="utf-8") as f:
            text = f.read()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--hparams is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ConfigError("--hparams must be a JSON object")
    return value


def check_known_keys(values: Mapping[str, Any], valid: tuple[str, ...]) -> None:
    """ConfigError listing the valid keys when `values` has a key outside `valid`."""
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise ConfigError(f"unknown hparam(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(valid))}")


def typed_hparam(key: str, value: Any, default: Any) -> Any:
    """`value` checked against the type of its field's `default`: a bool field takes only bools;
    a number field takes numbers (integral ones for an int field), converted to the field's type.
    Values of other fields are returned unchanged."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"hparam {key} must be true or false, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"hparam {key} must be a non-empty list, got {value!r}")
        return tuple(typed_hparam(key, v, default[0]) for v in value)
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"hparam {key} must be a number, got {value!r}")
        if isinstance(default, int) and value != int(value):
            raise ConfigError(f"hparam {key} must be an integer, got {value!r}")
        return type(default)(value)
    return value


def check_model_overrides(overrides: Any) -> None:
    """`model_hparam_overrides` must be a mapping of upstream BertConfig keys (ConfigError)."""
    if not isinstance(overrides, Mapping):
        raise ConfigError("hparam model_hparam_overrides must be a JSON object")
    bad = sorted(set(overrides) - set(BERT_KEYS))
    if bad:
        raise ConfigError(
            f"unknown model_hparam_overrides key(s) {', '.join(bad)}; valid keys: {', '.join(BERT_KEYS)}"
        )


def config_from_hparams(model_name: str, data_dir: str, hparams=None) -> PretrainingConfig:
    """Merges hparams over the defaults as upstream does (debug defaults, then the passed values).

    Raises:
      ConfigError: unknown key (lists the valid keys), wrong type, or invalid value.
    """
    from electra_tf.pretraining import registry  # the methods' own keys (imports TensorFlow)

    values = load_hparams(hparams)
    check_known_keys(values, HPARAM_KEYS + registry.method_hparam_names())
    merged: dict[str, Any] = {}
    if values.get("debug"):
        merged.update(DEBUG_SETTINGS)
    merged.update(values)
    defaults = PretrainingConfig()
    shared = {k: typed_hparam(k, v, getattr(defaults, k)) for k, v in merged.items() if k in HPARAM_KEYS}
    check_model_overrides(shared.get("model_hparam_overrides", {}))
    config = PretrainingConfig(model_name=model_name, data_dir=data_dir, **shared)
    method = registry.method_of(config)
    if method.hparams is not None:
        # keys of other methods are accepted (hparams files are shared across runs) and unused
        own = method.default_hparams()
        typed = {
            k: typed_hparam(k, v, getattr(own, k)) for k, v in merged.items() if k in method.hparam_names()
        }
        config = dataclasses.replace(config, method_hparams=method.hparams(**typed))
    validate(config)
    method.validate(config)
    return config


def config_from_json_file(path: str) -> PretrainingConfig:
    """The config a run wrote as hparams.json (`PretrainingConfig.to_json`: model_name, data_dir
    and every hparam).

    Raises:
      ConfigError: the file cannot be read, is not a JSON object, or holds bad hparams.
    """
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot use {path}: {e}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"cannot use {path}: not a JSON object")
    model_name, data_dir = values.pop("model_name", "model"), values.pop("data_dir", ".")
    try:
        return config_from_hparams(model_name, data_dir, values)
    except ConfigError as e:
        raise ConfigError(f"cannot use {path}: {e}") from None


HPARAMS_FILE = "hparams.json"  # beside a run's checkpoints: the resolved config


def write_hparams_json(config: PretrainingConfig, directory: str | None = None) -> str:
    """Writes `config.to_json()` as hparams.json into `directory` (default: the model dir),
    atomically; returns the path."""
    from electra_tf import atomic

    path = os.path.join(directory or config.model_dir, HPARAMS_FILE)
    atomic.write_text(path, config.to_json() + "\n")
    return path


def read_hparams_json(directory: str) -> PretrainingConfig | None:
    """The config in `directory`/hparams.json, None when there is none (ConfigError if unusable)."""
    path = os.path.join(directory, HPARAMS_FILE)
    return config_from_json_file(path) if os.path.isfile(path) else None


def validate(config: PretrainingConfig) -> None:
    if config.model_size not in MODEL_SIZES:
        raise ConfigError(f"model_size must be one of {', '.join(MODEL_SIZES)}, got {config.model_size!r}")
    for key in (
        "num_train_steps",
        "train_batch_size",
        "max_seq_length",
        "save_checkpoints_steps",
        "log_every",
    ):
        if getattr(config, key) < 1:
            raise ConfigError(f"hparam {key} must be positive, got {getattr(config, key)}")
    if not 0 < config.mask_prob < 1:
        raise ConfigError(f"hparam mask_prob must be in (0, 1), got {config.mask_prob}")
    if config.max_seq_length > bert_config(config).max_position_embeddings:
        raise ConfigError("max_seq_length exceeds max_position_embeddings")
    for key in ("diagnostic_examples", "skip_nonfinite_steps"):
        if getattr(config, key) < 0:
            raise ConfigError(f"hparam {key} must be >= 0, got {getattr(config, key)}")
    if not 0 <= config.random_token_share <= 0.85:
        raise ConfigError(f"hparam random_token_share must be in [0, 0.85], got {config.random_token_share}")
    if config.disc_mlm_weight < 0:
        raise ConfigError(f"hparam disc_mlm_weight must be >= 0, got {config.disc_mlm_weight}")
    if config.temperature <= 0:
        raise ConfigError(f"hparam temperature must be positive, got {config.temperature}")
    if not (isinstance(config.mixed_precision, bool) or config.mixed_precision == "auto"):
        value = config.mixed_precision
        raise ConfigError(f'hparam mixed_precision must be true, false or "auto", got {value!r}')


def bert_config(config: PretrainingConfig) -> BertConfig:
    """The discriminator's tower (upstream `training_utils.get_bert_config`) from the
    ARCHITECTURE_KEYS fields of `config` (a PretrainingConfig or a fine-tuning config)."""
    values = {
        "vocab_size": config.vocab_size,
        "hidden_size": MODEL_SIZES[config.model_size],
        "num_hidden_layers": {"small": 12, "base": 12, "large": 24}[config.model_size],
    }
    values.update(config.model_hparam_overrides)
    # As upstream: heads and FFN size follow the (possibly overridden) hidden size, unless overridden.
    values.setdefault("num_attention_heads", max(1, values["hidden_size"] // 64))
    values.setdefault("intermediate_size", 4 * values["hidden_size"])
    return BertConfig(**values)


def model_config(config) -> ModelConfig:
    """The ModelConfig of a PretrainingConfig or a fine-tuning config: anything with the
    ARCHITECTURE_KEYS fields (`bert_config` and `embedding_size` read only those)."""
    return ModelConfig(bert_config(config), embedding_size(config), config.do_lower_case)


def generator_config(config: PretrainingConfig) -> BertConfig:
    """The generator's tower: hidden and layers scaled, heads = max(1, hidden // 64), FFN 4·hidden."""
    disc = bert_config(config)
    hidden = int(round(disc.hidden_size * config.generator_hidden_size))
    return dataclasses.replace(
        disc,
        hidden_size=hidden,
        num_hidden_layers=int(round(disc.num_hidden_layers * config.generator_layers)),
        num_attention_heads=max(1, hidden // 64),
        intermediate_size=4 * hidden,
    )


def rtd_bias_init(config: PretrainingConfig) -> float:
    """The RTD heads' initial logit bias: logit(mask_prob) with `disc_bias_init_prior`, else 0."""
    if not config.disc_bias_init_prior:
        return 0.0
    return math.log(config.mask_prob / (1.0 - config.mask_prob))


def embedding_size(config: PretrainingConfig) -> int:
    if config.embedding_size:
        return int(config.embedding_size)
    if config.model_size == "small":
        return EMBEDDING_SIZES["small"]
    return bert_config(config).hidden_size
