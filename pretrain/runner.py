"""Pre-training as a plain function (upstream's `train_or_eval`): checks the inputs, trains
(resuming from the model dir) and evaluates as the config says. `run_pretraining.py` and
`sweep.py` call it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

from pretrain.model_dir_lock import ModelDirLock


def prepare(data_dir: str, model_name: str, hparams, strategy):
    """All input checks, before anything is written. Returns (config, vocab, train files, eval
    files)."""

    from electra_tf import configs
    from electra_tf.tokenization import load_vocab
    from pretrain.input_pipeline import check_record_files, list_record_files

    if not data_dir or not model_name:
        raise ValueError("--data_dir and --model_name are required")
    if not os.path.isdir(data_dir):
        raise ValueError(f"--data_dir not found: {data_dir}")
    hparams = configs.load_hparams(hparams)
    config = configs.config_from_hparams(model_name, data_dir, hparams)
    vocab = load_vocab(config.vocab_file)
    if "vocab_size" not in hparams:
        config = dataclasses.replace(config, vocab_size=len(vocab))
    elif len(vocab) > config.vocab_size:
        raise ValueError(f"{config.vocab_file} has {len(vocab)} tokens but vocab_size is {config.vocab_size}")
    files = list_record_files(config.pretrain_tfrecords)
    check_record_files(files, config.max_seq_length)
    eval_files = files
    if config.eval_record_pattern != config.pretrain_tfrecords:
        eval_files = list_record_files(config.eval_record_pattern)
        check_record_files(eval_files, config.max_seq_length)
    for key in ("train_batch_size", "eval_batch_size"):
        if getattr(config, key) % strategy.num_replicas_in_sync:
            raise ValueError(
                f"{key}={getattr(config, key)} is not divisible by "
                f"the {strategy.num_replicas_in_sync} replicas"
            )
    return config, vocab, files, eval_files


def train_or_eval(
    data_dir: str,
    model_name: str,
    hparams="{}",
    strategy=None,
    stop_at_step: int | None = None,
    max_seconds: float | None = None,
    on_log=None,
    log=None,
) -> dict[str, float]:
    """Upstream's `train_or_eval` as a plain function: trains (resuming from the model dir) and/or
    evaluates as the config says. Returns the eval results, else the last logged scalars.
    `max_seconds` and `on_log` are `Trainer.train`'s."""
    import tensorflow as tf

    from electra_tf import configs
    from electra_tf.pretraining.model import SpecialTokens
    from pretrain import evaluation
    from pretrain import trainer as trainer_lib

    strategy = strategy or tf.distribute.get_strategy()
    log = log or (lambda line: print(f"run_pretraining: {line}", flush=True))
    config, vocab, files, eval_files = prepare(data_dir, model_name, hparams, strategy)
    log(
        f"{len(files)} record file(s), {strategy.num_replicas_in_sync} replica(s), method {config.method}, "
        f"model dir {config.model_dir}"
    )
    special = SpecialTokens.from_vocab(vocab)
    diagnostics = None
    if config.diagnostic_examples:
        from electra_tf.tokenization import FullTokenizer
        from pretrain.diagnostics import build_diagnostics

        tokenizer = FullTokenizer(vocab, do_lower_case=config.do_lower_case)
        diagnostics = build_diagnostics(eval_files, config, special, tokenizer, config.diagnostic_examples)
    trainer = trainer_lib.Trainer(config, strategy, special, files, log=log, diagnostics=diagnostics)
    # One run per model dir (the chief's lock); other workers write nothing there.
    # A `flock` needs a local file system: runs on gs:// and the like go unlocked (docs/pretraining.md).
    local = "://" not in config.model_dir
    lock = ModelDirLock(config.model_dir, log) if trainer.is_chief and local else contextlib.nullcontext()
    with lock:
        # Resume, or load init_checkpoint (CheckpointError if it is missing or does not fit), before
        # anything is written to the model dir.
        trainer.restore()
        if trainer.is_chief:
            configs.write_hparams_json(trainer.config)  # mixed_precision resolved
        results: dict[str, float] = {}
        if config.do_train:
            results = trainer.train(stop_at_step=stop_at_step, max_seconds=max_seconds, on_log=on_log)
        if config.do_eval:
            results = evaluation.evaluate(trainer, eval_files, config.num_eval_steps, config.eval_batch_size)
            if trainer.is_chief:
                evaluation.write_results(config.results_txt, results)
            log("eval: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(results.items())))
    return results
