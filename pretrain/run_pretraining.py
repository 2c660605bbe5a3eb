"""Pre-trains ELECTRA (or one of the paper's methods) on TFRecords, as upstream's script does.

    python pretrain/run_pretraining.py --data_dir=$DATA_DIR --model_name=electra_small_owt \
        --hparams='{"num_train_steps": 1000000}'

Reads $DATA_DIR/pretrain_tfrecords/pretrain_data.tfrecord* and $DATA_DIR/vocab.txt, writes
checkpoints, TensorBoard events and hparams.json to $DATA_DIR/models/$MODEL_NAME/, and resumes
from the latest checkpoint there. "do_eval": true writes results/unsup_results.txt.
"init_checkpoint": a checkpoint (ours or upstream ELECTRA's) to start from when there is none yet.
"""

from __future__ import annotations

import dataclasses
import os

from absl import app, flags

from electra_tf.cli import absl_main

flags.DEFINE_string("data_dir", None, "Holds pretrain_tfrecords/, vocab.txt and models/.")
flags.DEFINE_string("model_name", None, "Name of the run: checkpoints go to $DATA_DIR/models/$MODEL_NAME.")
flags.DEFINE_string("hparams", "{}", "JSON object or path to a JSON file merged over the defaults.")
flags.DEFINE_enum(
    "strategy", "default", ["default", "mirrored", "multi_worker_mirrored", "tpu"], "tf.distribute strategy."
)
flags.DEFINE_integer("cpu_replicas", 0, "Split the CPU into this many logical devices (mirrored on CPU).")
flags.DEFINE_string("tpu", None, "TPU name or address for --strategy=tpu.")
flags.DEFINE_integer(
    "stop_at_step", None, "Stop (with a checkpoint) at this global step; a later run resumes."
)

FLAGS = flags.FLAGS
PROGRAM = "run_pretraining"


def _prepare():
    """All input checks, before anything is written. Returns (config, vocab, train files, eval files,
    strategy)."""

    from electra_tf import configs
    from electra_tf.tokenization import load_vocab
    from pretrain.input_pipeline import check_record_files, list_record_files
    from pretrain.strategies import build_strategy

    strategy = build_strategy(FLAGS.strategy, FLAGS.cpu_replicas, FLAGS.tpu)  # before any TF op runs
    if not FLAGS.data_dir or not FLAGS.model_name:
        raise ValueError("--data_dir and --model_name are required")
    if not os.path.isdir(FLAGS.data_dir):
        raise ValueError(f"--data_dir not found: {FLAGS.data_dir}")
    hparams = configs.load_hparams(FLAGS.hparams)
    config = configs.config_from_hparams(FLAGS.model_name, FLAGS.data_dir, hparams)
    vocab = load_vocab(config.vocab_file)
    if "vocab_size" not in hparams:
        config = dataclasses.replace(config, vocab_size=len(vocab))
    elif len(vocab) > config.vocab_size:
        raise ValueError(f"{config.vocab_file} has {len(vocab)} tokens but vocab_size is {config.vocab_size}")
    files = list_record_files(config.pretrain_tfrecords)
    check_record_files(files, config.max_seq_length)
    eval_files = files
    if config.do_eval and config.eval_record_pattern != config.pretrain_tfrecords:
        eval_files = list_record_files(config.eval_record_pattern)
        check_record_files(eval_files, config.max_seq_length)
    for key in ("train_batch_size", "eval_batch_size"):
        if getattr(config, key) % strategy.num_replicas_in_sync:
            raise ValueError(
                f"{key}={getattr(config, key)} is not divisible by "
                f"the {strategy.num_replicas_in_sync} replicas"
            )
    return config, vocab, files, eval_files, strategy


def _main() -> None:
    config, vocab, files, eval_files, strategy = _prepare()
    from electra_tf.pretraining.model import SpecialTokens
    from pretrain import trainer as trainer_lib

    def log(line: str) -> None:
        print(f"{PROGRAM}: {line}", flush=True)

    log(
        f"{len(files)} record file(s), {strategy.num_replicas_in_sync} replica(s), method {config.method}, "
        f"model dir {config.model_dir}"
    )
    trainer = trainer_lib.Trainer(config, strategy, SpecialTokens.from_vocab(vocab), files, log=log)
    # Resume, or load init_checkpoint (CheckpointError if it is missing or does not fit), before
    # anything is written to the model dir.
    trainer.restore()
    trainer_lib.write_hparams(trainer.config)  # mixed_precision resolved
    if config.do_train:
        trainer.train(stop_at_step=FLAGS.stop_at_step)
    if config.do_eval:
        results = trainer_lib.evaluate(trainer, eval_files, config.num_eval_steps, config.eval_batch_size)
        trainer_lib.write_results(config.results_txt, results)
        log("eval: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(results.items())))


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    app.run(main)
