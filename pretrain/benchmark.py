"""Times full pre-training steps of every method and of the tf-models anchor side by side.

    python pretrain/benchmark.py                      # every registered method + the anchor, gen 0.25
    python pretrain/benchmark.py --methods=electra,noise --generator_hidden_size=0.25,1.0

Every (method, generator size) pair gets its own model, optimizer and compiled train step — the
real `Trainer` step (masking, generator, discriminator, optimizer update, the method's own state) —
on the same random-id batch. The anchor (`tfm_anchor`, see `tfm_anchor.py`) is tf-models-official's
`ElectraPretrainer` with `BertEncoder`s of the same layout. After `--warmup` untimed steps each, the
pairs take turns: `--rounds` rounds of `--steps` timed steps, so machine noise hits every pair alike.
Reported: the median step time → steps/s and tokens/s, the ratios to our `electra` and to the anchor
at the same generator size, and the peak RSS while the pair's steps ran (process-wide: the other
pairs' models stay resident). The input pipeline is timed separately on TFRecords.

A method with other readings in its registry entry (`readings`, e.g. `adaptive_exit_gen`'s
`exit_heads=exit`, `early_exit_disc`'s `early_exit_generator`) gets one more row per reading,
labelled `method[reading]`, beside its default one.

Methods whose registry entry says the generator sizes do not apply (a tied or generator-free
generator) are built once and compared with `electra` and the anchor at generator size 1.0 (as the
paper's ratios imply) when it is measured, else at the first size. A method's `timing_hparams` are
merged in (e.g. no exit updates while timed). A method whose step depends on an exit
(`timed_per_exit`: `adaptive_exit_gen`'s generator, `early_exit_disc`'s discriminator) gets one row
per `--exit_layer`, pinned there (`early_exit_disc@9`), and weighted rows: Σ_k share_k · t(ℓ_k), the
mean step of a run whose k-th exit takes share_k of the steps (the median of steps that sample
their exit would be one exit's time, not the mean). The shares: the method's initial distribution
("at P₁", `adaptive_exit_gen`'s `adaptive_init_probs`) and, with `--exit_shares_from=MODEL_DIR,…`,
where a real pre-training run's exits were, as `scripts/reproduce_paper.py` weights them
("run-weighted"; the run's k-th exit → the k-th `--exit_layer`).
"""

from __future__ import annotations

import json

from absl import app, flags

from electra_tf.cli import absl_main

flags.DEFINE_string("methods", "", "Comma list of registered methods (default: every registered one).")
flags.DEFINE_bool("anchor", True, "Also time tf-models-official's ElectraPretrainer (tfm_anchor).")
flags.DEFINE_string("generator_hidden_size", "0.25", "Comma list of generator sizes (share of hidden).")
flags.DEFINE_integer("batch_size", 32, "Train batch size.")
flags.DEFINE_integer("max_seq_length", 128, "Sequence length.")
flags.DEFINE_integer("steps", 5, "Timed steps per round and pair.")
flags.DEFINE_integer("rounds", 3, "Rounds of timed steps (the pairs take turns in each round).")
flags.DEFINE_integer("warmup", 2, "Untimed steps per pair first (tracing, compilation).")
flags.DEFINE_bool("jit_compile", False, "Compile every train step with XLA.")
flags.DEFINE_enum(
    "mixed_precision",
    "auto",
    ["auto", "true", "false"],
    "bfloat16 compute with float32 variables for our pairs (the anchor stays float32); auto: where "
    "the hardware has native bfloat16, as the pre-training default.",
)
flags.DEFINE_bool(
    "anchor_mixed_precision",
    False,
    "Run the anchor's encoders in bfloat16 too (a work-around; out of the box it is float32 only).",
)
flags.DEFINE_string(
    "exit_layer",
    "9",
    "Methods whose step depends on an exit (generator or discriminator): comma list of exit "
    "layers, one row pinned at each.",
)
flags.DEFINE_string(
    "exit_shares_from",
    "",
    "Comma list of pre-training model dirs of exit methods: adds a row per method weighting its "
    "pinned exits' times by where that run's exits were (its k-th exit → the k-th --exit_layer).",
)
flags.DEFINE_string("hparams", "{}", "JSON object or file merged over the defaults of every pair.")
flags.DEFINE_string("input_records", "", "TFRecords glob for the input-pipeline timing ('' = synthetic).")
flags.DEFINE_string("json", None, "Also write the results as a JSON list to this path.")

FLAGS = flags.FLAGS
PROGRAM = "benchmark"
MIXED_PRECISION = {"auto": "auto", "true": True, "false": False}


def make_pairs(methods: list[str], sizes: list[float], anchor: bool, exit_layers: tuple[int, ...] = (9,)):
    """Every (method, reading, generator size), the anchor at every size; a method without a size
    once per reading; a `timed_per_exit` method once per exit layer of each of those."""
    from electra_tf.pretraining.registry import get_method
    from pretrain.step_timing import ANCHOR, Pair

    def readings(method: str) -> list[tuple[str, dict]]:
        return [("", {})] + ([] if method == ANCHOR else list(get_method(method).readings.items()))

    def exits(method: str) -> tuple:
        return exit_layers if method != ANCHOR and get_method(method).timed_per_exit else (None,)

    def of(method: str, size: float | None) -> list:
        return [
            Pair(method, size, reading=r, hparams=h, exit_layer=n)
            for r, h in readings(method)
            for n in exits(method)
        ]

    sized = [m for m in methods if get_method(m).generator_sized] + ([ANCHOR] if anchor else [])
    sizeless = [m for m in methods if not get_method(m).generator_sized]
    return [p for s in sizes for m in sized for p in of(m, s)] + [p for m in sizeless for p in of(m, None)]


def build_pair(pair, base_hparams: dict) -> None:
    from electra_tf import configs
    from pretrain.step_timing import ANCHOR, CLS_ID, MASK_ID, SEP_ID, build_trainer, synthetic_batch
    from pretrain.tfm_anchor import AnchorTrainer

    hparams = {
        **base_hparams,
        **pair.hparams,
        "method": configs.BASELINE_METHOD if pair.method == ANCHOR else pair.method,
        "generator_hidden_size": pair.generator_hidden_size or 1.0,
        "train_batch_size": FLAGS.batch_size,
        "max_seq_length": FLAGS.max_seq_length,
        "jit_compile": FLAGS.jit_compile,
        "mixed_precision": MIXED_PRECISION[FLAGS.mixed_precision],
    }
    if pair.method == ANCHOR:
        pair.config = configs.config_from_hparams("benchmark", "/nonexistent", hparams)
        batch = synthetic_batch(
            FLAGS.batch_size, FLAGS.max_seq_length, pair.config.vocab_size, CLS_ID, SEP_ID
        )
        pair.trainer = AnchorTrainer(pair.config, batch, MASK_ID, mixed=FLAGS.anchor_mixed_precision)
        return
    # pins whichever part (generator or discriminator) has the exits, as the reproduction does
    pair.trainer, pair.config = build_trainer(hparams, pair.exit_layer, pair.exit_layer)


def run_exit_shares(model_dir: str, count: int) -> tuple[str, list[float]]:
    """(method, the shares of its exits in the order of its `exit_layers`) of a pre-training run,
    from its hparams.json and event files; ValueError naming the flag when unreadable or when its
    number of exits is not `count`."""
    import os

    from pretrain.curves import exit_shares, read_scalars

    path = os.path.join(model_dir, "hparams.json")
    try:
        with open(path, encoding="utf-8") as f:
            hparams = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"--exit_shares_from: cannot read {path}: {e}") from None
    layers = hparams.get("exit_layers")
    if not layers or len(layers) != count:
        raise ValueError(
            f"--exit_shares_from: {path} has exit_layers {layers}; --exit_layer has {count} layers"
        )
    shares = exit_shares(read_scalars(model_dir), list(layers))
    if shares is None:
        raise ValueError(f"--exit_shares_from: no exit scalars in the event files of {model_dir}")
    return hparams.get("method"), [shares[n] for n in layers]


def weightings_for(runs: dict[str, list[float]]):
    """(pair, its pinned exit layers) → [(label, shares)]: its method's initial exit distribution
    ("at P₁", from the registry; only when every one of its exits was pinned) and a real run's
    shares ("run-weighted", from `runs`: method → shares by exit position)."""
    from electra_tf.pretraining.registry import get_method

    def weightings(pair, layers: list[int]) -> list[tuple[str, list[float]]]:
        initial = get_method(pair.method).initial_exit_shares
        p1 = initial(pair.config) if initial else {}
        out = [("at P₁", [p1[n] for n in layers])] if p1 and sorted(p1) == sorted(layers) else []
        return out + ([("run-weighted", runs[pair.method])] if pair.method in runs else [])

    return weightings


def _main() -> None:
    from electra_tf import configs, precision
    from electra_tf.pretraining.registry import registered_methods
    from pretrain.step_timing import (
        ANCHOR,
        electra_train_flops,
        input_records_per_sec,
        results,
        run_weighted,
        time_in_turns,
    )

    methods = [m.strip() for m in FLAGS.methods.split(",") if m.strip()] or registered_methods()
    unknown = sorted(set(methods) - set(registered_methods()))
    if unknown:
        raise ValueError(
            f"--methods: unknown {', '.join(unknown)}; registered: {', '.join(registered_methods())}"
        )
    if configs.BASELINE_METHOD in methods:  # the baseline first
        methods = [configs.BASELINE_METHOD] + [m for m in methods if m != configs.BASELINE_METHOD]
    try:
        sizes = [float(s) for s in FLAGS.generator_hidden_size.split(",") if s.strip()]
    except ValueError:
        raise ValueError(
            f"--generator_hidden_size must be a comma list of numbers: {FLAGS.generator_hidden_size}"
        ) from None
    try:
        exit_layers = tuple(sorted(int(n) for n in FLAGS.exit_layer.split(",") if n.strip()))
    except ValueError:
        raise ValueError(f"--exit_layer must be a comma list of integers: {FLAGS.exit_layer}") from None
    runs = {}
    for model_dir in (d.strip() for d in FLAGS.exit_shares_from.split(",") if d.strip()):
        method, shares = run_exit_shares(model_dir, len(exit_layers))
        if method in runs:
            raise ValueError(f"--exit_shares_from: two runs of {method}; give one per method")
        runs[method] = shares
    base = configs.load_hparams(FLAGS.hparams)
    mixed, why = precision.resolve(MIXED_PRECISION[FLAGS.mixed_precision])
    pairs = make_pairs(methods, sizes, FLAGS.anchor, exit_layers)
    for pair in pairs:
        print(f"{PROGRAM}: building {pair.label}", flush=True)
        build_pair(pair, base)
    time_in_turns(
        pairs,
        FLAGS.warmup,
        FLAGS.steps,
        FLAGS.rounds,
        log=lambda line: print(f"{PROGRAM}: {line}", flush=True),
    )
    table, rows = results(pairs, FLAGS.batch_size * FLAGS.max_seq_length)
    achieved = []
    for pair, row in zip(pairs, rows, strict=True):
        if pair.method in (configs.BASELINE_METHOD, ANCHOR):  # the same model FLOPs per step
            flops = electra_train_flops(pair.config, FLAGS.batch_size)
            row["model_gflops_per_step"] = flops / 1e9
            row["model_gflops_per_sec"] = flops * row["steps_per_sec"] / 1e9
            achieved.append(f"{pair.label} {row['model_gflops_per_sec']:.0f}")
    weighted_table, weighted_rows = run_weighted(
        pairs, weightings_for(runs), FLAGS.batch_size * FLAGS.max_seq_length
    )
    table, rows = f"{table}\n{weighted_table}" if weighted_table else table, rows + weighted_rows
    records_per_sec, source = input_records_per_sec(
        FLAGS.input_records, FLAGS.batch_size, FLAGS.max_seq_length
    )
    consumed = max(r["steps_per_sec"] for r in rows) * FLAGS.batch_size
    print(
        f"\nbatch {FLAGS.batch_size}, seq {FLAGS.max_seq_length}, jit_compile {FLAGS.jit_compile}, "
        f"mixed_precision {FLAGS.mixed_precision}: {precision.describe(mixed)} ({why}), anchor: "
        f"{precision.describe(FLAGS.anchor_mixed_precision)}, "
        f"{FLAGS.rounds}×{FLAGS.steps} timed steps per row (median)\n\n{table}\n\n"
        f"input pipeline: {records_per_sec:.0f} records/s ({source}); the fastest step consumes "
        f"{consumed:.1f} records/s: {records_per_sec / consumed:.0f}× headroom\n"
        f"model GFLOP/s (electra step: matmuls, forward + backward): {', '.join(achieved)}"
    )
    if FLAGS.json:
        with open(FLAGS.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    app.run(main)
