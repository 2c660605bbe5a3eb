"""Lossless conversion between our model directories, upstream ELECTRA's TF1 checkpoints and
Hugging Face `transformers` ELECTRA directories (`to_hf`; HF directories are read by `to_ours` and
`to_upstream`; what HF does not hold, e.g. optimizer slots and the step, is not exported).
BERT checkpoints (Google TF1, HF BERT directories) are read by all three as a discriminator; what
ELECTRA has no place for (the pooler, the NSP head) is dropped and named on stdout.

`to_ours` writes what the Trainer resumes from (`ckpt-<step>` with its `model=`/`optimizer=`
structure, plus hparams.json; the caller's `build` makes the model); `to_upstream` writes
`model.ckpt-<step>` and a `checkpoint` file.
Weights, Adam slots (upstream `adam_m`/`adam_v`) and the step survive a round trip bit for bit.
Output goes to a temporary sibling directory renamed at the end, so a failure writes nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import tensorflow as tf

from electra_tf import atomic, checkpoint_io, configs
from electra_tf.checkpoint_io import bert, hf
from electra_tf.checkpoint_io.upstream_names import OPTIMIZER_SLOTS, strip_slot
from electra_tf.tokenization import load_vocab

# (config, with_slots) → (a tf_keras model, its optimizer), every variable created
ModelFactory = Callable[[configs.PretrainingConfig, bool], tuple]


def check_output(output: str) -> None:
    """--output must be given and be a new or empty directory (ValueError otherwise)."""
    if not output:
        raise ValueError("--output is required")
    if os.path.exists(output) and (not os.path.isdir(output) or os.listdir(output)):
        raise ValueError(f"--output exists and is not an empty directory: {output}")


def to_upstream(input_path: str, output: str, generator_input: str | None = None) -> str:
    """Our checkpoint or an HF directory (+ `generator_input`, an HF generator directory) →
    `output/model.ckpt-<step>` (weights, global_step, adam_m/adam_v if the checkpoint has optimizer
    slots; an HF directory's vocab.txt beside it). Returns the written prefix."""
    check_output(output)
    prefix, fmt = checkpoint_io.find_checkpoint(input_path)
    if fmt == checkpoint_io.UPSTREAM:
        raise checkpoint_io.CheckpointError(f"{prefix} is already in upstream format")
    if fmt == checkpoint_io.HF:
        arrays, step = hf.read_hf(prefix, generator_input)[0], 0
    else:
        checkpoint = checkpoint_io.read_checkpoint_arrays(prefix)
        arrays, step = checkpoint.arrays, checkpoint.step
    arrays = _drop_homeless(arrays)
    name = f"model.ckpt-{step}"
    with atomic.directory(output) as tmp:
        checkpoint_io.write_upstream_checkpoint(arrays, os.path.join(tmp, name), step)
        _copy_vocab(prefix if fmt == checkpoint_io.HF else None, tmp)
    return os.path.join(output, name)


def to_hf(
    input_path: str, output: str, generator_output: str | None = None, vocab_file: str | None = None
) -> str:
    """Our checkpoint or an upstream one → an HF `ElectraForPreTraining` directory `output` (and the
    generator as an `ElectraForMaskedLM` directory `generator_output`). Returns `output`."""
    check_output(output)
    if generator_output:
        check_output(generator_output)
        a, b = os.path.abspath(output), os.path.abspath(generator_output)
        if a == b or b.startswith(a + os.sep) or a.startswith(b + os.sep):
            raise ValueError("--output and --generator_output must be two separate directories")
    prefix, fmt = checkpoint_io.find_checkpoint(input_path)
    checkpoint = checkpoint_io.read_checkpoint_arrays(prefix)
    if fmt == checkpoint_io.HF and checkpoint.family != "bert":
        raise checkpoint_io.CheckpointError(f"{prefix} is already a Hugging Face ELECTRA directory")
    config = checkpoint.config if fmt in (checkpoint_io.OURS, checkpoint_io.HF) else None
    if config is None:
        config = checkpoint_io.config_for_checkpoint(prefix)
    if vocab_file or fmt != checkpoint_io.HF:
        vocab = vocab_file or _find_vocab(prefix, config if fmt == checkpoint_io.OURS else None)
        tokens = load_vocab(vocab)
    else:  # an HF BERT directory: its vocab.txt or tokenizer.json
        vocab, tokens = prefix, hf.read_vocab(prefix)
        if tokens is None:
            raise checkpoint_io.CheckpointError(
                f"{prefix} has no vocab.txt or tokenizer.json; pass --vocab_file"
            )
    arrays = _drop_homeless(checkpoint.arrays)
    rows = arrays["electra/embeddings/word_embeddings"].shape[0]
    if len(tokens) != rows:  # an HF tokenizer must cover exactly the embedding rows
        raise checkpoint_io.CheckpointError(
            f"{vocab} has {len(tokens)} tokens, but the word embeddings have {rows} rows"
        )
    gen_bert = configs.generator_config(config)
    if generator_output:
        if "generator_predictions/output_bias" not in arrays:
            raise checkpoint_io.CheckpointError(f"{prefix} has no generator (generator_predictions/*)")
        if not any(n.startswith("generator/encoder/") for n in arrays):  # tied: the discriminator's encoder
            arrays.update({"generator/" + n[len("electra/") :]: v for n, v in arrays.items() if _is_tower(n)})
            gen_bert = configs.bert_config(config)
    with atomic.directory(output) as tmp:
        hf.write_hf(arrays, config, tmp, tokens, hf.DISCRIMINATOR, configs.bert_config(config))
        if generator_output:
            with atomic.directory(generator_output) as gen_tmp:
                hf.write_hf(arrays, config, gen_tmp, tokens, hf.GENERATOR, gen_bert)
    return output


def _drop_homeless(arrays: dict) -> dict:
    """`arrays` without a BERT's pooler and NSP head (ELECTRA has no place for them), named on stdout."""
    dropped = sorted(name for name in arrays if bert.has_no_home(name))
    if dropped:
        print(f"not converted (no place in ELECTRA): {', '.join(dropped)}", flush=True)
    return {name: value for name, value in arrays.items() if name not in dropped}


def _is_tower(name: str) -> bool:
    return name.startswith(("electra/encoder/", "electra/embeddings_project/")) and "/adam_" not in name


def _find_vocab(prefix: str, config: configs.PretrainingConfig | None) -> str:
    """vocab.txt beside the checkpoint, else (ours) the config's $DATA_DIR/vocab.txt; CheckpointError
    if neither exists."""
    candidates = [os.path.join(os.path.dirname(prefix), "vocab.txt")] + (
        [config.vocab_file] if config else []
    )
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise checkpoint_io.CheckpointError(
        f"no vocab.txt for {prefix} (looked for {', '.join(candidates)}); pass --vocab_file"
    )


def _copy_vocab(hf_dir: str | None, folder: str) -> None:
    """An HF directory's vocabulary (vocab.txt, else tokenizer.json's) as folder/vocab.txt."""
    if hf_dir and os.path.isfile(os.path.join(hf_dir, "vocab.txt")):
        shutil.copyfile(os.path.join(hf_dir, "vocab.txt"), os.path.join(folder, "vocab.txt"))
    elif hf_dir:
        hf.write_vocab(hf_dir, folder)


def to_ours(
    input_path: str,
    output: str,
    model_size: str = "small",
    hparams=None,
    *,
    build: ModelFactory,
    generator_input: str | None = None,
) -> str:
    """Upstream checkpoint or HF directory (+ `generator_input`, an HF generator directory) → our
    model directory `output` (ckpt-<step>, hparams.json; an HF directory's vocab.txt). Every array
    of the checkpoint must find a place (else CheckpointError): the conversion is lossless.

    `build(config, with_slots)` → (model, optimizer) with every variable (and, with slots, every
    Adam slot) created, as the Trainer checkpoints them: in practice
    `electra_tf.pretraining.training_state.build_model_and_optimizer`. Returns the written prefix."""
    check_output(output)
    prefix, fmt = checkpoint_io.find_checkpoint(input_path)
    if fmt == checkpoint_io.OURS:
        raise checkpoint_io.CheckpointError(f"{prefix} is already in our format")
    abs_output = os.path.abspath(output)
    name, data_dir = os.path.basename(abs_output), os.path.dirname(os.path.dirname(abs_output))
    if fmt == checkpoint_io.HF:
        arrays, config = hf.read_hf(prefix, generator_input, model_size, hparams, name, data_dir)
        checkpoint = checkpoint_io.CheckpointArrays(arrays, 0, fmt, config, prefix, hf.family(prefix))
    elif fmt == checkpoint_io.BERT:
        checkpoint = checkpoint_io.read_checkpoint_arrays(prefix)
        config = checkpoint_io.config_for_checkpoint(prefix, model_size, hparams, name, data_dir)
    else:
        checkpoint = checkpoint_io.read_checkpoint_arrays(prefix)
        shapes = {n: value.shape for n, value in checkpoint.arrays.items()}
        config = checkpoint_io.config_for_upstream(shapes, name, data_dir, model_size, hparams)
    slot_names = [n for n in checkpoint.arrays if strip_slot(n)[1]]
    model, optimizer = build(config, bool(slot_names))
    variables = model.trainable_variables  # an HF discriminator alone: the generator stays new
    plan, report = checkpoint_io.plan_restore(checkpoint, variables, config)
    slots = []
    if slot_names:
        for var, _ in plan:
            for slot, suffix in OPTIMIZER_SLOTS:
                name = checkpoint_io.upstream_name(var.name) + suffix
                if name not in checkpoint.arrays:
                    raise checkpoint_io.CheckpointError(f"{prefix} has optimizer slots but not {name}")
                slots.append((optimizer.get_slot(var, slot), checkpoint.arrays[name].reshape(var.shape)))
    lost = sorted(set(report.unused) - set(slot_names))
    if checkpoint.family == "bert":  # no place in ELECTRA (pooler, NSP), or an untied generator's MLM head
        print(f"{report.summary()}", flush=True)
        lost = [name for name in lost if not bert.is_bert_extra(name)]
    if lost:
        more = f" and {len(lost) - 3} more" if len(lost) > 3 else ""
        raise checkpoint_io.CheckpointError(
            f"{prefix}: no place in our model for {', '.join(lost[:3])}{more} (conversion would lose them)"
        )
    for var, value in plan + slots:
        var.assign(value)
    optimizer.iterations.assign(checkpoint.step)
    with atomic.directory(output) as tmp:
        manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(model=model, optimizer=optimizer), tmp, max_to_keep=1
        )
        path = manager.save(checkpoint_number=checkpoint.step)
        configs.write_hparams_json(config, tmp)
        _copy_vocab(prefix if fmt == checkpoint_io.HF else None, tmp)
    return os.path.join(output, os.path.basename(path))
