"""The budgets of `scripts/reproduce_paper.py`: one recipe shared by every row, at a scale.

- smoke: a tiny model for a few steps: the whole pipeline in minutes (the test suite runs it);
- cpu: the small-scale recipe of docs/plateau.md (`pretrain/recipes/small_cpu.json`'s model,
  batch, sequence length and constant learning rate) for 1,500 steps, with fine-tuning on the first
  1,000 examples of each task at sequence length 64: about two hours on 2 CPU cores;
- warm: continued pre-training of a real encoder (all-MiniLM-L6-v2, the fine-tuning validation's
  model, 6 layers × 384): every row's discriminator starts from it, the generator fresh with 12
  layers of a quarter of the width (ELECTRA-small's proportions), so the generator's exits are the
  paper's 3/6/9/12 of 12; the 6-layer discriminator's exits sit at 2/3/5/6 (the paper's quarters
  of the depth, rounded up). Fine-tuning with the validation's hparams (bfloat16 compute where
  native) on each task's first 1,000 examples;
- paper: ELECTRA-small, batch 128, 200k steps, upstream's fine-tuning settings (Table 1's setting).
"""

from __future__ import annotations

import dataclasses
from typing import Any

_SMALL_CPU_MODEL = {
    "hidden_size": 128,
    "num_hidden_layers": 4,
    "num_attention_heads": 2,
    "intermediate_size": 512,
}

# all-MiniLM-L6-v2, the warm budget's and the demo's encoder (reproduce/validation.py obtains it).
MINILM_L6_MODEL = {
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
}
# The fine-tuning validation's hparams (issue 25; reproduce/validation.py), with per-batch padding
# for speed and torch-style AdamW as its Hugging Face reference.
VALIDATION_FINETUNE = {
    "learning_rate": 1e-4,
    "layerwise_lr_decay": 0.0,
    "num_train_epochs": 3.0,
    "train_batch_size": 32,
    "max_seq_length": 128,
    "warmup_proportion": 0.1,
    "weight_decay_rate": 0.01,
    "double_unordered": False,
    "padding": "longest",
    "adam_bias_correction": True,
}
WARM_STEPS = 400
# The exit methods' faster readings (issue 30), rows of the cpu and warm budgets (reproduce/paper.py).
_READING_ROWS = ("adaptive_exit_gen_exit", "early_exit_disc_gen")


@dataclasses.dataclass(frozen=True)
class Budget:
    """pretrain: hparams every row shares (merged under the row's method settings);
    exits: per-exit hparams for the methods with exit heads (the paper's 3, 6, 9, 12 of 12 layers,
    scaled to the budget's depth), each given to the methods that have it;
    finetune: fine-tuning hparams shared by every (model, task) run; num_trials: per run;
    timing: the side-by-side step timing (warm-up steps, timed steps per round, rounds)."""

    name: str
    pretrain: dict[str, Any]
    exits: dict[str, Any]
    finetune: dict[str, Any]
    num_trials: int
    timing: dict[str, int]
    description: str
    # Per method, exit hparams over `exits` (e.g. a shallower discriminator's exit layers).
    method_exits: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    # Every row starts from a real encoder: --init_checkpoint, by default the validation's model.
    warm_start: bool = False
    skip_rows: tuple[str, ...] = ()  # Table 1 rows this budget leaves out of its default rows
    extra_rows: tuple[str, ...] = ()  # rows beyond Table 1's in its default rows (e.g. readings)

    def exits_for(self, method: str) -> dict[str, Any]:
        return {**self.exits, **self.method_exits.get(method, {})}

    def exit_layers_for(self, method: str) -> tuple[int, ...]:
        return tuple(self.exits_for(method)["exit_layers"])


BUDGETS = {
    "smoke": Budget(
        name="smoke",
        pretrain={
            "num_train_steps": 12,
            "num_warmup_steps": 2,
            "lr_decay_power": 0.0,
            "train_batch_size": 8,
            "eval_batch_size": 8,
            "max_seq_length": 128,
            "embedding_size": 32,
            "generator_hidden_size": 0.5,
            "model_hparam_overrides": {
                "hidden_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "intermediate_size": 128,
            },
            "log_every": 4,
            "save_checkpoints_steps": 6,
            "diagnostic_examples": 16,
            "mixed_precision": False,
        },
        exits={
            "exit_layers": [1, 2],
            "exit_loss_weights": [1.0, 2.0],
            "exit_update_every": 4,
            "adaptive_init_probs": [0.4, 0.6],
        },
        finetune={
            "max_seq_length": 32,
            "max_train_examples": 24,
            "num_train_epochs": 1.0,
            "train_batch_size": 8,
            "keep_all_models": False,
            "log_every": 10,
        },
        num_trials=2,
        timing={"warmup": 1, "steps": 2, "rounds": 2},
        description="tiny 2-layer model, 12 steps, 24 fine-tuning examples per task: the pipeline in minutes",
    ),
    "cpu": Budget(
        name="cpu",
        pretrain={
            "num_train_steps": 1500,
            "num_warmup_steps": 150,
            "learning_rate": 5e-4,
            "lr_decay_power": 0.0,
            "train_batch_size": 32,
            "eval_batch_size": 32,
            "max_seq_length": 128,
            "embedding_size": 128,
            "model_hparam_overrides": _SMALL_CPU_MODEL,
            "log_every": 100,
            "save_checkpoints_steps": 500,
        },
        exits={"exit_layers": [1, 2, 3, 4]},  # the rest at the paper's defaults (4 exits)
        finetune={
            "max_seq_length": 64,
            "max_train_examples": 1000,
            "num_train_epochs": 3.0,
            "keep_all_models": False,
        },
        num_trials=3,
        timing={"warmup": 3, "steps": 10, "rounds": 5},
        extra_rows=_READING_ROWS,
        description=(
            "docs/plateau.md's small recipe (4 layers × 128, batch 32, seq 128, constant lr 5e-4) for "
            "1,500 steps; fine-tuning on each task's first 1,000 examples at seq 64, 3 epochs"
        ),
    ),
    "warm": Budget(
        name="warm",
        pretrain={
            "num_train_steps": WARM_STEPS,
            "num_warmup_steps": WARM_STEPS // 10,
            "learning_rate": 1e-4,
            "train_batch_size": 32,
            "eval_batch_size": 32,
            "max_seq_length": 128,
            "embedding_size": 384,
            "model_hparam_overrides": MINILM_L6_MODEL,
            "generator_layers": 2.0,
            "log_every": 25,
            "save_checkpoints_steps": 200,
            "keep_checkpoint_max": 2,
        },
        exits={"exit_layers": [3, 6, 9, 12], "exit_update_every": 25},
        method_exits={"early_exit_disc": {"exit_layers": [2, 3, 5, 6]}},
        # bfloat16 compute where native (1.48× the examples/s on RTE here, docs/reproduce.md): 40
        # fine-tunings of a 6 × 384 encoder would otherwise take ≈ 4 hours of this CPU
        finetune={
            **VALIDATION_FINETUNE,
            "max_train_examples": 1000,
            "keep_all_models": False,
            "mixed_precision": "auto",
        },
        num_trials=3,
        timing={"warmup": 3, "steps": 5, "rounds": 5},
        description=(
            f"continued pre-training of all-MiniLM-L6-v2 (6 layers × 384) for {WARM_STEPS:,} steps "
            "(batch 32, seq 128, lr 1e-4, 10 % warm-up then linear decay), a fresh 12-layer generator "
            "of width 96; fine-tuning with the validation's hparams (bfloat16 compute where native) "
            "on each task's first 1,000 examples"
        ),
        warm_start=True,
        skip_rows=("emb_gen",),
        extra_rows=_READING_ROWS,
    ),
    "paper": Budget(
        name="paper",
        pretrain={
            "model_size": "small",
            "num_train_steps": 200_000,
            "train_batch_size": 128,
            "max_seq_length": 128,
        },
        exits={"exit_layers": [3, 6, 9, 12]},
        finetune={"keep_all_models": False},
        num_trials=5,
        timing={"warmup": 5, "steps": 20, "rounds": 5},
        description=(
            "ELECTRA-small, batch 128, 200k steps, upstream's fine-tuning settings (the paper's Table 1)"
        ),
    ),
}


def get_budget(name: str) -> Budget:
    if name not in BUDGETS:
        raise ValueError(f"--budget: unknown budget {name!r}; budgets: {', '.join(BUDGETS)}")
    return BUDGETS[name]
