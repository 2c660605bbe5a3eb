"""Converts pre-training checkpoints between electra-tf's format, upstream ELECTRA's TF1 format and
Hugging Face `transformers` ELECTRA directories.

    python -m electra_tf.convert_checkpoint --to=ours --input=electra_small/ --output=$DATA_DIR/models/x
    python -m electra_tf.convert_checkpoint --to=upstream --input=$DATA_DIR/models/x --output=exported/
    python -m electra_tf.convert_checkpoint --to=hf --input=$DATA_DIR/models/x --output=hf_disc/ \
        [--generator_output=hf_gen/]
    python -m electra_tf.convert_checkpoint --to=ours --input=hf_disc/ [--generator_input=hf_gen/] \
        --output=$DATA_DIR/models/y

An HF directory is config.json + model.safetensors (+ vocab.txt and the tokenizer files); one with
only pytorch_model.bin is refused (a pickle; electra-tf never unpickles files).

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

from electra_tf.cli import absl_main, flag_values


def define_flags() -> None:
    """The command line's flags, one per keyword argument of `run` (defined only when run as a
    program, so importing this module for `run` leaves absl's flag registry alone)."""
    flags.DEFINE_enum("to", None, ["upstream", "ours", "hf"], "The format to write.")
    flags.DEFINE_string("input", None, "Checkpoint prefix or directory (any format).")
    flags.DEFINE_string("output", None, "Output directory (must not exist or be empty).")
    flags.DEFINE_string("generator_input", None, "With an HF --input: the HF generator directory.")
    flags.DEFINE_string(
        "generator_output", None, "--to=hf: also write the generator (ElectraForMaskedLM) here."
    )
    flags.DEFINE_string(
        "vocab_file", None, "--to=hf: vocab.txt (default: beside the checkpoint, or $DATA_DIR's)."
    )
    flags.DEFINE_string("model_size", "small", "--to=ours: defaults the checkpoint's shapes are laid over.")
    flags.DEFINE_string("hparams", "{}", "--to=ours: JSON object or file merged over the defaults.")


PROGRAM = "convert_checkpoint"


def run(
    to: str | None,
    input: str | None,
    output: str | None,
    model_size: str = "small",
    hparams="{}",
    generator_input: str | None = None,
    generator_output: str | None = None,
    vocab_file: str | None = None,
) -> str:
    """The tool as a plain function (keyword arguments = the flags): converts, prints and returns
    the written checkpoint's prefix. Bad input raises ValueError (CheckpointError, ...) and
    writes nothing."""
    if not to or not input:
        raise ValueError("--to and --input are required")
    if to not in ("upstream", "ours", "hf"):
        raise ValueError(f"--to must be upstream, ours or hf, got {to!r}")
    if generator_output and to != "hf":
        raise ValueError("--generator_output goes with --to=hf")
    from electra_tf.checkpoint_io import translate

    translate.check_output(output)
    if to == "upstream":
        prefix = translate.to_upstream(input, output, generator_input)
    elif to == "hf":
        prefix = translate.to_hf(input, output, generator_output, vocab_file)
        if generator_output:
            print(f"{PROGRAM}: wrote {generator_output}", flush=True)
    else:
        from electra_tf.pretraining.training_state import build_model_and_optimizer

        prefix = translate.to_ours(
            input,
            output,
            model_size,
            hparams,
            build=build_model_and_optimizer,
            generator_input=generator_input,
        )
    print(f"{PROGRAM}: wrote {prefix}", flush=True)
    return prefix


main = absl_main(PROGRAM, lambda: run(**flag_values(run)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
