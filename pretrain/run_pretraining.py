"""Pre-trains ELECTRA (or one of the paper's methods) on TFRecords, as upstream's script does.

    python pretrain/run_pretraining.py --data_dir=$DATA_DIR --model_name=electra_small_owt \
        --hparams='{"num_train_steps": 1000000}'

Reads $DATA_DIR/pretrain_tfrecords/pretrain_data.tfrecord* and $DATA_DIR/vocab.txt, writes
checkpoints, TensorBoard events and hparams.json to $DATA_DIR/models/$MODEL_NAME/, and resumes
from the latest checkpoint there. "do_eval": true writes results/unsup_results.txt.
"init_checkpoint": a checkpoint (ours or upstream ELECTRA's) to start from when there is none yet.
"""

from __future__ import annotations

from absl import app, flags

from electra_tf.cli import absl_main, flag_values


def define_flags() -> None:
    """The command line's flags, one per keyword argument of `run` (defined only when run as a
    program, so importing this module for `run` leaves absl's flag registry alone)."""
    flags.DEFINE_string("data_dir", None, "Holds pretrain_tfrecords/, vocab.txt and models/.")
    flags.DEFINE_string(
        "model_name", None, "Name of the run: checkpoints go to $DATA_DIR/models/$MODEL_NAME."
    )
    flags.DEFINE_string("hparams", "{}", "JSON object or path to a JSON file merged over the defaults.")
    flags.DEFINE_enum(
        "strategy",
        "default",
        ["default", "mirrored", "multi_worker_mirrored", "tpu"],
        "tf.distribute strategy.",
    )
    flags.DEFINE_integer("cpu_replicas", 0, "Split the CPU into this many logical devices (mirrored on CPU).")
    flags.DEFINE_string("tpu", None, "TPU name or address for --strategy=tpu.")
    flags.DEFINE_integer(
        "stop_at_step", None, "Stop (with a checkpoint) at this global step; a later run resumes."
    )


PROGRAM = "run_pretraining"


def run(
    data_dir: str | None,
    model_name: str | None,
    hparams="{}",
    strategy: str = "default",
    cpu_replicas: int = 0,
    tpu: str | None = None,
    stop_at_step: int | None = None,
) -> dict[str, float]:
    """The tool as a plain function (keyword arguments = the flags; `hparams` may be a dict):
    `pretrain.runner.train_or_eval` on the named strategy, printing its progress. Returns the eval
    results, else the last logged scalars. Bad input raises ValueError (ConfigError,
    CheckpointError, ...) before anything is written to the model dir.

    `cpu_replicas` > 1 configures logical devices, which only works before TensorFlow starts.
    """
    from pretrain.runner import train_or_eval
    from pretrain.strategies import build_strategy

    distribution = build_strategy(strategy, cpu_replicas, tpu)  # before any TF op runs
    return train_or_eval(data_dir, model_name, hparams, distribution, stop_at_step=stop_at_step)


main = absl_main(PROGRAM, lambda: run(**flag_values(run)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
