"""Times full pre-training steps of several methods side by side, on identical synthetic batches.

    python pretrain/benchmark.py --methods=electra,adaptive_exit_gen --generator_hidden_size=0.25,1.0

Every (method, generator size) pair gets its own model, optimizer and compiled train step — the
real `Trainer` step (generator, discriminator, optimizer update, the method's own state) — on the
same random-id batches. After `--warmup` untimed steps each, the pairs take turns: `--rounds`
rounds of `--steps` timed steps each, so machine noise hits every pair alike. Reported: the median
step time → steps/s and tokens/s, and the ratio to `electra` with the same generator size.
Model size and every other hparam: upstream defaults (ELECTRA-small), merged with `--hparams`.

Methods without a generator size of their own (`early_exit_disc`, whose generator is the
discriminator's encoder, and the generator-free `noise` and `emb_gen`) are built once and compared
with `electra` at every generator size. `early_exit_disc` runs with its exit pinned at
`--early_exit_layer` and no probe steps while timed (in training, one step in `exit_update_every`
is a full-depth probe).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time

from absl import app, flags

from electra_tf.cli import absl_main

flags.DEFINE_string("methods", "", "Comma list of registered methods (default: every registered one).")
flags.DEFINE_string("generator_hidden_size", "0.25,1.0", "Comma list of generator sizes (share of hidden).")
flags.DEFINE_integer("batch_size", 32, "Train batch size.")
flags.DEFINE_integer("max_seq_length", 128, "Sequence length.")
flags.DEFINE_integer("steps", 5, "Timed steps per round and pair.")
flags.DEFINE_integer("rounds", 3, "Rounds of timed steps (the pairs take turns in each round).")
flags.DEFINE_integer("warmup", 2, "Untimed steps per pair first (tracing, compilation).")
flags.DEFINE_bool("jit_compile", False, "Compile the train step with XLA.")
flags.DEFINE_integer("early_exit_layer", 9, "early_exit_disc: the exit layer the timed steps run to.")
flags.DEFINE_string("hparams", "{}", "JSON object or file merged over the defaults of every pair.")
flags.DEFINE_string("json", None, "Also write the results as a JSON list to this path.")

FLAGS = flags.FLAGS
PROGRAM = "benchmark"


@dataclasses.dataclass
class Pair:
    method: str
    generator_hidden_size: float | None  # None: the method has no generator size of its own
    trainer: object = None
    times: list[float] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        size = "—" if self.generator_hidden_size is None else f"{self.generator_hidden_size:g}"
        return f"{self.method} (gen {size})"


# The generator is the discriminator's encoder (early_exit_disc) or absent (noise, emb_gen).
NO_GENERATOR_SIZE = ("early_exit_disc", "noise", "emb_gen")


def make_pairs(methods: list[str], sizes: list[float]) -> list[Pair]:
    """Every (method, generator size); a method without a generator size once."""
    pairs = [Pair(m, s) for s in sizes for m in methods if m not in NO_GENERATOR_SIZE]
    return pairs + [Pair(m, None) for m in methods if m in NO_GENERATOR_SIZE]


def synthetic_dataset(batch_size: int, seq_length: int, vocab_size: int, special, seed: int = 0):
    """One fixed batch of random ids ([CLS] … [SEP] of `special`, full length, two segments), repeated."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, vocab_size, size=(batch_size, seq_length)).astype(np.int32)
    ids[:, 0], ids[:, -1] = special.cls_id, special.sep_id
    segments = np.zeros_like(ids)
    segments[:, seq_length // 2 :] = 1
    batch = {"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": segments}
    return tf.data.Dataset.from_tensors(batch).repeat()


def build_pair(pair: Pair, base_hparams: dict) -> None:
    import tensorflow as tf

    from electra_tf import configs
    from electra_tf.pretraining.model import SpecialTokens
    from pretrain.trainer import Trainer

    hparams = {
        **base_hparams,
        "method": pair.method,
        "generator_hidden_size": pair.generator_hidden_size or 1.0,
        "train_batch_size": FLAGS.batch_size,
        "max_seq_length": FLAGS.max_seq_length,
        "jit_compile": FLAGS.jit_compile,
    }
    if pair.method == "early_exit_disc":
        hparams["exit_update_every"] = 10**9  # no probe after the first step: the exit stays pinned
    config = configs.config_from_hparams("benchmark", "/nonexistent", hparams)
    special = SpecialTokens(mask_id=103, cls_id=101, sep_id=102)  # the BERT uncased ids
    dataset = synthetic_dataset(FLAGS.batch_size, FLAGS.max_seq_length, config.vocab_size, special)
    pair.trainer = Trainer(
        config, tf.distribute.get_strategy(), special, [], log=lambda _: None, dataset=dataset
    )
    if pair.method == "early_exit_disc":
        pair.trainer.model.discriminator.pin_exit(FLAGS.early_exit_layer)


def timed_steps(pair: Pair, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        sums = pair.trainer.run_step()
        float(sums["loss_total"])  # waits for the step
        times.append(time.perf_counter() - start)
    return times


def results_table(pairs: list[Pair]) -> tuple[str, list[dict]]:
    """Markdown table and JSON rows: steps/s, tokens/s and the ratio to every `electra` row."""
    tokens = FLAGS.batch_size * FLAGS.max_seq_length
    rate = {p.label: 1.0 / statistics.median(p.times) for p in pairs}
    baselines = {p.generator_hidden_size: rate[p.label] for p in pairs if p.method == "electra"}
    header = " | ".join(f"× electra gen {size:g}" for size in baselines)
    lines = [
        f"| method | generator | steps/s | tokens/s | {header} |",
        "|---|---|---|---|" + "---|" * len(baselines),
    ]
    rows = []
    for p in pairs:
        ratios = {size: rate[p.label] / base for size, base in baselines.items()}
        same = ratios.get(p.generator_hidden_size)
        rows.append(
            dict(
                method=p.method,
                generator_hidden_size=p.generator_hidden_size,
                steps_per_sec=rate[p.label],
                tokens_per_sec=rate[p.label] * tokens,
                ratio_to_electra=same if same is not None else ratios.get(1.0),
                ratio_to_electra_by_generator={f"{k:g}": v for k, v in ratios.items()},
                step_times=p.times,
            )
        )
        size = "—" if p.generator_hidden_size is None else f"{p.generator_hidden_size:g}"
        shown = " | ".join(f"{r:.3f}×" for r in ratios.values())
        lines.append(
            f"| {p.method} | {size} | {rate[p.label]:.3f} | {rate[p.label] * tokens:.0f} | {shown} |"
        )
    return "\n".join(lines), rows


def _main() -> None:
    from electra_tf import configs
    from electra_tf.pretraining import model  # noqa: F401  (imports, hence registers, every method)
    from electra_tf.pretraining.methods import registered_methods

    methods = [m.strip() for m in FLAGS.methods.split(",") if m.strip()] or registered_methods()
    if "electra" in methods:  # the baseline first
        methods = ["electra"] + [m for m in methods if m != "electra"]
    unknown = sorted(set(methods) - set(registered_methods()))
    if unknown:
        raise ValueError(
            f"--methods: unknown {', '.join(unknown)}; registered: {', '.join(registered_methods())}"
        )
    try:
        sizes = [float(s) for s in FLAGS.generator_hidden_size.split(",") if s.strip()]
    except ValueError:
        raise ValueError(
            f"--generator_hidden_size must be a comma list of numbers: {FLAGS.generator_hidden_size}"
        ) from None
    base = configs.load_hparams(FLAGS.hparams)
    pairs = make_pairs(methods, sizes)
    for pair in pairs:
        print(f"{PROGRAM}: building {pair.label}", flush=True)
        build_pair(pair, base)
    for pair in pairs:  # after every build: a later build would make earlier steps trace again
        print(f"{PROGRAM}: {FLAGS.warmup} warm-up step(s) of {pair.label}", flush=True)
        timed_steps(pair, FLAGS.warmup)
    for r in range(FLAGS.rounds):
        for pair in pairs:
            pair.times += timed_steps(pair, FLAGS.steps)
        done = ", ".join(f"{p.label} {statistics.median(p.times):.2f}s" for p in pairs)
        print(f"{PROGRAM}: round {r + 1}/{FLAGS.rounds}: median step {done}", flush=True)
    table, rows = results_table(pairs)
    print(
        f"\nbatch {FLAGS.batch_size}, seq {FLAGS.max_seq_length}, jit_compile {FLAGS.jit_compile}, "
        f"{FLAGS.rounds}×{FLAGS.steps} timed steps per row (median)\n\n{table}"
    )
    if FLAGS.json:
        with open(FLAGS.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


main = absl_main(PROGRAM, _main)


if __name__ == "__main__":
    app.run(main)
