"""Prints the discriminator's P(replaced) for every token of a text, from a checkpoint of either format.

    python -m electra_tf.score --checkpoint=electra_small/ --vocab_file=vocab.txt \
        --text="the chef cooked the meal" [--json]

The text is tokenized as `[CLS] word pieces [SEP]` (truncated to --max_seq_length). Output: one
`token<TAB>p_replaced` line per token (4 decimals), or with --json one object
{"tokens": [...], "p_replaced": [...]}. The architecture comes from hparams.json for our
checkpoints, from --model_size, --hparams and the checkpoint's shapes for upstream ones, from
config.json for Hugging Face directories (whose vocab.txt or tokenizer.json is the default
--vocab_file). A BERT has no RTD head: its scores come from a freshly initialised one.
"""

from __future__ import annotations

import sys

from absl import app, flags

from electra_tf.cli import absl_main, flag_values


def define_flags() -> None:
    """The command line's flags, one per keyword argument of `run` (defined only when run as a
    program, so importing this module for `run` leaves absl's flag registry alone)."""
    flags.DEFINE_string("checkpoint", None, "Checkpoint prefix or directory (ours or upstream).")
    flags.DEFINE_string(
        "vocab_file", None, "The checkpoint's WordPiece vocabulary (default for HF directories: theirs)."
    )
    flags.DEFINE_string("model_size", "small", "Defaults for upstream checkpoints (shapes override them).")
    flags.DEFINE_string("hparams", "{}", "JSON object or file merged over the checkpoint's config.")
    flags.DEFINE_string("text", None, "The text to score.")
    flags.DEFINE_integer("max_seq_length", 128, "Longest token sequence, [CLS] and [SEP] included.")
    flags.DEFINE_bool("json", False, "Print one JSON object instead of token<TAB>probability lines.")


PROGRAM = "score"


def run(
    checkpoint: str | None,
    vocab_file: str | None,
    text: str | None,
    model_size: str = "small",
    hparams="{}",
    max_seq_length: int = 128,
    json: bool = False,
) -> str:
    """The tool as a plain function (keyword arguments = the flags): prints the scores (restore
    notes go to stderr) and returns the printed text. Bad input raises ValueError
    (CheckpointError, VocabError, ...)."""
    from electra_tf import checkpoint_io, configs, standalone_discriminator
    from electra_tf.checkpoint_io import hf
    from electra_tf.tokenization import FullTokenizer, load_vocab

    if not checkpoint or text is None:
        raise ValueError("--checkpoint and --text are required")
    if max_seq_length < 2:
        raise ValueError(f"--max_seq_length must be at least 2, got {max_seq_length}")
    if vocab_file:
        vocab = load_vocab(vocab_file)
    else:
        vocab = hf.read_vocab(checkpoint) if hf.is_hf_dir(checkpoint) else None
        if vocab is None:
            raise ValueError(f"--vocab_file is required: {checkpoint} has no vocab.txt or tokenizer.json")
        vocab_file = checkpoint

    config = checkpoint_io.config_for_checkpoint(checkpoint, model_size, hparams)
    disc = configs.bert_config(config)
    if len(vocab) != disc.vocab_size:
        raise ValueError(
            f"vocab file {vocab_file} has {len(vocab)} tokens but the checkpoint's word embeddings "
            f"have {disc.vocab_size} rows"
        )
    if max_seq_length > disc.max_position_embeddings:
        raise ValueError(
            f"--max_seq_length={max_seq_length} exceeds the checkpoint's "
            f"{disc.max_position_embeddings} position embeddings"
        )
    model = standalone_discriminator.restore_discriminator(
        checkpoint, config, log=lambda line: print(line, file=sys.stderr)
    )
    tokenizer = FullTokenizer(vocab, do_lower_case=config.do_lower_case)
    tokens, probabilities = standalone_discriminator.score_text(model, tokenizer, text, max_seq_length)
    output = standalone_discriminator.format_scores(tokens, probabilities, json)
    print(output, flush=True)
    return output


main = absl_main(PROGRAM, lambda: run(**flag_values(run)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
