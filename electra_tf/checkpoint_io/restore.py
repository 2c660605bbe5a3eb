"""Restoring built Keras variables from a checkpoint of any format, by upstream name: every variable
is checked (name, shape, layer counts) before any is assigned, and a one-line report says what was
restored, what the checkpoint had that the model did not use, and what kept its initialisation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from electra_tf import configs
from electra_tf.checkpoint_io import bert
from electra_tf.checkpoint_io.architecture import (
    CheckpointError,
    explain_layer_mismatch,
    explain_shape_mismatch,
)
from electra_tf.checkpoint_io.io import HF, CheckpointArrays, read_checkpoint_arrays
from electra_tf.checkpoint_io.upstream_names import strip_slot, tower_layers, upstream_name, upstream_shape


@dataclasses.dataclass
class RestoreReport:
    """What `restore_variables` did: upstream names restored, checkpoint arrays not used."""

    prefix: str
    format: str
    step: int
    restored: list[str]
    unused: list[str]
    kept: list[str] = dataclasses.field(default_factory=list)  # model variables the checkpoint lacks
    family: str = "electra"

    def summary(self) -> str:
        """One line, e.g. 'restored 27 variables from x (upstream, step 1000); unused: 54 optimizer
        slots, 27 generator variables'."""
        slots = [n for n in self.unused if strip_slot(n)[1]]
        weights = [n for n in self.unused if not strip_slot(n)[1]]
        from_bert = []  # a BERT's pooler, NSP head and (untied generator) MLM head, by name
        if self.family == "bert":
            from_bert = [n for n in weights if bert.is_bert_extra(n)]
        gen = [n for n in weights if n.startswith("generator") and n not in from_bert]
        other = sorted(set(weights) - set(gen) - set(from_bert))
        parts = [f"{len(slots)} optimizer slots"] if slots else []
        parts += [f"BERT's {', '.join(bert.describe_unused(from_bert))}"] if from_bert else []
        parts += [f"{len(gen)} generator variables"] if gen else []
        if other:
            parts.append(", ".join(other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else ""))
        unused = "; unused: " + ", ".join(parts) if parts else "; every checkpoint variable was used"
        kept = ""
        if self.kept:
            if self.family == "bert":
                source = "BERT checkpoint"
            elif self.format == HF:
                source = "Hugging Face directory"
            else:
                source = "checkpoint"
            kept = (
                f"; {len(self.kept)} variables (e.g. {self.kept[0]}) are not in the {source} "
                f"{self.prefix}: they keep their initialisation"
            )
        return (
            f"restored {len(self.restored)} variables from {self.prefix} ({self.format}, step {self.step})"
            + unused
            + kept
        )


def plan_restore(
    checkpoint: CheckpointArrays, variables, config: configs.PretrainingConfig | None = None
) -> tuple[list[tuple[tf.Variable, np.ndarray]], RestoreReport]:
    """Checks every variable against the checkpoint before anything is assigned.

    Returns (variable, value in the variable's shape) pairs and the report.

    Raises:
      CheckpointError: a variable without upstream name, missing from the checkpoint, or of another
        shape; layer counts that differ. The message names the variable, both shapes and the
        config value that disagrees (and how many further problems there are).
    """
    arrays = checkpoint.arrays
    wanted = {}
    for var in variables:
        name = upstream_name(var.name)
        if name is None:
            raise CheckpointError(f"{var.name}: no upstream name is known for this variable")
        wanted[name] = var
    layer_problems, shape_problems, missing = [], [], []
    in_checkpoint, in_model = tower_layers(arrays), tower_layers(wanted)
    for tower, layers in in_model.items():
        have = in_checkpoint.get(tower, set())
        if have and have != layers:
            layer_problems.append(explain_layer_mismatch(tower, have, layers, config))
    plan, kept = [], []
    from_bert = checkpoint.family == "bert"
    untied = any(name.startswith("generator/encoder/") for name in wanted)
    # a checkpoint without any generator (an HF discriminator directory; a run of a discriminator-
    # only method such as unigram or noise, e.g. issue 27's first stage): the generator stays as built
    no_generator = checkpoint.format == HF or not any(name.startswith("generator") for name in arrays)
    for name, var in wanted.items():
        model_shape = upstream_shape(name, var.shape)
        if name not in arrays and no_generator and name.startswith("generator"):
            kept.append(name)
            continue
        # a BERT is an encoder (+ an MLM head, the generator's head only when the generator is the
        # discriminator's encoder): the heads and generator it lacks stay as built
        if (
            from_bert
            and not name.startswith("electra/")
            and (name not in arrays or (untied and name.startswith(bert.MLM_HEAD)))
        ):
            kept.append(name)
            continue
        if name not in arrays:
            missing.append(f"{name} ({var.name}): not in the checkpoint {checkpoint.prefix}")
            continue
        value = arrays[name]
        if list(value.shape) != model_shape:
            shape_problems.append(explain_shape_mismatch(name, value.shape, model_shape, config))
            continue
        plan.append((var, value.reshape(var.shape)))
    problems = layer_problems + shape_problems + missing  # the most telling first
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise CheckpointError(problems[0] + more)
    restored = sorted(set(wanted) - set(kept))
    unused = sorted(set(arrays) - set(restored))
    report = RestoreReport(
        checkpoint.prefix, checkpoint.format, checkpoint.step, restored, unused, kept, checkpoint.family
    )
    return plan, report


def restore_variables(
    path: str,
    variables: list[tf.Variable],
    config: configs.PretrainingConfig | None = None,
    log: Callable[[str], None] | None = print,
) -> RestoreReport:
    """Assigns each (built) Keras variable from a checkpoint of either format, by upstream name.

    All variables are checked before any is assigned. `config` describes the model (it is used in
    mismatch messages, and read our checkpoints that lack hparams.json). Logs one summary line.

    Raises:
      CheckpointError: see `plan_restore`.
    """
    plan, report = plan_restore(read_checkpoint_arrays(path, config), variables, config)
    for var, value in plan:
        var.assign(value)
    if log is not None:
        log(report.summary())
    return report
