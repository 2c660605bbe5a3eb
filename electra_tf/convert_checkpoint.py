"""Converts pre-training checkpoints between electra-tf's format and upstream ELECTRA's TF1 format.

    python -m electra_tf.convert_checkpoint --to=ours --input=electra_small/ --output=$DATA_DIR/models/x
    python -m electra_tf.convert_checkpoint --to=upstream --input=$DATA_DIR/models/x --output=exported/

--output is a directory that must not exist or be empty. `--to=ours` writes a model directory
the Trainer resumes from (`ckpt-<step>` with the Trainer's `model=`/`optimizer=` structure, and
hparams.json with the architecture inferred from the checkpoint's shapes over --model_size and
--hparams); `--to=upstream` writes `model.ckpt-<step>` and a `checkpoint` file. Both directions
are lossless: weights, Adam slots (upstream `adam_m`/`adam_v`, present only in training
checkpoints) and the step survive a round trip bit for bit. Bad input: one error line, exit 1,
nothing written.
"""

from __future__ import annotations

from absl import app, flags

from electra_tf.cli import absl_main

flags.DEFINE_enum("to", None, ["upstream", "ours"], "The format to write.")
flags.DEFINE_string("input", None, "Checkpoint prefix or directory (either format).")
flags.DEFINE_string("output", None, "Output directory (must not exist or be empty).")
flags.DEFINE_string("model_size", "small", "--to=ours: defaults the checkpoint's shapes are laid over.")
flags.DEFINE_string("hparams", "{}", "--to=ours: JSON object or file merged over the defaults.")

FLAGS = flags.FLAGS
PROGRAM = "convert_checkpoint"


def _main() -> None:
    if not FLAGS.to or not FLAGS.input:
        raise ValueError("--to and --input are required")
    from electra_tf.checkpoint_io import convert

    convert.check_output(FLAGS.output)
    if FLAGS.to == "upstream":
        prefix = convert.to_upstream(FLAGS.input, FLAGS.output)
    else:
        prefix = convert.to_ours(FLAGS.input, FLAGS.output, FLAGS.model_size, FLAGS.hparams)
    print(f"{PROGRAM}: wrote {prefix}", flush=True)


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    app.run(main)
