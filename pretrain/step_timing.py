"""Pieces of `benchmark.py`: synthetic batches, peak-RSS probes, input-pipeline timing, the table.

Shapes: B = batch, L = sequence length.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import statistics
import tempfile
import time

import numpy as np

from electra_tf import configs

ANCHOR = "tfm_anchor"


@dataclasses.dataclass
class Pair:
    """One timed configuration: a method (or the anchor) at a generator size, in one of its
    readings ("" = the default; `hparams`: the reading's, from the registry's `readings`)."""

    method: str
    generator_hidden_size: float | None  # None: the method has no generator size of its own
    trainer: object = None  # anything with run_step() -> {"losses": {"total": ...}}
    config: object = None  # its PretrainingConfig
    times: list[float] = dataclasses.field(default_factory=list)
    peak_rss_mb: float = 0.0
    reading: str = ""
    hparams: dict = dataclasses.field(default_factory=dict)
    exit_layer: int | None = None  # the exit (generator or discriminator) pinned; None: not pinned

    @property
    def name(self) -> str:
        """The method with its reading and pinned exit, e.g. `early_exit_disc[early_exit_generator]@9`."""
        name = f"{self.method}[{self.reading}]" if self.reading else self.method
        return name if self.exit_layer is None else f"{name}@{self.exit_layer}"

    @property
    def label(self) -> str:
        return f"{self.name} (gen {size_text(self.generator_hidden_size)})"


def size_text(size: float | None) -> str:
    return "—" if size is None else f"{size:g}"


def synthetic_batch(
    batch_size: int, seq_length: int, vocab_size: int, cls_id: int, sep_id: int, seed: int = 0
):
    """Random ids in [1000, V) as numpy int32 [B, L] input_ids/input_mask/segment_ids: [CLS] … [SEP],
    full length, two segments."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, vocab_size, size=(batch_size, seq_length)).astype(np.int32)
    ids[:, 0], ids[:, -1] = cls_id, sep_id
    segments = np.zeros_like(ids)
    segments[:, seq_length // 2 :] = 1
    return {"input_ids": ids, "input_mask": np.ones_like(ids), "segment_ids": segments}


def reset_peak_rss() -> bool:
    """Resets the process's peak resident set size (Linux: `5` → /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """The process's peak resident set size since the last reset (VmHWM), else since start."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


MASK_ID, CLS_ID, SEP_ID = 103, 101, 102  # the BERT uncased ids (any ids do for timing)


def build_trainer(hparams: dict, exit_layer: int | None = None, generator_exit_layer: int | None = None):
    """A `Trainer` for `hparams` (the method's `timing_hparams` merged in) that trains on one
    synthetic batch of its `train_batch_size` × `max_seq_length`, its discriminator's exit pinned
    at `exit_layer` and its generator's at `generator_exit_layer` (each a no-op where the part
    has no exits) → (trainer, config)."""
    import tensorflow as tf

    from electra_tf.pretraining.model import SpecialTokens
    from electra_tf.pretraining.registry import get_method
    from pretrain.trainer import Trainer

    method = hparams.get("method", configs.BASELINE_METHOD)
    config = configs.config_from_hparams(
        "benchmark", "/nonexistent", {**hparams, **get_method(method).timing_hparams}
    )
    batch = synthetic_batch(config.train_batch_size, config.max_seq_length, config.vocab_size, CLS_ID, SEP_ID)
    special = SpecialTokens(mask_id=MASK_ID, cls_id=CLS_ID, sep_id=SEP_ID)
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    trainer = Trainer(config, tf.distribute.get_strategy(), special, [], log=lambda _: None, dataset=dataset)
    if exit_layer is not None:
        trainer.model.discriminator.pin_exit(exit_layer)
    if generator_exit_layer is not None:
        trainer.model.method.pin_exit(generator_exit_layer)
    return trainer, config


def timed_steps(pair: Pair, count: int) -> list[float]:
    """Runs `count` steps of `pair`; returns each step's wall time (s) and updates its peak RSS."""
    reset_peak_rss()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        float(pair.trainer.run_step()["losses"]["total"])  # waits for the step
        times.append(time.perf_counter() - start)
    pair.peak_rss_mb = max(pair.peak_rss_mb, peak_rss_mb())
    return times


def time_in_turns(pairs: list[Pair], warmup: int, steps: int, rounds: int, log=lambda _: None) -> None:
    """`warmup` untimed steps of every pair (after every build: a later build would make earlier
    steps trace again), then `rounds` rounds in which each pair runs `steps` timed steps in turn, so
    machine noise hits them alike; the times go to `pair.times`. Logs each pair's warm-up and each
    round's median step times."""
    for pair in pairs:
        log(f"{warmup} warm-up step(s) of {pair.label}")
        timed_steps(pair, warmup)
    for r in range(rounds):
        for pair in pairs:
            pair.times += timed_steps(pair, steps)
        done = ", ".join(f"{p.label} {statistics.median(p.times):.2f}s" for p in pairs)
        log(f"round {r + 1}/{rounds}: median step {done}")


def write_synthetic_records(
    directory: str, count: int, seq_length: int, vocab_size: int, seed: int = 0
) -> str:
    """`count` examples in the pretraining TFRecord schema (random ids, two segments) → the file."""
    import tensorflow as tf

    from electra_tf.data.schema import example_features, serialize_example

    rng = np.random.default_rng(seed)
    path = os.path.join(directory, "pretrain_data.tfrecord-00000-of-00001")
    with tf.io.TFRecordWriter(path) as writer:
        for _ in range(count):
            ids = rng.integers(1000, vocab_size, size=seq_length - 3).tolist()
            cut = len(ids) // 2
            writer.write(serialize_example(example_features(ids[:cut], ids[cut:], seq_length, 101, 102)))
    return path


def input_records_per_sec(
    pattern: str, batch_size: int, seq_length: int, batches: int = 200
) -> tuple[float, str]:
    """Records/s of the training input pipeline (`pretraining_dataset`) over real TFRecord files
    (`pattern`; "" → a temporary file of synthetic examples) → (rate, what was read)."""
    from pretrain.input_pipeline import list_record_files, pretraining_dataset

    with tempfile.TemporaryDirectory() as tmp:
        if pattern:
            files, source = list_record_files(pattern), pattern
        else:
            files = [write_synthetic_records(tmp, 4096, seq_length, 30522)]
            source = "4096 synthetic records in a temporary TFRecord file"
        iterator = iter(pretraining_dataset(files, batch_size, seq_length, seed=0))
        for _ in range(5):  # warm-up: shuffle buffer, threads
            next(iterator)
        start = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        return batches * batch_size / (time.perf_counter() - start), source


def _baseline(pairs: list[Pair], method: str, size: float | None) -> Pair | None:
    """The `method` pair at `size`; for a method without a size: at 1.0 (the paper's ratios
    imply a discriminator-sized generator), else the first one."""
    candidates = [p for p in pairs if p.method == method and not p.reading and p.exit_layer is None]
    for p in candidates:
        if p.generator_hidden_size == (size if size is not None else 1.0):
            return p
    return candidates[0] if candidates and size is None else None


def results(pairs: list[Pair], tokens_per_step: int) -> tuple[str, list[dict]]:
    """Markdown table and JSON rows (method, steps_per_sec, tokens_per_sec, ratio_to_electra,
    ratio_to_anchor, peak_rss_mb, …)."""
    rate = {id(p): 1.0 / statistics.median(p.times) for p in pairs}
    lines = [
        "| method | generator | steps/s | tokens/s | ratio to electra | ratio to anchor | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = []
    for p in pairs:
        ratios = {}
        for method, key in ((configs.BASELINE_METHOD, "ratio_to_electra"), (ANCHOR, "ratio_to_anchor")):
            base = _baseline(pairs, method, p.generator_hidden_size)
            ratios[key] = rate[id(p)] / rate[id(base)] if base else None
        rows.append(
            dict(
                method=p.method,
                reading=p.reading,
                exit_layer=p.exit_layer,
                generator_hidden_size=p.generator_hidden_size,
                steps_per_sec=rate[id(p)],
                tokens_per_sec=rate[id(p)] * tokens_per_step,
                **ratios,
                peak_rss_mb=p.peak_rss_mb,
                step_times=p.times,
            )
        )
        shown = ["—" if r is None else f"{r:.3f}×" for r in ratios.values()]
        lines.append(
            f"| {p.name} | {size_text(p.generator_hidden_size)} | {rate[id(p)]:.3f} | "
            f"{rate[id(p)] * tokens_per_step:.0f} | {shown[0]} | {shown[1]} | {p.peak_rss_mb:.0f} |"
        )
    return "\n".join(lines), rows


def run_weighted(pairs: list[Pair], weightings, tokens_per_step: int) -> tuple[str, list[dict]]:
    """For each (method, reading, generator size) timed pinned at exits ℓ_1 < … < ℓ_K, and each
    (label, shares) of `weightings(first pair of the group, [ℓ_1 … ℓ_K])` (K shares, the k-th for ℓ_k):
    the step a run with those exit shares takes on average, Σ_k share_k · median t(ℓ_k), as
    steps/s and the ratio to `electra` at the same generator size (1.0 for a sizeless method) →
    markdown lines and JSON rows (`exit_layer`: the label, `exit_shares`: {layer: share})."""
    groups: dict[tuple, list[Pair]] = {}
    for p in pairs:
        if p.exit_layer is not None:
            groups.setdefault((p.method, p.reading, p.generator_hidden_size), []).append(p)
    lines, rows = [], []
    for (method, reading, size), pinned in groups.items():
        pinned = sorted(pinned, key=lambda p: p.exit_layer)
        base = _baseline(pairs, configs.BASELINE_METHOD, size)
        name = Pair(method, size, reading=reading).name
        for label, shares in weightings(pinned[0], [p.exit_layer for p in pinned]):
            if len(pinned) != len(shares):
                raise ValueError(f"{len(shares)} exit shares for {len(pinned)} timed exits of {name}")
            seconds = sum(s * statistics.median(p.times) for s, p in zip(shares, pinned, strict=True))
            ratio = statistics.median(base.times) / seconds if base else None
            where = {p.exit_layer: s for p, s in zip(pinned, shares, strict=True)}
            rows.append(
                dict(
                    method=method,
                    reading=reading,
                    generator_hidden_size=size,
                    exit_layer=label,
                    exit_shares=where,
                    steps_per_sec=1.0 / seconds,
                    tokens_per_sec=tokens_per_step / seconds,
                    ratio_to_electra=ratio,
                )
            )
            shown = ", ".join(f"{n}: {s:.2f}" for n, s in where.items())
            lines.append(
                f"| {name} {label} ({shown}) | {size_text(size)} | {1.0 / seconds:.3f} | "
                f"{tokens_per_step / seconds:.0f} | {'—' if ratio is None else f'{ratio:.3f}×'} | — | — |"
            )
    return "\n".join(lines), rows


def electra_train_flops(config, batch_size: int) -> float:
    """Model FLOPs of one `electra` train step (forward + backward ≈ 3 × forward; a multiply-add
    is 2 FLOPs): both towers' projections, attention and FFN matmuls, the discriminator head and
    the MLM head at the masked slots. Softmax, LayerNorm, GELU and the optimizer are not counted."""
    from electra_tf import configs

    length, slots = config.max_seq_length, config.max_predictions_per_seq
    width = configs.embedding_size(config)
    disc, gen = configs.bert_config(config), configs.generator_config(config)

    def tower(t) -> float:  # per token
        project = 2 * width * t.hidden_size if width != t.hidden_size else 0
        dense = 2 * (4 * t.hidden_size**2 + 2 * t.hidden_size * t.intermediate_size)
        attention = 2 * 2 * length * t.hidden_size  # QKᵀ and A·V
        return project + t.num_hidden_layers * (dense + attention)

    per_token = tower(disc) + tower(gen) + 2 * disc.hidden_size * (disc.hidden_size + 1)
    mlm_head = slots * (2 * gen.hidden_size * width + 2 * width * disc.vocab_size)
    return 3.0 * batch_size * (length * per_token + mlm_head)
