"""Fine-tuning hyper-parameters: upstream ELECTRA's `FinetuningConfig` names and defaults.

`finetuning_config(model_name, data_dir, hparams)` merges `--hparams` (a JSON object, a JSON file or
a dict) as upstream does, in this order (later wins):

1. the defaults below;
2. the model architecture of the pre-trained model, when there is one: the `hparams.json` beside an
   init checkpoint of ours, else `$DATA_DIR/models/$MODEL_NAME/hparams.json` (e.g. for a
   random-init baseline of a pre-training config); model_size, model_hparam_overrides,
   embedding_size, vocab_size and do_lower_case are taken from it (without one, vocab_size
   defaults to the vocab file's length); explicitly passed model_hparam_overrides are merged
   over the pre-trained model's (e.g. to change only a dropout rate);
3. size defaults (small: learning_rate 3e-4 as in the ELECTRA paper — upstream's code says 1e-4;
   base: 1e-4; large: 5e-5 with layerwise_lr_decay 0.9) and task defaults (10 epochs when the
   only task is rte or sts, else 3);
4. debug settings (1 trial, train batch 32, 3 epochs, examples logged; reading only the first
   100 lines of each TSV is done by the runner);
5. every explicitly passed hparam.

Ours: `padding` ("max_length", upstream's fixed-length batches, or "longest": each batch cut to
its longest example, for speed), `adam_bias_correction` (False, upstream; True: torch/Hugging
Face's bias-corrected AdamW) and `mixed_precision` (False: float32, as upstream on GPU and Hugging
Face by default; true or "auto": bfloat16 compute with float32 variables, as pre-training's hparam).

`init_checkpoint`: unset means `$DATA_DIR/models/$MODEL_NAME` (its latest checkpoint, ours or an
upstream TF1 one); an explicit "" means random initialisation (no pre-trained weights).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

from electra_tf import configs
from electra_tf.tokenization import load_vocab
from finetune import glue_tasks

SIZE_LEARNING_RATES = {"small": 3e-4, "base": 1e-4, "large": 5e-5}
ARCHITECTURE_KEYS = configs.ARCHITECTURE_KEYS  # taken from the pre-trained model


@dataclasses.dataclass(frozen=True)
class FinetuningConfig:
    """Everything a fine-tuning run needs (upstream names; `seed` and `log_every` are ours)."""

    model_name: str = "electra_small"
    data_dir: str = "."
    # general
    debug: bool = False
    log_examples: bool = False
    num_trials: int = 1
    do_train: bool = True
    do_eval: bool = True
    keep_all_models: bool = True  # False: delete every trial's model dir but the last one
    # model
    model_size: str = "small"
    task_names: tuple[str, ...] = ()
    model_hparam_overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    embedding_size: int | None = None  # None: 128 for small, the hidden size otherwise
    vocab_size: int = 30522
    do_lower_case: bool = True
    # training
    learning_rate: float = 1e-4
    weight_decay_rate: float = 0.01
    layerwise_lr_decay: float = 0.8  # <= 0 disables the layer-wise rates
    num_train_epochs: float = 3.0
    warmup_proportion: float = 0.1
    # test-set predictions
    write_test_outputs: bool = False
    n_writes_test: int = 5
    # sizing
    max_seq_length: int = 128
    train_batch_size: int = 32
    eval_batch_size: int = 32
    predict_batch_size: int = 32
    double_unordered: bool = True
    init_checkpoint: str | None = None  # None: $DATA_DIR/models/$MODEL_NAME; "": random init
    # electra-tf additions
    seed: int = 0
    log_every: int = 100
    # Train on only the first N examples of each task's train file (0 = all, upstream). For short
    # comparisons on a CPU (scripts/reproduce_paper.py's cpu budget); upstream has no such cap.
    max_train_examples: int = 0
    # "max_length": every batch padded to max_seq_length (upstream); "longest": each batch (train
    # and eval) cut to its longest example, as Hugging Face's DataCollatorWithPadding (faster).
    padding: str = "max_length"
    # True: AdamW with bias correction (torch / Hugging Face); False: upstream's AdamW without it.
    adam_bias_correction: bool = False
    # False: float32 (upstream on GPU, Hugging Face's default); true: bfloat16 compute with float32
    # variables, logits and loss (electra_tf/precision.py); "auto": true where bfloat16 is native.
    mixed_precision: bool | str = False

    @property
    def pretrained_model_dir(self) -> str:
        return os.path.join(self.data_dir, "models", self.model_name)

    @property
    def tasks_str(self) -> str:
        return ",".join(self.task_names)

    @property
    def vocab_file(self) -> str:
        """A Hugging Face init_checkpoint's own vocabulary (vocab.txt or tokenizer.json), else
        models/<name>/vocab.txt if it exists, else $DATA_DIR/vocab.txt (as upstream)."""
        from electra_tf.checkpoint_io import hf

        if self.init_checkpoint and hf.is_hf_dir(self.init_checkpoint):
            own = hf.vocab_file(self.init_checkpoint)
            if own is not None:
                return own
        path = os.path.join(self.pretrained_model_dir, "vocab.txt")
        return path if os.path.isfile(path) else os.path.join(self.data_dir, "vocab.txt")

    @property
    def model_dir(self) -> str:
        """Per-trial dirs are `<model_dir>_<trial>` (trial counted from 1)."""
        return os.path.join(self.pretrained_model_dir, "finetuning_models", self.tasks_str + "_model")

    def trial_model_dir(self, trial: int) -> str:
        return f"{self.model_dir}_{trial}"

    @property
    def results_txt(self) -> str:
        return os.path.join(self.pretrained_model_dir, "results", self.tasks_str + "_results.txt")

    @property
    def results_json(self) -> str:
        return os.path.join(self.pretrained_model_dir, "results", self.tasks_str + "_results.json")

    @property
    def test_predictions(self) -> str:
        """GLUE submission files go to <test_predictions>/trial_<k>/<GLUE file>.tsv."""
        return os.path.join(self.pretrained_model_dir, "test_predictions")

    @property
    def model(self) -> configs.ModelConfig:
        """The model, derived from the architecture fields exactly as pre-training derives it."""
        return configs.model_config(self)

    @property
    def bert_config(self) -> configs.BertConfig:
        return self.model.bert

    @property
    def embedding_size_resolved(self) -> int:
        return self.model.embedding_size

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["task_names"] = list(self.task_names)
        values["model_hparam_overrides"] = dict(self.model_hparam_overrides)
        return values

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


HPARAM_KEYS = tuple(
    f.name for f in dataclasses.fields(FinetuningConfig) if f.name not in ("model_name", "data_dir")
)
DEBUG_SETTINGS = {"num_trials": 1, "train_batch_size": 32, "num_train_epochs": 3.0, "log_examples": True}
PADDINGS = ("max_length", "longest")  # the padding hparam's values
_POSITIVE = ("num_trials", "max_seq_length", "train_batch_size", "eval_batch_size", "predict_batch_size")


def finetuning_config(model_name: str, data_dir: str, hparams: str | Mapping | None) -> FinetuningConfig:
    """The resolved config (see the module docstring for the merge order).

    Raises:
      configs.ConfigError: unknown key (lists the valid keys), wrong type or invalid value.
      checkpoint_io.CheckpointError: the init checkpoint cannot be found or read.
    """
    explicit = configs.load_hparams(hparams)
    configs.check_known_keys(explicit, HPARAM_KEYS)
    explicit = _typed(explicit)
    task_names = explicit.get("task_names", ())
    for name in task_names:  # before any file is looked at
        glue_tasks.get_task(name)
    merged: dict[str, Any] = {}
    if "init_checkpoint" not in explicit:
        merged["init_checkpoint"] = os.path.join(data_dir, "models", model_name)
    init_checkpoint = explicit.get("init_checkpoint", merged.get("init_checkpoint"))
    merged.update(_pretrained_architecture(init_checkpoint, os.path.join(data_dir, "models", model_name)))
    size = explicit.get("model_size", merged.get("model_size", "small"))
    if size in SIZE_LEARNING_RATES:
        merged["learning_rate"] = SIZE_LEARNING_RATES[size]
    if size == "large":
        merged["layerwise_lr_decay"] = 0.9
    merged["num_train_epochs"] = (
        glue_tasks.get_task(task_names[0]).single_task_epochs if len(task_names) == 1 else 3.0
    )
    if explicit.get("debug"):
        merged.update(DEBUG_SETTINGS)
    if "model_hparam_overrides" in explicit:  # explicit overrides refine the pre-trained model's
        explicit["model_hparam_overrides"] = {
            **merged.get("model_hparam_overrides", {}),
            **explicit["model_hparam_overrides"],
        }
    merged.update(explicit)
    config = FinetuningConfig(model_name=model_name, data_dir=data_dir, **merged)
    if "vocab_size" not in merged and os.path.isfile(config.vocab_file):
        # No pre-trained model and no explicit value: the vocabulary decides (as run_pretraining).
        config = dataclasses.replace(config, vocab_size=len(load_vocab(config.vocab_file)))
    validate(config)
    return config


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    """Checks and converts each value to its field's type (ints stay ints, numbers become floats)."""
    defaults = FinetuningConfig()
    out = dict(values)
    for key, value in values.items():
        default = getattr(defaults, key)
        if key == "task_names":
            names = value.split(",") if isinstance(value, str) else value
            if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
                raise configs.ConfigError(f"hparam task_names must be a list of task names, got {value!r}")
            out[key] = tuple(n.strip() for n in names if n.strip())
        elif key == "init_checkpoint":
            if value is not None and not isinstance(value, str):
                raise configs.ConfigError(f'hparam init_checkpoint must be a path or "", got {value!r}')
        elif key == "embedding_size":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise configs.ConfigError(f"hparam embedding_size must be a positive integer, got {value!r}")
        elif key == "model_hparam_overrides":
            configs.check_model_overrides(value)
        elif key == "mixed_precision":
            pass  # true, false or "auto": checked with the resolved config
        elif isinstance(default, (bool, int, float)):
            out[key] = configs.typed_hparam(key, value, default)
        elif isinstance(default, str) and not isinstance(value, str):
            raise configs.ConfigError(f"hparam {key} must be a string, got {value!r}")
    return out


def _pretrained_architecture(init_checkpoint: str | None, pretrained_model_dir: str) -> dict[str, Any]:
    """Architecture values of the pre-trained model: from the init checkpoint's hparams.json (ours),
    else from models/<name>/hparams.json, else {} (the fine-tuning hparams decide)."""
    pretraining = None
    if init_checkpoint:
        from electra_tf import checkpoint_io

        try:
            pretraining = checkpoint_io.checkpoint_config(init_checkpoint)
        except checkpoint_io.CheckpointError as e:
            hint = '(hparam "init_checkpoint": "" fine-tunes from random initialisation)'
            raise checkpoint_io.CheckpointError(f"init_checkpoint: {e} {hint}") from None
    if pretraining is None:
        pretraining = configs.read_hparams_json(pretrained_model_dir)
    if pretraining is None:
        return {}
    return {key: getattr(pretraining, key) for key in ARCHITECTURE_KEYS}


def validate(config: FinetuningConfig) -> None:
    if not config.task_names:
        raise configs.ConfigError(
            f"hparam task_names is required (a list of GLUE tasks: {', '.join(glue_tasks.TASK_NAMES)})"
        )
    for name in config.task_names:
        glue_tasks.get_task(name)  # TaskError names the valid tasks
    if len(set(config.task_names)) != len(config.task_names):
        raise configs.ConfigError(f"hparam task_names lists a task twice: {', '.join(config.task_names)}")
    if config.model_size not in configs.MODEL_SIZES:
        raise configs.ConfigError(
            f"model_size must be one of {', '.join(configs.MODEL_SIZES)}, got {config.model_size!r}"
        )
    for key in _POSITIVE:
        if getattr(config, key) < 1:
            raise configs.ConfigError(f"hparam {key} must be positive, got {getattr(config, key)}")
    if config.log_every < 1:
        raise configs.ConfigError(f"hparam log_every must be positive, got {config.log_every}")
    if config.max_train_examples < 0:
        raise configs.ConfigError(
            f"hparam max_train_examples must be >= 0 (0 = all), got {config.max_train_examples}"
        )
    if not (isinstance(config.mixed_precision, bool) or config.mixed_precision == "auto"):
        raise configs.ConfigError(
            f'hparam mixed_precision must be true, false or "auto", got {config.mixed_precision!r}'
        )
    if config.padding not in PADDINGS:
        raise configs.ConfigError(
            f"hparam padding must be one of {', '.join(PADDINGS)}, got {config.padding!r}"
        )
    if config.num_train_epochs <= 0:
        raise configs.ConfigError(f"hparam num_train_epochs must be positive, got {config.num_train_epochs}")
    if not 0 <= config.warmup_proportion <= 1:
        raise configs.ConfigError(
            f"hparam warmup_proportion must be in [0, 1], got {config.warmup_proportion}"
        )
    if config.max_seq_length < 3:
        raise configs.ConfigError(f"hparam max_seq_length must be at least 3, got {config.max_seq_length}")
    bert = config.bert_config
    if config.max_seq_length > bert.max_position_embeddings:
        raise configs.ConfigError(
            f"max_seq_length {config.max_seq_length} exceeds "
            f"max_position_embeddings {bert.max_position_embeddings}"
        )
    if bert.hidden_size % bert.num_attention_heads:
        raise configs.ConfigError(
            f"hidden_size {bert.hidden_size} is not divisible by "
            f"num_attention_heads {bert.num_attention_heads}"
        )
